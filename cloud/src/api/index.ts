// Filled in by the api work; see cloud/README.md.
export {};
