/**
 * Pages written one transaction after another, in order, while the producer goes on preparing the next ones: an
 * import maps page k+1 (and parses the CRM's next responses) while page k is written, instead of taking turns.
 * Pages that arrive while a write runs are written together by the next one (a group commit): when the store is
 * the slower side it gets fewer, larger transactions, and no hand-over between producer and store per page.
 * At most `maxPending` pages wait, so prepared pages never pile up in memory. After a write fails, nothing more
 * is written and the failure is what `push` or `drain` throws.
 */
export class OrderedWrites<T> {
  private pending: T[] = [];
  private running: Promise<void> | undefined;
  private current: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    private readonly maxPending = 4,
  ) {}

  /** Queues `item`; returns once fewer than `maxPending` items wait. */
  async push(item: T): Promise<void> {
    this.throwIfFailed();
    this.pending.push(item);
    this.running ??= this.run();
    while (this.pending.length >= this.maxPending && this.current) {
      await this.current.catch(() => undefined);
      this.throwIfFailed();
    }
  }

  /** Waits until everything pushed is written; throws the first failure. */
  async drain(): Promise<void> {
    await this.running;
    this.throwIfFailed();
  }

  /** Waits until nothing is being written any more, whatever happened (before giving up after a failure). */
  async settle(): Promise<void> {
    this.pending = [];
    await this.running;
  }

  private async run(): Promise<void> {
    while (this.pending.length > 0 && !this.failure) {
      const batch = this.pending.splice(0, this.maxPending);
      this.current = this.write(batch);
      try {
        await this.current;
      } catch (error) {
        this.failure = { error };
        this.pending = [];
      }
    }
    this.current = undefined;
    this.running = undefined;
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
