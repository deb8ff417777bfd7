import { rm } from 'node:fs/promises';
import type { LxdClient } from '@lxchunk/lxd';
import { MANAGED_PROPERTY, managedProperties } from './agent-config.js';
import type { ImportJournal } from './import-journal.js';

/**
 * LXD finishes an upload it fully received even when the uploader died; one that is still absent
 * this long after its import began is not coming.
 */
const IMPORT_SETTLED_MS = 3600 * 1000;

/**
 * Finishes what imports killed midway left (run before any sync, so none of this agent's is under
 * way). An image LXD holds under a journal entry's fingerprint is the agent's: without marks
 * (killed between LXD's import and the property update) it gets them, so retention sees it. The
 * entry's pulled files go either way: the image is in LXD, or the next pull redoes it. The entry
 * itself stays while LXD may still be completing the upload, so that the image is adopted if it
 * appears. So do seed exports a killed pull left in `exportDir`.
 */
export async function finishInterruptedImports(
  lxd: LxdClient,
  journal: ImportJournal,
  exportDir: string,
  log: (entry: Record<string, unknown>) => void,
  now = Date.now(),
): Promise<void> {
  await rm(exportDir, { recursive: true, force: true });
  for (const entry of await journal.entries()) {
    const { alias, fingerprint } = entry;
    const image = await lxd.getImage(fingerprint);
    if (image && image.properties[MANAGED_PROPERTY] === undefined) {
      await lxd.setImageProperties(fingerprint, managedProperties(alias, entry.server));
      log({ level: 'info', msg: 'adopted interrupted import', alias, fingerprint });
    }
    await Promise.all(entry.files.map((file) => rm(file, { force: true })));
    if (image || now - Date.parse(entry.startedAt) > IMPORT_SETTLED_MS) {
      if (!image) log({ level: 'info', msg: 'dropped abandoned import', alias, fingerprint });
      await journal.end(fingerprint);
    }
  }
}
