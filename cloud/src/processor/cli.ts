export async function main(_argv: string[]): Promise<void> {
  throw new Error('fieldline-cloud processor: not built yet');
}
