import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildLxdImage, type LxdImageFiles } from './helpers/lxd-image.js';
import { runChunk } from './helpers/run-chunk.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

interface ErrorJson {
  error: { code: string; message: string };
}

/** A wrong path is reported as the user's path and the option or argument it came from, with a stable code. */
describe('chunk: a missing or wrong file names the path and where it came from', () => {
  let work: string;
  let server: ServerProcess;
  let image: LxdImageFiles;
  let env: NodeJS.ProcessEnv;
  let aFile: string;
  let aDir: string;
  let missing: string;

  const fails = async (args: string[], code: string, message: string, exit: number) => {
    const result = await runChunk([...args, '--json'], { env });
    assert.equal(result.code, exit, `${args.join(' ')}: ${result.stderr}`);
    const error = (JSON.parse(result.stdout) as ErrorJson).error;
    assert.equal(error.code, code, error.message);
    assert.equal(error.message, message);
    assert.match(result.stderr, new RegExp(`\\[${code}\\]`));
  };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lxchunk-paths-'));
    server = await startServer(['--no-fsync']);
    env = { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: await server.token('push') };
    image = await buildLxdImage(join(work, 'v1'), { seed: 3, serial: '20260101' });
    const pushed = await runChunk(['push', '--no-content', '--alias', 'paths/one', image.metadata, image.rootfs], { env });
    assert.equal(pushed.code, 0, pushed.stderr);
    aFile = join(work, 'a-file');
    await writeFile(aFile, 'x');
    aDir = join(work, 'a-dir');
    await mkdir(aDir);
    missing = join(work, 'nope', 'missing');
  });
  after(async () => {
    await server.destroy();
    await rm(work, { recursive: true, force: true });
  });

  it('push: the <metadata> and <rootfs> arguments', async () => {
    await fails(['push', missing, image.rootfs], 'NOT_FOUND', `<metadata> ${missing}: no such file`, 3);
    await fails(['push', image.metadata, aDir], 'INVALID_INPUT', `<rootfs> ${aDir}: is a directory, not a file`, 2);
  });

  it('pull: --seed, --out and --cache', async () => {
    const out = join(work, 'out');
    await fails(['pull', 'paths/one', '--out', out, '--seed', missing], 'NOT_FOUND', `--seed ${missing}: no such file`, 3);
    await fails(['pull', 'paths/one', '--out', aFile], 'INVALID_INPUT', `--out ${aFile}: is not a directory`, 2);
    await fails(['pull', 'paths/one', '--out', join(aFile, 'sub')], 'INVALID_INPUT', `--out ${join(aFile, 'sub')}: a part of the path is not a directory`, 2);
    await fails(['pull', 'paths/one', '--out', out, '--cache', aFile], 'INVALID_INPUT', `--cache ${aFile}: is not a directory`, 2);
  });

  it('inspect and estimate: their file arguments and --seed', async () => {
    await fails(['inspect', aDir], 'INVALID_INPUT', `<file> ${aDir}: is a directory, not a file`, 2);
    await fails(['inspect', missing], 'NOT_FOUND', `<file> ${missing}: no such file`, 3);
    await fails(['estimate', image.rootfs, '--seed', missing], 'NOT_FOUND', `--seed ${missing}: no such file`, 3);
    await fails(['estimate', missing, '--seed', image.rootfs], 'NOT_FOUND', `<new> ${missing}: no such file`, 3);
  });

  it('verify and gc: --data must be an existing data directory (a typo does not create one)', async () => {
    await fails(['verify', '--data', missing], 'NOT_FOUND', `--data ${missing}: no such directory`, 3);
    await fails(['gc', '--data', missing], 'NOT_FOUND', `--data ${missing}: no such directory`, 3);
    await fails(['gc', '--data', aFile], 'INVALID_INPUT', `--data ${aFile}: is not a directory`, 2);
  });

  it('agent: --config and the tokenFile setting', async () => {
    const config = join(work, 'agent.yaml');
    await writeFile(config, `server: ${server.url}\nfollow: [paths/one]\ntokenFile: ${missing}\n`);
    const agent = ['agent', '--once', '--cache', join(work, 'agent-cache')];
    await fails([...agent, '--config', config], 'NOT_FOUND', `tokenFile ${missing}: no such file`, 3);
    await fails([...agent, '--config', missing], 'NOT_FOUND', `--config ${missing}: no such file`, 3);
  });
});
