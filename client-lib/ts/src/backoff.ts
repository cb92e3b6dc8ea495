// Reconnect delays: exponential with jitter, so that thousands of clients dropped at once do not
// all come back in the same millisecond. No timers here: the driver asks for the next delay.

/** How long to wait between reconnection attempts. */
export interface ReconnectPolicy {
  /** Delay before the first retry, in ms. */
  initialMs: number;
  /** Largest delay, in ms; doubling stops here. */
  maxMs: number;
  /** Fraction of each delay that is randomised, 0 (none) ..= 1 (anywhere from 0 to the full
   * delay). Values outside are clamped. */
  jitter: number;
}

/** 100 ms doubling to 5 s, up to half of each delay randomised (as the Rust client). */
export const DEFAULT_RECONNECT: ReconnectPolicy = Object.freeze({ initialMs: 100, maxMs: 5000, jitter: 0.5 });

const clamp01 = (x: number): number => Math.min(1, Math.max(0, Number.isNaN(x) ? 0 : x));

/** The un-jittered delay before retry number `attempt` (0-based). */
export function baseDelay(policy: ReconnectPolicy, attempt: number): number {
  const factor = 2 ** Math.min(Math.max(0, Math.floor(attempt)), 52);
  return Math.min(policy.initialMs * factor, policy.maxMs);
}

/** The delay before retry `attempt`, with `unit` (uniform in 0..1) taking off up to the jitter
 * fraction. */
export function jitteredDelay(policy: ReconnectPolicy, attempt: number, unit: number): number {
  return baseDelay(policy, attempt) * (1 - clamp01(policy.jitter) * clamp01(unit));
}

/** The retry counter of one client. */
export class Backoff {
  private attempt = 0;

  constructor(private readonly policy: ReconnectPolicy = DEFAULT_RECONNECT, private readonly random: () => number = Math.random) {}

  /** Retries so far since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  nextDelay(): number {
    const d = jitteredDelay(this.policy, this.attempt, this.random());
    this.attempt += 1;
    return d;
  }

  reset(): void {
    this.attempt = 0;
  }
}
