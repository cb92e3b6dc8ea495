import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { MagpieError } from '../../src/error.js';
import { ErrorCode } from '../../src/errors.js';
import { IndexedDbOutboxStore } from '../../src/indexeddb-outbox-store.js';
import { Outbox, type AckWaiter } from '../../src/outbox.js';
import { MemoryOutboxStore, type OutboxStore } from '../../src/outbox-store.js';
import type { SendAck } from '../../src/types.js';

function ids(start = 10n) {
  let n = start;
  return () => ++n;
}

const ack = (id: string): SendAck => ({ chatId: 1n, clientMsgId: id, messageId: 5n, seq: 1n, timeMs: 0 });

function waiter() {
  const w = { acks: [] as SendAck[], errors: [] as MagpieError[] };
  const cb: AckWaiter = { resolve: (a) => w.acks.push(a), reject: (e) => w.errors.push(e) };
  return { w, cb };
}

const sent = (due: ReturnType<Outbox['takeDue']>) => due.map((d) => [d.requestId, d.clientMsgId] as const);

describe('outbox', () => {
  it('sends in order, never twice while in flight, and completes on ack', () => {
    const o = new Outbox();
    const a = waiter();
    o.push(1n, 'a', 'hello', a.cb);
    o.push(1n, 'b', 'world');
    const next = ids();
    expect(sent(o.takeDue(0, next))).toEqual([[11n, 'a'], [12n, 'b']]);
    expect(o.takeDue(0, next)).toEqual([]); // in flight is not sent twice
    expect(o.owns(11n)).toBe(true);
    expect(o.onReply(11n, ack('a'), 0)).toEqual({ settled: 'a' });
    expect(a.w.acks).toEqual([ack('a')]);
    expect(o.size).toBe(1);
    expect(o.owns(11n)).toBe(false);
    // A second reply for the same request changes nothing.
    expect(o.onReply(11n, ack('a'), 0)).toEqual({ settled: null });
    expect(a.w.acks.length).toBe(1);
  });

  it('resends with the same client_msg_id after a reconnect', () => {
    const o = new Outbox();
    o.push(1n, 'a', 'x');
    const next = ids();
    expect(sent(o.takeDue(0, next))).toEqual([[11n, 'a']]);
    o.onDisconnect();
    expect(o.owns(11n)).toBe(false);
    expect(sent(o.takeDue(0, next))).toEqual([[12n, 'a']]);
    // A late reply on the dead request id is ignored.
    o.onReply(11n, ack('a'), 0);
    expect(o.size).toBe(1);
  });

  it('waits after a retryable error, then retries, and fails on the others', () => {
    const o = new Outbox();
    const a = waiter();
    const b = waiter();
    o.push(1n, 'a', 'x', a.cb);
    o.push(1n, 'b', 'y', b.cb);
    const next = ids();
    o.takeDue(1000, next);
    o.onReply(11n, MagpieError.server(ErrorCode.RateLimited, 'slow down', 300), 1000);
    const denied = MagpieError.server(ErrorCode.ChatNotFound, '', 0);
    expect(o.onReply(12n, denied, 1000)).toEqual({ settled: 'b' });
    expect(b.w.errors).toEqual([denied]);
    expect(a.w.acks.length + a.w.errors.length).toBe(0);
    expect(o.nextRetryAt()).toBe(1300);
    expect(o.takeDue(1299, next)).toEqual([]);
    expect(sent(o.takeDue(1300, next))).toEqual([[13n, 'a']]);
    expect(o.nextRetryAt()).toBeNull();
    // Retryable without a hint: the reconnect policy's delays, growing (this is a's second).
    o.onReply(13n, MagpieError.server(ErrorCode.Internal, '', 0), 2000);
    expect(o.nextRetryAt()).toBe(2200);
  });

  it('keeps submission order across resends', () => {
    const o = new Outbox();
    for (const id of ['a', 'b', 'c']) o.push(1n, id, id);
    const next = ids();
    expect(o.takeDue(0, next).length).toBe(3);
    o.onDisconnect();
    expect(o.takeDue(0, next).map((d) => d.clientMsgId)).toEqual(['a', 'b', 'c']);
  });

  it('joins a repeated id for the same message and refuses it for another', () => {
    const o = new Outbox();
    const w1 = waiter();
    const w2 = waiter();
    const w3 = waiter();
    expect(o.push(1n, 'a', 'x', w1.cb)).toBe(true);
    expect(o.push(1n, 'a', 'x', w2.cb)).toBe(true);
    expect(o.push(1n, 'a', 'other', w3.cb)).toBe(false);
    expect(w3.w.errors[0]!.kind).toBe('invalid_input');
    // The same text as a reply is another message too; its options go out with it.
    const w4 = waiter();
    expect(o.push(1n, 'a', 'x', w4.cb, { replyToSeq: 3n })).toBe(false);
    expect(w4.w.errors[0]!.kind).toBe('invalid_input');
    expect(o.push(1n, 'b', 'y', undefined, { mentions: [2n] })).toBe(true);
    expect(o.push(1n, 'b', 'y', undefined, { mentions: [2n] })).toBe(true);
    expect(o.size).toBe(2);
    expect(o.takeDue(0, ids()).map((d) => [d.clientMsgId, d.options])).toEqual([['a', {}], ['b', { mentions: [2n] }]]);
    o.onReply(11n, ack('a'), 0);
    expect([w1.w.acks, w2.w.acks]).toEqual([[ack('a')], [ack('a')]]);
  });

  it('fails every waiter when the client stops', () => {
    const o = new Outbox();
    const a = waiter();
    o.push(1n, 'a', 'x', a.cb);
    o.takeDue(0, ids());
    o.failAll(new MagpieError('closed', 'bye'));
    expect(a.w.errors[0]!.kind).toBe('closed');
    expect([o.size, o.owns(11n)]).toEqual([0, false]);
  });
});

