/**
 * A bound on waits that depend on something outside the process (a server's reply, a peer's
 * socket): shutdown paths use it so that one unanswered flush cannot hold a close for ever.
 */

/** Resolves `true` once `p` settles (fulfilled or rejected), `false` if `ms` passes first. The timer never keeps the process alive. */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((r) => {
    timer = setTimeout(() => r(false), ms);
    timer.unref();
  });
  try {
    return await Promise.race([p.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
