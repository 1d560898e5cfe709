/** Path of the palette's bundle of the contract (dist/fieldline.cjs). */
export declare const BUNDLE: string;
/** Builds dist/fieldline.cjs (build.mjs); resolves with its path. */
export declare function buildPalette(): Promise<string>;
