/**
 * `work`, or a rejection with `timedOut()`'s error once `ms` have passed; the timer is cleared either way. A failure
 * of `work` after the timeout is observed here, so it is never an unhandled rejection.
 */
export function withTimeout<T>(work: Promise<T>, ms: number, timedOut: () => Error): Promise<T> {
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut()), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
