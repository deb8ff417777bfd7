import { rm } from 'node:fs/promises';
import type { LxdClient } from '@lxchunk/lxd';
import { MANAGED_PROPERTY, managedProperties } from './agent-config.js';
import type { ImportJournal } from './import-journal.js';

/**
 * Finishes what imports killed midway left (run before any sync, so none is under way). An image
 * LXD holds under a journal entry's fingerprint is the agent's: without marks (killed between
 * LXD's import and the property update) it gets them, so retention sees it. Whether LXD has it or
 * not, the entry's staged files go: the image is in LXD, or the next pull redoes it. So do seed
 * exports a killed pull left in `exportDir`.
 */
export async function finishInterruptedImports(
  lxd: LxdClient,
  journal: ImportJournal,
  exportDir: string,
  log: (entry: Record<string, unknown>) => void,
): Promise<void> {
  await rm(exportDir, { recursive: true, force: true });
  for (const entry of await journal.entries()) {
    const { alias, fingerprint } = entry;
    const image = await lxd.getImage(fingerprint);
    if (image && image.properties[MANAGED_PROPERTY] === undefined) {
      await lxd.setImageProperties(fingerprint, managedProperties(alias, entry.server));
      log({ level: 'info', msg: 'adopted interrupted import', alias, fingerprint });
    } else if (!image) {
      log({ level: 'info', msg: 'removed abandoned import', alias, fingerprint });
    }
    await Promise.all(entry.files.map((file) => rm(file, { force: true })));
    await journal.end(fingerprint);
  }
}
