import type { XzRecipe } from './xz-recipe.js';

/** What XzPool's workers do: rebuild a block from its content, or find the recipe that would. */
export type XzJob = { op: 'encode'; content: Uint8Array; recipe: XzRecipe } | { op: 'find'; compressed: Uint8Array; content: Uint8Array };

export type XzJobResult = { op: 'encode'; bytes: Uint8Array } | { op: 'find'; recipe: XzRecipe | undefined };

/** What a worker sends for a failed job: structured cloning would drop the error's class and code. */
export interface WorkerError {
  code: string | undefined;
  message: string;
}
