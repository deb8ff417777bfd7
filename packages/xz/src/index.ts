export { decodeXzBlock } from './decode-xz-block.js';
export { encodeXzBlock } from './encode-xz-block.js';
export { findRecipe } from './find-recipe.js';
export { parseXzBlockHeader, wrapXzBlock, type XzBlockHeader } from './xz-container.js';
export { BCJ_FILTER_IDS, XZ_ENCODER, type XzFilter, type XzRecipe } from './xz-recipe.js';
export { selfTest, SELF_TEST_SHA256, type SelfTestResult } from './self-test.js';
export { XzPool, type XzPoolOptions } from './xz-pool.js';
export { imageXzBlocks, type XzImageBlock } from './image-xz-blocks.js';
