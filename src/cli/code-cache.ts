// Names shared by the loader (loader.ts), which uses V8's code cache, and the installer, which
// has it trained. Kept apart so that importing them runs nothing.

/** The loader's argument for the training run that writes the cache. */
export const TRAIN_FLAG = '--x2godb-train-code-cache';
/** The real bundle, beside the loader, and its cache. */
export const MAIN_BUNDLE = 'x2godb-main.cjs';
export const CODE_CACHE = `${MAIN_BUNDLE}.cache`;
