import type { SandboxFaults } from '../common/sandbox-types.js';

/** Service protection: a sliding window of request counts in one-second buckets (O(window) memory). */
export interface ServiceProtection {
  /** Requests allowed per window (Dataverse: 6000 per 300 s; the sandbox default is far higher for benchmarks). */
  requests: number;
  windowSeconds: number;
  /** Requests in flight at once (Dataverse: 52, answered with 0x80072326). */
  concurrentRequests?: number;
}

export const DEFAULT_CONCURRENT_REQUESTS = 52;

export const DEFAULT_SERVICE_PROTECTION: ServiceProtection = { requests: 10_000_000, windowSeconds: 300 };

export class SlidingWindow {
  private buckets = new Map<number, number>();
  private total = 0;

  constructor(public limits: ServiceProtection) {}

  private prune(now: number): void {
    const oldest = now - this.limits.windowSeconds;
    for (const [second, n] of this.buckets) {
      if (second <= oldest) {
        this.total -= n;
        this.buckets.delete(second);
      }
    }
  }

  /** Counts a request, or returns the Retry-After seconds when the window is full. */
  admit(nowMs = Date.now()): number | undefined {
    const now = Math.floor(nowMs / 1000);
    this.prune(now);
    if (this.total >= this.limits.requests) {
      const first = Math.min(...this.buckets.keys());
      return Math.max(1, first + this.limits.windowSeconds - now);
    }
    this.buckets.set(now, (this.buckets.get(now) ?? 0) + 1);
    this.total += 1;
    return undefined;
  }

  reset(limits: ServiceProtection = this.limits): void {
    this.limits = limits;
    this.buckets = new Map();
    this.total = 0;
  }
}

/** What fault, if any, to inject on a data request. */
export type FaultDecision = 'none' | 'unavailable' | 'rate-limited' | 'reset';

/** Applies SandboxFaults to data requests; `random` is injectable so tests can be deterministic. */
export class FaultInjector {
  private faults: SandboxFaults = {};
  private dataRequests = 0;

  constructor(private readonly random: () => number = Math.random) {}

  set(faults: SandboxFaults): void {
    this.faults = { ...faults };
    this.dataRequests = 0;
  }

  get latencyMs(): number {
    return this.faults.latencyMs ?? 0;
  }

  decide(): FaultDecision {
    const f = this.faults;
    this.dataRequests += 1;
    if (f.down || (f.downAfterRequests !== undefined && this.dataRequests > f.downAfterRequests)) return 'unavailable';
    if (f.resetOnRequest !== undefined && this.dataRequests === f.resetOnRequest) {
      this.faults = { ...f, resetOnRequest: undefined };
      return 'reset';
    }
    if (f.unavailableRate && this.random() < f.unavailableRate) return 'unavailable';
    if (f.rateLimitRate && this.random() < f.rateLimitRate) return 'rate-limited';
    if (f.resetRate && this.random() < f.resetRate) return 'reset';
    return 'none';
  }
}
