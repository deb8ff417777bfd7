/** Long work reports progress as phases of bytes; the CLI draws them, the agent logs them. */
export interface ProgressEvent {
  readonly phase: 'scan' | 'content' | 'upload' | 'fetch' | 'rebuild' | 'assemble';
  readonly done: number;
  readonly total: number;
}

export type ProgressListener = (event: ProgressEvent) => void;
