import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ExclusiveFileLock } from '../src/index.js';

/** Another process that takes the lock on `path`, says so, and holds it until it is killed. */
async function holdInChild(path: string) {
  // The holder keeps no reference to its lock, and collects its garbage before saying so.
  const script = `
    const { ExclusiveFileLock } = await import(process.env.STORE_ENTRY);
    const said = ExclusiveFileLock.tryAcquire(process.env.LOCK_PATH) ? 'held' : 'refused';
    for (let i = 0; i < 3; i++) {
      globalThis.gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    console.log(said);
    setInterval(() => {}, 1 << 30);
  `;
  const child = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, STORE_ENTRY: new URL('../src/index.js', import.meta.url).href, LOCK_PATH: path },
  });
  const exited = once(child, 'exit');
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return { child, said: line, exited };
}

describe('ExclusiveFileLock (real files, real processes)', () => {
  let dir: string;
  let path: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lxchunk-lock-'));
    path = join(dir, 'some.lock');
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('is refused at once to a second open in this process, and free again once released', () => {
    const first = ExclusiveFileLock.tryAcquire(path);
    assert.ok(first);
    assert.equal(ExclusiveFileLock.tryAcquire(path), undefined);
    first.release();
    first.release(); // idempotent
    const second = ExclusiveFileLock.tryAcquire(path);
    assert.ok(second, 'free after release');
    second.release();
  });

  it('is refused while another process holds it (even one that dropped its reference and collected garbage), and free as soon as that process is killed', async () => {
    const holder = await holdInChild(path);
    try {
      assert.equal(holder.said, 'held');
      assert.equal(ExclusiveFileLock.tryAcquire(path), undefined);
    } finally {
      holder.child.kill('SIGKILL');
      await holder.exited;
    }
    const after = ExclusiveFileLock.tryAcquire(path);
    assert.ok(after, "the kernel dropped the dead holder's lock");
    after.release();
  });

  it('leaves a private file and nothing beside it (no journal)', async () => {
    const lock = ExclusiveFileLock.tryAcquire(path)!;
    try {
      assert.equal((await stat(path)).mode & 0o777, 0o600);
      assert.deepEqual(await readdir(dir), ['some.lock']);
    } finally {
      lock.release();
    }
  });
});
