/**
 * Pages written one transaction after another, in order, while the producer goes on preparing the next ones: an
 * import maps page k+1 (and parses the CRM's next responses) while page k is written, instead of taking turns.
 * Pages that arrive while a write runs are written together by the next one (a group commit): when the store is
 * the slower side it gets fewer, larger transactions, and no hand-over between producer and store per page.
 * Items have a weight (an import's: its rows); at most `maxPending` of it waits and one write takes at most that
 * much (at least one item), so prepared pages never pile up in memory whatever the CRM's page size. After a write
 * fails, nothing more is written and the failure is what `push` or `drain` throws.
 */
export class OrderedWrites<T> {
  private pending: T[] = [];
  private pendingWeight = 0;
  private running: Promise<void> | undefined;
  private current: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    private readonly maxPending = 4,
    private readonly weigh: (item: T) => number = () => 1,
  ) {}

  /** Queues `item`; returns once less than `maxPending` waits. */
  async push(item: T): Promise<void> {
    this.throwIfFailed();
    this.pending.push(item);
    this.pendingWeight += this.weigh(item);
    this.running ??= this.run();
    while (this.pendingWeight >= this.maxPending && this.current) {
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
    this.pendingWeight = 0;
    await this.running;
  }

  private async run(): Promise<void> {
    while (this.pending.length > 0 && !this.failure) {
      let count = 0;
      let weight = 0;
      while (
        count < this.pending.length &&
        (count === 0 || weight + this.weigh(this.pending[count]!) <= this.maxPending)
      )
        weight += this.weigh(this.pending[count++]!);
      const batch = this.pending.splice(0, count);
      this.pendingWeight -= weight;
      this.current = this.write(batch);
      try {
        await this.current;
      } catch (error) {
        this.failure = { error };
        this.pending = [];
        this.pendingWeight = 0;
      }
    }
    this.current = undefined;
    this.running = undefined;
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
