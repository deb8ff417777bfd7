import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SqliteMetadataStore } from '../../src/db/sqlite-metadata-store.js';
import { describeMetadataConformance } from './metadata-conformance.js';

describeMetadataConformance('SQLite', {
  fresh: async () => join(mkdtempSync(join(tmpdir(), 'lxchunk-db-')), 'metadata.db'),
  open: async (path, now) => SqliteMetadataStore.open(path, { now }),
  discard: async (path) => rmSync(dirname(path), { recursive: true, force: true }),
});
