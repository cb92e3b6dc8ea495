// The outbox: messages sent but not yet acknowledged. Each keeps its client message id for life,
// so resending after a reconnect or a retryable error can never post it twice (the server answers
// a repeated id with the original ack). No I/O and no timers: the driver asks what is due, sends
// it, and reports replies and disconnects. A port of client-lib/src/outbox.rs.
import { baseDelay, DEFAULT_RECONNECT, type ReconnectPolicy } from './backoff.js';
import { MagpieError } from './error.js';
import type { SendAck, SendOptions } from './types.js';
import { encodeSendOptions } from './outbox-store.js';

export interface AckWaiter {
  resolve(ack: SendAck): void;
  reject(error: MagpieError): void;
}

/** A `SendMessage` to put on the wire under `requestId`. */
export interface DueSend {
  requestId: bigint;
  chatId: bigint;
  clientMsgId: string;
  content: string;
  options: SendOptions;
}

interface Entry {
  order: number;
  chatId: bigint;
  clientMsgId: string;
  content: string;
  options: SendOptions;
  /** `options` encoded: two pushes of one id are the same message only if these match. */
  optionsKey: string;
  /** Retryable errors so far, for the delay when the server names none. */
  failures: number;
  waiters: AckWaiter[];
  state: 'ready' | 'waiting' | 'inFlight';
  /** For `waiting`: when it is due again (ms, the driver's clock). */
  dueAt: number;
}

export class Outbox {
  /** By submission order, so (re)sends go out in the order the app sent. */
  private readonly entries = new Map<number, Entry>();
  private readonly byMsgId = new Map<string, Entry>();
  /** Request id → entry, for sends on the current connection. */
  private readonly inFlight = new Map<bigint, Entry>();
  private nextOrder = 0;

  constructor(private readonly retry: ReconnectPolicy = DEFAULT_RECONNECT) {}

  /** Messages not yet acknowledged. */
  get size(): number {
    return this.entries.size;
  }

  has(clientMsgId: string): boolean {
    return this.byMsgId.has(clientMsgId);
  }

  /** Pending messages in submission order (to show them, or to persist). */
  pending(): Array<{ chatId: bigint; clientMsgId: string; content: string; options: SendOptions }> {
    return [...this.entries.values()].map(({ chatId, clientMsgId, content, options }) => ({ chatId, clientMsgId, content, options }));
  }

  /**
   * Queues a message. Queuing an id that is already pending joins it (both waiters get the one
   * ack) if it is the same message, and is refused if it is not. Returns false when refused.
   */
  push(chatId: bigint, clientMsgId: string, content: string, waiter?: AckWaiter, options: SendOptions = {}): boolean {
    const optionsKey = encodeSendOptions(options);
    const existing = this.byMsgId.get(clientMsgId);
    if (existing) {
      if (existing.chatId === chatId && existing.content === content && existing.optionsKey === optionsKey) {
        if (waiter) existing.waiters.push(waiter);
        return true;
      }
      waiter?.reject(new MagpieError('invalid_input', `client_msg_id ${JSON.stringify(clientMsgId)} is pending for a different message`));
      return false;
    }
    const entry: Entry = { order: this.nextOrder++, chatId, clientMsgId, content, options, optionsKey, failures: 0, waiters: waiter ? [waiter] : [], state: 'ready', dueAt: 0 };
    this.entries.set(entry.order, entry);
    this.byMsgId.set(clientMsgId, entry);
    return true;
  }

  /** Marks every message that is due at `now` as in flight and returns what to send, each with
   * a request id from `nextRequestId`, in submission order. */
  takeDue(now: number, nextRequestId: () => bigint): DueSend[] {
    const due: DueSend[] = [];
    for (const e of this.entries.values()) {
      if (e.state === 'waiting' && e.dueAt <= now) e.state = 'ready';
      if (e.state !== 'ready') continue;
      const requestId = nextRequestId();
      e.state = 'inFlight';
      this.inFlight.set(requestId, e);
      due.push({ requestId, chatId: e.chatId, clientMsgId: e.clientMsgId, content: e.content, options: e.options });
    }
    return due;
  }

  /** Whether `requestId` is one of the outbox's sends on this connection. */
  owns(requestId: bigint): boolean {
    return this.inFlight.has(requestId);
  }

  /**
   * Takes the reply to a send: an ack or a non-retryable error completes the message (its id is
   * returned, so the driver can drop it from storage); a retryable error schedules it again.
   */
  onReply(requestId: bigint, result: SendAck | MagpieError, now: number): { settled: string | null } {
    const e = this.inFlight.get(requestId);
    if (!e) return { settled: null };
    this.inFlight.delete(requestId);
    if (result instanceof MagpieError && result.retryable) {
      const delay = result.retryAfter ?? baseDelay(this.retry, e.failures);
      e.failures += 1;
      e.state = 'waiting';
      e.dueAt = now + Math.max(1, delay);
      return { settled: null };
    }
    this.entries.delete(e.order);
    this.byMsgId.delete(e.clientMsgId);
    for (const w of e.waiters) {
      if (result instanceof MagpieError) w.reject(result);
      else w.resolve(result);
    }
    return { settled: e.clientMsgId };
  }

  /** The connection is gone: what was in flight goes again on the next one. */
  onDisconnect(): void {
    for (const e of this.inFlight.values()) e.state = 'ready';
    this.inFlight.clear();
  }

  /** When the earliest paused message becomes due, if any is paused. */
  nextRetryAt(): number | null {
    let at: number | null = null;
    for (const e of this.entries.values()) if (e.state === 'waiting' && (at === null || e.dueAt < at)) at = e.dueAt;
    return at;
  }

  /** Tells every waiter `error` and forgets the messages (the client is stopping). What is
   * persisted stays persisted: a later client resends it. */
  failAll(error: MagpieError): void {
    const entries = [...this.entries.values()];
    this.entries.clear();
    this.byMsgId.clear();
    this.inFlight.clear();
    for (const e of entries) for (const w of e.waiters) w.reject(error);
  }
}
