// The connection lifecycle as an explicit state machine, with no sockets and no timers:
//
//   idle ──connect──► connecting ──welcomed──► authenticating ──authenticated──► syncing ──synced──► live
//                        ▲                                                                      │
//                        └────────── connect ── waiting (backoff delay) ◄──── lost ─────────────┘ (from any
//                                                                                                  open phase)
//   any phase ──fail / close──► closed (with a reason)
//
// `lost` asks the backoff for the delay to wait; `synced` resets it (the connection proved
// itself). The driver performs what each transition implies and reports back.
import { Backoff } from './backoff.js';

/** Why the client stopped for good. `name` is the stable error code name (`revoked`,
 * `invalid_credentials`, `client_too_old`, ...) or `closed` when the app closed the client. */
export interface CloseReason {
  code: number | null;
  name: string;
  message: string;
}

export type ConnectionState =
  | { phase: 'idle' }
  /** Opening the transport and exchanging Hello/Welcome. `attempt` counts failed tries since the
   * last successful sync. */
  | { phase: 'connecting'; attempt: number }
  | { phase: 'authenticating' }
  /** Signed in; catching up with `Sync` (gaps filled with `History`). */
  | { phase: 'syncing' }
  /** Up to date; live events flow. */
  | { phase: 'live' }
  /** The connection broke; the next attempt starts after `delayMs`. */
  | { phase: 'waiting'; delayMs: number; attempt: number; reason: string }
  | { phase: 'closed'; reason: CloseReason };

export type Phase = ConnectionState['phase'];

export class InvalidTransition extends globalThis.Error {
  constructor(from: Phase, event: string) {
    super(`lifecycle: cannot ${event} while ${from}`);
    this.name = 'InvalidTransition';
  }
}

const OPEN: readonly Phase[] = ['connecting', 'authenticating', 'syncing', 'live'];

export class Lifecycle {
  private current: ConnectionState = { phase: 'idle' };
  private readonly listeners = new Set<(s: ConnectionState) => void>();

  constructor(private readonly backoff: Backoff = new Backoff()) {}

  get state(): ConnectionState {
    return this.current;
  }

  get phase(): Phase {
    return this.current.phase;
  }

  /** Open phases: a transport exists or is being opened. */
  get isOpen(): boolean {
    return OPEN.includes(this.current.phase);
  }

  get isClosed(): boolean {
    return this.current.phase === 'closed';
  }

  onChange(listener: (s: ConnectionState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private go(next: ConnectionState): ConnectionState {
    this.current = next;
    for (const l of this.listeners) l(next);
    return next;
  }

  private expect(event: string, ...from: Phase[]): void {
    if (!from.includes(this.current.phase)) throw new InvalidTransition(this.current.phase, event);
  }

  /** Starts an attempt: from `idle` (the first) or `waiting` (after the delay). */
  connect(): ConnectionState {
    this.expect('connect', 'idle', 'waiting');
    return this.go({ phase: 'connecting', attempt: this.backoff.attempts });
  }

  /** The transport is open and the server answered Hello with Welcome. */
  welcomed(): ConnectionState {
    this.expect('welcomed', 'connecting');
    return this.go({ phase: 'authenticating' });
  }

  /** Register, Login or Authenticate succeeded; Sync follows. */
  authenticated(): ConnectionState {
    this.expect('authenticated', 'authenticating');
    return this.go({ phase: 'syncing' });
  }

  /** Everything missed has been delivered: live from now on, and the backoff starts over. */
  synced(): ConnectionState {
    this.expect('synced', 'syncing');
    this.backoff.reset();
    return this.go({ phase: 'live' });
  }

  /** The connection (or the attempt) broke in a way worth retrying. Returns the state, whose
   * `delayMs` the driver waits before calling `connect`. */
  lost(reason: string): Extract<ConnectionState, { phase: 'waiting' }> {
    this.expect('lose the connection', ...OPEN);
    const attempt = this.backoff.attempts;
    const delayMs = this.backoff.nextDelay();
    return this.go({ phase: 'waiting', delayMs, attempt, reason }) as Extract<ConnectionState, { phase: 'waiting' }>;
  }

  /** Stops for good: a fatal close code, refused credentials, or the app closing the client.
   * Closing a closed lifecycle keeps the first reason. */
  close(reason: CloseReason): ConnectionState {
    if (this.current.phase === 'closed') return this.current;
    return this.go({ phase: 'closed', reason });
  }
}
