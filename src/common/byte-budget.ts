/**
 * A budget of bytes shared by concurrent holders (a weighted semaphore): `acquire(n)` resolves once `n` bytes are
 * free and takes them until the returned release is called.
 *
 * - First come, first served: a request waits behind every earlier waiter, even if it would fit, so a large one is
 *   never starved by a stream of smaller ones.
 * - A request for 0 bytes never waits (it holds nothing, so the budget has nothing to bound).
 * - A request above the whole budget is admitted once nothing else is held: it runs alone rather than never.
 * - Releasing twice is harmless: the bytes come back once.
 */
export class ByteBudget {
  private used = 0;
  private readonly waiters: { bytes: number; admit: () => void }[] = [];

  constructor(readonly total: number) {
    if (!(total > 0)) throw new RangeError(`a byte budget must be positive, got ${total}`);
  }

  /** Bytes held now. */
  get inUse(): number {
    return this.used;
  }

  /** Requests waiting now. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Takes `bytes` (capped at the whole budget) once they are free; resolves to the function that gives them back. */
  acquire(bytes: number): Promise<() => void> {
    if (!(bytes >= 0)) throw new RangeError(`cannot acquire ${bytes} bytes`);
    const want = Math.min(bytes, this.total);
    if (want === 0) return Promise.resolve(() => undefined);
    if (this.waiters.length === 0 && this.fits(want)) return Promise.resolve(this.take(want));
    return new Promise((resolve) => {
      this.waiters.push({ bytes: want, admit: () => resolve(this.take(want)) });
    });
  }

  private fits(bytes: number): boolean {
    return this.used + bytes <= this.total;
  }

  private take(bytes: number): () => void {
    this.used += bytes;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.used -= bytes;
      this.admitWaiters();
    };
  }

  private admitWaiters(): void {
    while (this.waiters.length > 0 && this.fits(this.waiters[0].bytes)) this.waiters.shift()!.admit();
  }
}