// The same contract for both stores: what was put survives a new store object over the same
// storage (a reload), and what was deleted is gone.
const stores: Array<[string, () => Promise<() => Promise<OutboxStore>>]> = [
  ['memory', async () => {
    const s = new MemoryOutboxStore();
    return async () => s;
  }],
  ['IndexedDB (fake-indexeddb)', async () => {
    const factory = new IDBFactory();
    const name = `outbox-${Math.random()}`;
    return () => IndexedDbOutboxStore.open(name, factory);
  }],
];

describe.each(stores)('outbox store: %s', (_, makeOpener) => {
  it('persists records across a reload and deletes acked ones', async () => {
    const open = await makeOpener();
    const s1 = await open();
    await s1.put({ clientMsgId: 'a', chatId: '18446744073709551615', content: 'héllo', order: 0 });
    await s1.put({ clientMsgId: 'b', chatId: '7', content: 'two', order: 1 });
    await s1.put({ clientMsgId: 'b', chatId: '7', content: 'two', order: 1 }); // idempotent
    if (s1 instanceof IndexedDbOutboxStore) s1.close();
    const s2 = await open();
    const loaded = (await s2.load()).sort((x, y) => x.order - y.order);
    expect(loaded).toEqual([
      { clientMsgId: 'a', chatId: '18446744073709551615', content: 'héllo', order: 0 },
      { clientMsgId: 'b', chatId: '7', content: 'two', order: 1 },
    ]);
    await s2.delete('a');
    await s2.delete('missing');
    expect((await s2.load()).map((r) => r.clientMsgId)).toEqual(['b']);
  });

  it('feeds a reloaded outbox that resends with the same ids, once each', async () => {
    const open = await makeOpener();
    const s1 = await open();
    // Before the reload: two messages queued, one sent but unacked, none acked.
    const before = new Outbox();
    for (const [i, id] of ['x1', 'x2'].entries()) {
      await s1.put({ clientMsgId: id, chatId: '3', content: `m${i}`, order: i });
      before.push(3n, id, `m${i}`);
    }
    before.takeDue(0, ids());
    // The reload: a new outbox from the store.
    const after = new Outbox();
    for (const r of (await (await open()).load()).sort((a, b) => a.order - b.order)) after.push(BigInt(r.chatId), r.clientMsgId, r.content);
    const due = after.takeDue(0, ids(100n));
    expect(due.map((d) => [d.chatId, d.clientMsgId, d.content])).toEqual([[3n, 'x1', 'm0'], [3n, 'x2', 'm1']]);
    expect(after.takeDue(0, ids(200n))).toEqual([]);
  });
});
