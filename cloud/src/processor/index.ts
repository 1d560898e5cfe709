// Filled in by the processor work; see cloud/README.md.
export {};
