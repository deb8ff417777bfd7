import type { PullResult, PushResult } from '@lxchunk/sync';

/** What `chunk push --json` prints. */
export type PushJson = PushResult;
/** What `chunk pull --json` prints: the pull's result without the manifest. */
export type PullJson = Omit<PullResult, 'manifest'>;
