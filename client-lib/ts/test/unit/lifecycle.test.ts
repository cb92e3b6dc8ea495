import { describe, expect, it } from 'vitest';
import { Backoff, DEFAULT_RECONNECT } from '../../src/backoff.js';
import { InvalidTransition, Lifecycle, type ConnectionState } from '../../src/lifecycle.js';

const noJitter = () => new Backoff(DEFAULT_RECONNECT, () => 0);

describe('lifecycle state machine', () => {
  it('goes connecting → authenticating → syncing → live and reports each change', () => {
    const l = new Lifecycle(noJitter());
    const seen: ConnectionState[] = [];
    l.onChange((s) => seen.push(s));
    expect(l.phase).toBe('idle');
    l.connect();
    l.welcomed();
    l.authenticated();
    l.synced();
    expect(seen.map((s) => s.phase)).toEqual(['connecting', 'authenticating', 'syncing', 'live']);
    expect(seen[0]).toEqual({ phase: 'connecting', attempt: 0 });
    expect(l.isOpen).toBe(true);
  });

  it('waits longer after each failed attempt and starts over after a sync', () => {
    const l = new Lifecycle(noJitter());
    l.connect();
    expect(l.lost('refused')).toEqual({ phase: 'waiting', delayMs: 100, attempt: 0, reason: 'refused' });
    expect(l.connect()).toEqual({ phase: 'connecting', attempt: 1 });
    l.welcomed();
    expect(l.lost('reset').delayMs).toBe(200);
    l.connect();
    l.welcomed();
    l.authenticated();
    expect(l.lost('reset').delayMs).toBe(400);
    l.connect();
    l.welcomed();
    l.authenticated();
    l.synced();
    // The connection proved itself: the next break waits the shortest delay again.
    expect(l.lost('idle timeout').delayMs).toBe(100);
  });

  it('refuses transitions that make no sense', () => {
    const l = new Lifecycle(noJitter());
    expect(() => l.welcomed()).toThrow(InvalidTransition);
    expect(() => l.lost('x')).toThrow(InvalidTransition);
    l.connect();
    expect(() => l.connect()).toThrow(InvalidTransition);
    expect(() => l.synced()).toThrow(InvalidTransition);
    l.lost('x');
    expect(() => l.lost('again')).toThrow(InvalidTransition);
    expect(() => l.authenticated()).toThrow(InvalidTransition);
  });

  it('closes from any phase, for good, keeping the first reason', () => {
    for (const steps of [[], ['connect'], ['connect', 'welcomed'], ['connect', 'lost']] as const) {
      const l = new Lifecycle(noJitter());
      for (const s of steps) (s === 'lost' ? l.lost('x') : l[s]());
      l.close({ code: 9, name: 'revoked', message: 'bye' });
      expect(l.state).toEqual({ phase: 'closed', reason: { code: 9, name: 'revoked', message: 'bye' } });
      l.close({ code: null, name: 'closed', message: 'later' });
      expect(l.state).toEqual({ phase: 'closed', reason: { code: 9, name: 'revoked', message: 'bye' } });
      expect(() => l.connect()).toThrow(InvalidTransition);
      expect(l.isClosed).toBe(true);
    }
  });
});
