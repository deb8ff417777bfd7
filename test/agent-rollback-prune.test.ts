import assert from 'node:assert/strict';
import { join } from 'node:path';
import { agentOnce, aliasTarget, lxcImages } from './helpers/agent-run.js';
import { useAgentTestbed } from './helpers/agent-testbed.js';
import { buildLxdImage, type LxdImageFiles } from './helpers/lxd-image.js';

/**
 * Retention keeps an alias's current image and the one it pointed at before: after a rollback
 * that previous target is an older import than images the alias has since left behind.
 */
describe('chunk agent retention after an alias rolls back (real LXD, real server)', function () {
  this.timeout(300_000);
  const bed = useAgentTestbed('agent-rollback');
  const images: LxdImageFiles[] = [];
  const alias = 'debian/rollback';

  const sync = async () => {
    const result = await agentOnce(['--server', bed.server.url, '--follow', alias, '--cache', join(bed.work, 'cache'), '--lxd-socket', bed.lxd.socketPath, '--keep', '2'], bed.agentEnv);
    assert.equal(result.code, 0, result.stderr);
    return result.results[0]!;
  };

  before(async () => {
    images.push(await buildLxdImage(join(bed.work, 'v1'), { seed: 41, serial: '1' }));
    for (let i = 2; i <= 4; i++) images.push(await buildLxdImage(join(bed.work, `v${i}`), { seed: 41, from: images[i - 2], serial: String(i) }));
  });

  it('keeps the image the alias pointed at before, not the newest import it left', async () => {
    const [v1, v2, v3, v4] = images as [LxdImageFiles, LxdImageFiles, LxdImageFiles, LxdImageFiles];
    for (const image of [v1, v2, v3]) {
      await bed.push(image, alias);
      assert.equal((await sync()).action, 'imported');
    }
    // v3 → v2: a rollback to an image LXD still holds (imported before v3).
    await bed.push(v2, alias);
    const rolledBack = await sync();
    assert.equal(rolledBack.action, 'alias-updated');
    assert.deepEqual(rolledBack.pruned, []);
    // v2 → v4: the alias's previous target is v2, though v3 was imported after it.
    await bed.push(v4, alias);
    const moved = await sync();
    assert.equal(moved.action, 'imported');
    assert.deepEqual(moved.pruned, [v3.fingerprint]);
    const present = new Set((await lxcImages(bed.lxd.lxdDir)).map((image) => image.fingerprint));
    assert.ok(present.has(v4.fingerprint) && present.has(v2.fingerprint), 'current and previous target kept');
    assert.equal(await aliasTarget(bed.lxd.lxdDir, alias), v4.fingerprint);
  });
});
