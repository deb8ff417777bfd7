import { BCJ_FILTER_IDS, type XzFilter, type XzRecipe } from '@lxchunk/xz';
import type { RebuiltBlock } from '@lxchunk/format';

const FILTER_BY_ID = new Map<number, XzFilter>([[0, 'none'], ...Object.entries(BCJ_FILTER_IDS).map(([name, id]) => [id, name as XzFilter] as const)]);

/** A recipe as the content index stores it: the xz filter id (0 for none) and the dictionary. */
export function recipeFields(recipe: XzRecipe): Pick<RebuiltBlock, 'filter' | 'dictSize'> {
  return { filter: recipe.filter === 'none' ? 0 : BCJ_FILTER_IDS[recipe.filter], dictSize: recipe.dictSize };
}

export function recipeOf(block: Pick<RebuiltBlock, 'filter' | 'dictSize'>): XzRecipe {
  const filter = FILTER_BY_ID.get(block.filter);
  // validateContentIndex admits only these ids; anything else is a bug, not input.
  if (!filter) throw new RangeError(`no xz filter with id ${block.filter}`);
  return { filter, dictSize: block.dictSize, check: 'crc32' };
}
