import { describe, expect, it } from 'vitest';
import { Cursors, MAX_HELD_PER_CHAT, MAX_SYNC_CURSORS } from '../../src/cursors.js';
import { MAX_CLIENT_FRAME_BYTES } from '../../src/limits.js';
import * as encode from '../../src/encode.js';
import type { ChatEvent } from '../../src/types.js';

const ev = (chatId: number, seq: number): ChatEvent => ({
  chatId: BigInt(chatId), seq: BigInt(seq), senderId: 1n, senderDeviceId: 1n, timeMs: 0, kind: { type: 'membersAdded', userIds: [], via: 'added' },
});
const seqs = (out: ChatEvent[]) => out.map((e) => Number(e.seq));
const evs = (chatId: number, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => ev(chatId, from + i));

describe('cursors', () => {
  it('passes in-order events and drops duplicates', () => {
    const c = new Cursors([[1n, 2n]]);
    const out: ChatEvent[] = [];
    for (const s of [1, 2, 3, 3, 4, 2]) expect(c.onEvent(ev(1, s), out)).toBeNull();
    expect(seqs(out)).toEqual([3, 4]);
    expect(c.get(1n)).toBe(4n);
    expect(c.get(99n)).toBe(0n);
  });

  it('fills a gap before releasing later events, each exactly once', () => {
    const c = new Cursors([[1n, 2n]]);
    const out: ChatEvent[] = [];
    expect(c.onEvent(ev(1, 6), out)).toEqual({ chatId: 1n, fromSeq: 2n, limit: 3 });
    expect(out).toEqual([]);
    // More live events while the fill is in flight: held, no second fill.
    expect(c.onEvent(ev(1, 7), out)).toBeNull();
    expect(c.fillsInFlight()).toBe(1);
    // The fill's answer overlaps what is held; each event comes out once.
    expect(c.onFill(1n, evs(1, 3, 6), out)).toBeNull();
    expect(seqs(out)).toEqual([3, 4, 5, 6, 7]);
    expect([c.get(1n), c.fillsInFlight()]).toEqual([7n, 0]);
  });

  it('asks again after a partial fill', () => {
    const c = new Cursors();
    const out: ChatEvent[] = [];
    expect(c.onEvent(ev(1, 5), out)).toEqual({ chatId: 1n, fromSeq: 0n, limit: 4 });
    expect(c.onFill(1n, evs(1, 1, 2), out)).toEqual({ chatId: 1n, fromSeq: 2n, limit: 2 });
    expect(c.onFill(1n, evs(1, 3, 4), out)).toBeNull();
    expect(seqs(out)).toEqual([1, 2, 3, 4, 5]);
  });

  it('skips a hole the server cannot fill instead of asking forever', () => {
    // E.g. a user added to a group at seq 5 who may not read seqs 1..4.
    const c = new Cursors();
    const out: ChatEvent[] = [];
    expect(c.onEvent(ev(1, 5), out)).not.toBeNull();
    expect(c.onFill(1n, [], out)).toBeNull();
    expect(seqs(out)).toEqual([5]);
    // A failed fill behaves the same.
    expect(c.onEvent(ev(1, 9), out)).not.toBeNull();
    expect(c.onFillFailed(1n, out)).toBeNull();
    expect(seqs(out)).toEqual([5, 9]);
    expect(c.fillsInFlight()).toBe(0);
  });

  it('does not skip a hole that live events closed during the fill', () => {
    const c = new Cursors([[1n, 2n]]);
    const out: ChatEvent[] = [];
    expect(c.onEvent(ev(1, 5), out)).toEqual({ chatId: 1n, fromSeq: 2n, limit: 2 });
    for (const s of [3, 4, 8]) expect(c.onEvent(ev(1, s), out)).toBeNull();
    expect(seqs(out)).toEqual([3, 4, 5]);
    // The stale answer brings nothing new, yet 6 and 7 must still be fetched, not skipped.
    expect(c.onFill(1n, evs(1, 3, 4), out)).toEqual({ chatId: 1n, fromSeq: 5n, limit: 2 });
    expect(c.onFill(1n, evs(1, 6, 7), out)).toBeNull();
    expect(seqs(out)).toEqual([3, 4, 5, 6, 7, 8]);
  });

  it('fills two holes one after the other', () => {
    const c = new Cursors();
    const out: ChatEvent[] = [];
    expect(c.onEvent(ev(1, 3), out)).toEqual({ chatId: 1n, fromSeq: 0n, limit: 2 });
    expect(c.onEvent(ev(1, 6), out)).toBeNull();
    expect(c.onFill(1n, evs(1, 1, 2), out)).toEqual({ chatId: 1n, fromSeq: 3n, limit: 2 });
    expect(c.onFill(1n, evs(1, 4, 6), out)).toBeNull();
    expect(seqs(out)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('keeps chats independent', () => {
    const c = new Cursors();
    const out: ChatEvent[] = [];
    expect(c.onEvent(ev(1, 2), out)).not.toBeNull();
    expect(c.onEvent(ev(2, 1), out)).toBeNull();
    expect(seqs(out)).toEqual([1]);
    expect(out[0]!.chatId).toBe(2n);
    // A fill answer for another chat's events is ignored.
    expect(c.onFill(1n, [ev(2, 2)], out)).toBeNull();
    expect(c.get(2n)).toBe(1n);
  });

  it('bounds held events and fetches the rest again', () => {
    const c = new Cursors();
    const out: ChatEvent[] = [];
    const n = MAX_HELD_PER_CHAT + 100;
    expect(c.onEvent(ev(1, 2), out)).not.toBeNull();
    for (let s = 3; s <= n + 1; s++) expect(c.onEvent(ev(1, s), out)).toBeNull();
    expect(c.heldCount(1n)).toBe(MAX_HELD_PER_CHAT);
    // Seq 1 arrives; held events come out, then the dropped tail is fetched.
    const fill = c.onFill(1n, [ev(1, 1)], out)!;
    expect(fill.fromSeq).toBe(BigInt(MAX_HELD_PER_CHAT + 1));
    expect(c.onFill(1n, evs(1, Number(fill.fromSeq) + 1, n + 1), out)).toBeNull();
    expect(seqs(out)).toEqual(Array.from({ length: n + 1 }, (_, i) => i + 1));
  });

  it('forgets held events on reset but keeps the cursors', () => {
    const c = new Cursors([[1n, 1n]]);
    const out: ChatEvent[] = [];
    expect(c.onEvent(ev(1, 4), out)).not.toBeNull();
    c.resetGaps();
    expect([c.get(1n), c.fillsInFlight()]).toEqual([1n, 0]);
    // After the reconnect the sync resends 2, 3, 4 in order.
    for (const s of [2, 3, 4]) expect(c.onEvent(ev(1, s), out)).toBeNull();
    expect(seqs(out)).toEqual([2, 3, 4]);
  });

  it('lists joined chats with history in Sync, within one frame', () => {
    const c = new Cursors([[1n, 5n], [2n, 0n], [3n, 9n]]);
    c.setLeft(3n, true);
    expect(c.forSync()).toEqual([[1n, 5n]]);
    c.setLeft(3n, false);
    expect(c.forSync()).toEqual([[1n, 5n], [3n, 9n]]);
    expect(c.snapshot()).toEqual([[1n, 5n], [2n, 0n], [3n, 9n]]);

    const many = new Cursors(Array.from({ length: MAX_SYNC_CURSORS + 10 }, (_, i): [bigint, bigint] => [BigInt(i + 1), BigInt(i + 1)]));
    const v = many.forSync();
    expect(v.length).toBe(MAX_SYNC_CURSORS);
    expect(v[0]).toEqual([11n, 11n]); // the chats with the least history are left out
    expect(encode.sync(1n, v).length).toBeLessThanOrEqual(MAX_CLIENT_FRAME_BYTES);
  });
});
