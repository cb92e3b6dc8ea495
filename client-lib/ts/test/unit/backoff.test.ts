import { describe, expect, it } from 'vitest';
import { Backoff, baseDelay, DEFAULT_RECONNECT, jitteredDelay } from '../../src/backoff.js';

describe('backoff', () => {
  it('doubles up to the cap', () => {
    const ms = Array.from({ length: 10 }, (_, a) => baseDelay(DEFAULT_RECONNECT, a));
    expect(ms).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000]);
    expect(baseDelay(DEFAULT_RECONNECT, 10_000)).toBe(5000);
  });

  it('jitter only shortens, within its fraction', () => {
    expect(jitteredDelay(DEFAULT_RECONNECT, 0, 0)).toBe(100);
    expect(jitteredDelay(DEFAULT_RECONNECT, 0, 1)).toBe(50);
    expect(jitteredDelay({ ...DEFAULT_RECONNECT, jitter: 0 }, 3, 0.7)).toBe(800);
    expect(jitteredDelay({ ...DEFAULT_RECONNECT, jitter: 7 }, 0, 1)).toBe(0);
    expect(jitteredDelay({ ...DEFAULT_RECONNECT, jitter: -1 }, 0, 1)).toBe(100);
  });

  it('grows with each attempt, jittered by the injected random source, and resets', () => {
    const units = [0, 1, 0.5, 0.25];
    let i = 0;
    const b = new Backoff(DEFAULT_RECONNECT, () => units[i++ % units.length]!);
    expect([b.nextDelay(), b.nextDelay(), b.nextDelay(), b.nextDelay()]).toEqual([100, 100, 300, 700]);
    expect(b.attempts).toBe(4);
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.nextDelay()).toBe(100);
  });

  it('stays within [base/2, base] with real randomness', () => {
    const b = new Backoff();
    for (let a = 0; a < 8; a++) {
      const d = b.nextDelay();
      const base = baseDelay(DEFAULT_RECONNECT, a);
      expect(d).toBeLessThanOrEqual(base);
      expect(d).toBeGreaterThanOrEqual(base / 2);
    }
  });
});
