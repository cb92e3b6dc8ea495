// Receipts, presence and typing (PROTOCOL.md §6.15–6.16): every request's encoding, every reply
// and push decoded, and the pushes reaching the app as client events.
import { describe, expect, it } from 'vitest';
import { MagpieClient, type ClientEvent } from '../../src/client.js';
import { decodeFrame } from '../../src/decode.js';
import * as encode from '../../src/encode.js';
import { MagpieError } from '../../src/error.js';
import { ErrorCode } from '../../src/errors.js';
import * as fb from '../../src/generated/magpie/wire/fb.js';
import { FakeServer, type FakeConnection } from '../support/fake-transport.js';
import * as sf from '../support/server-frames.js';

const read = (bytes: Uint8Array) => sf.readClientFrame(bytes);
const body = <T>(bytes: Uint8Array, obj: T): T => read(bytes).frame.body(obj) as T;
const u64s = (n: number, at: (i: number) => bigint | null) => Array.from({ length: n }, (_, i) => at(i));
const reply = (bytes: Uint8Array) => {
  const r = decodeFrame(bytes);
  if (r instanceof MagpieError || r.kind !== 'reply') throw new Error(`not a reply: ${String(r)}`);
  return r.result;
};

describe('receipt, privacy, presence and typing requests', () => {
  it('MarkReceipts and GetReceipts', () => {
    const m = read(encode.markReceipts(3n, 9n, 12n, 10n));
    expect([m.requestId, m.type]).toEqual([3n, fb.Body.MarkReceipts]);
    const mb = m.frame.body(new fb.MarkReceipts()) as fb.MarkReceipts;
    expect([mb.chatId(), mb.deliveredSeq(), mb.readSeq()]).toEqual([9n, 12n, 10n]);
    const g = body(encode.getReceipts(4n, 9n, 5n), new fb.GetReceipts());
    expect([g.chatId(), g.seq()]).toEqual([9n, 5n]);
  });

  it('SetPrivacy names exactly the fields given; read_receipts false is written out', () => {
    const off = body(encode.setPrivacy(1n, { readReceipts: false }), new fb.SetPrivacy());
    expect([off.fields(), off.readReceipts()]).toEqual([1, false]);
    const ls = body(encode.setPrivacy(1n, { lastSeen: 'nobody' }), new fb.SetPrivacy());
    expect([ls.fields(), ls.lastSeen()]).toEqual([2, fb.LastSeenVisibility.Nobody]);
    const both = body(encode.setPrivacy(1n, { readReceipts: true, lastSeen: 'sharedChats' }), new fb.SetPrivacy());
    expect([both.fields(), both.readReceipts(), both.lastSeen()]).toEqual([3, true, fb.LastSeenVisibility.SharedChats]);
    expect(read(encode.getPrivacy(2n)).type).toBe(fb.Body.GetPrivacy);
  });

  it('SetPresence bits, WatchPresence lists, SetTyping kinds', () => {
    const act = body(encode.setPresence(1n, { activity: true }), new fb.SetPresence());
    expect([act.fields(), act.dnd()]).toEqual([1, false]);
    const dnd = body(encode.setPresence(1n, { dnd: true }), new fb.SetPresence());
    expect([dnd.fields(), dnd.dnd()]).toEqual([2, true]);
    const w = body(encode.watchPresence(1n, [4n, 5n], [9n]), new fb.WatchPresence());
    expect([u64s(w.userIdsLength(), (i) => w.userIds(i)), u64s(w.chatIdsLength(), (i) => w.chatIds(i))]).toEqual([[4n, 5n], [9n]]);
    const empty = body(encode.watchPresence(1n, [], []), new fb.WatchPresence());
    expect([empty.userIdsLength(), empty.chatIdsLength()]).toEqual([0, 0]);
    const kinds = (['stopped', 'typing', 'recordingVoice'] as const).map((k) => body(encode.setTyping(1n, 9n, k), new fb.SetTyping()).kind());
    expect(kinds).toEqual([fb.TypingKind.Stopped, fb.TypingKind.Typing, fb.TypingKind.RecordingVoice]);
  });
});

describe('receipt, privacy and presence replies and pushes', () => {
  it('ReceiptChanged and ReceiptList replies', () => {
    expect(reply(sf.receiptChanged(5n, 9n, 4n, 12n, 0n, true))).toEqual({ type: 'receipt', receipt: { chatId: 9n, userId: 4n, deliveredSeq: 12n, readSeq: 0n, readHidden: true } });
    expect(reply(sf.receiptList(5n, 9n, 3n, [2, 1, 3], [[4n, 6n, 6n, false], [7n, 3n, 0n, true]]))).toEqual({
      type: 'receiptList',
      list: {
        chatId: 9n, seq: 3n, deliveredCount: 2, readCount: 1, memberCount: 3,
        receipts: [{ userId: 4n, deliveredSeq: 6n, readSeq: 6n, readHidden: false }, { userId: 7n, deliveredSeq: 3n, readSeq: 0n, readHidden: true }],
      },
    });
  });

  it('Privacy and PresenceChanged replies, every status', () => {
    expect(reply(sf.privacy(5n, false, fb.LastSeenVisibility.SharedChats))).toEqual({ type: 'privacy', privacy: { readReceipts: false, lastSeen: 'sharedChats' } });
    const all = [fb.PresenceStatus.Unknown, fb.PresenceStatus.Offline, fb.PresenceStatus.Online, fb.PresenceStatus.Active, fb.PresenceStatus.Idle, fb.PresenceStatus.Away, fb.PresenceStatus.DoNotDisturb];
    const r = reply(sf.presenceChanged(5n, all.map((st, i) => [BigInt(i + 1), st, i === 1 ? 1_700_000_000_000n : 0n]), [[9n, 2, 5]]));
    expect(r).toEqual({
      type: 'presence',
      update: {
        users: ['unknown', 'offline', 'online', 'active', 'idle', 'away', 'doNotDisturb'].map((status, i) => ({ userId: BigInt(i + 1), status, lastSeenMs: i === 1 ? 1_700_000_000_000 : 0 })),
        chats: [{ chatId: 9n, online: 2, memberCount: 5 }],
      },
    });
  });

  it('pushes with request id 0 decode as pushes; TypingChanged is a push whatever its request id', () => {
    expect(decodeFrame(sf.receiptChanged(0n, 9n, 4n, 7n, 5n))).toEqual({ kind: 'receipt', receipt: { chatId: 9n, userId: 4n, deliveredSeq: 7n, readSeq: 5n, readHidden: false } });
    expect(decodeFrame(sf.receiptCounts(9n, 40n, 300, 120, 1000))).toEqual({ kind: 'receiptCounts', counts: { chatId: 9n, seq: 40n, deliveredCount: 300, readCount: 120, memberCount: 1000 } });
    expect(decodeFrame(sf.privacy(0n, true, fb.LastSeenVisibility.Nobody))).toEqual({ kind: 'privacy', privacy: { readReceipts: true, lastSeen: 'nobody' } });
    expect(decodeFrame(sf.presenceChanged(0n, [[4n, fb.PresenceStatus.Online, 0n]]))).toEqual({ kind: 'presence', update: { users: [{ userId: 4n, status: 'online', lastSeenMs: 0 }], chats: [] } });
    expect(decodeFrame(sf.typingChanged(9n, 4n, fb.TypingKind.Typing))).toEqual({ kind: 'typing', typing: { chatId: 9n, userId: 4n, kind: 'typing', expiresInMs: 3000 } });
    expect(decodeFrame(sf.typingChanged(9n, 4n, fb.TypingKind.RecordingVoice, 3000, 77n))).toMatchObject({ kind: 'typing', typing: { kind: 'recordingVoice' } });
    expect(decodeFrame(sf.typingChanged(9n, 4n, fb.TypingKind.Stopped))).toMatchObject({ kind: 'typing', typing: { kind: 'stopped' } });
    // A kind this build does not know is a frame that fails verification, not a wrong indicator.
    expect(decodeFrame(sf.typingChanged(9n, 4n, 9))).toBeInstanceOf(MagpieError);
  });

  it('ChatSummary carries the receipt cursors and unread counts', () => {
    const r = reply(sf.chatList(4n, [{ chatId: 2n, kind: fb.ChatKind.Direct, unreadCount: 3, unreadMentions: 1, readSeq: 5n, deliveredSeq: 8n, peerDeliveredSeq: 7n, peerReadSeq: 6n }, { chatId: 3n }]));
    expect(r).toMatchObject({
      type: 'chats',
      chats: [
        { chatId: 2n, unreadCount: 3, unreadMentions: 1, readSeq: 5n, deliveredSeq: 8n, peerDeliveredSeq: 7n, peerReadSeq: 6n },
        { chatId: 3n, unreadCount: 0, readSeq: 0n, deliveredSeq: 0n, peerDeliveredSeq: 0n, peerReadSeq: 0n },
      ],
    });
  });
});

// ------------------------------------------------------------------ the driver

async function live(): Promise<{ client: MagpieClient; conn: FakeConnection; events: ClientEvent[] }> {
  const server = new FakeServer();
  const events: ClientEvent[] = [];
  const client = new MagpieClient({ connector: server.connector, credentials: { kind: 'token', token: 'ab'.repeat(32) }, reconnect: { initialMs: 1, maxMs: 4, jitter: 0 }, onEvent: (e) => events.push(e) });
  void client.connect();
  const conn = await server.connection(0);
  const hello = await conn.expect(fb.Body.Hello);
  conn.push(sf.welcome(hello.requestId));
  const a = await conn.expect(fb.Body.Authenticate);
  conn.push(sf.authenticated(a.requestId, 5n, 6n, 'alice'));
  const sync = await conn.expect(fb.Body.Sync);
  conn.push(sf.syncDone(sync.requestId));
  return { client, conn, events };
}

describe('receipt, presence and typing calls (fake transport)', () => {
  it('markRead / markDelivered send one cursor and resolve with the cursors after', async () => {
    const { client, conn } = await live();
    const r = client.markRead(9n, 6n);
    const m = await conn.expect(fb.Body.MarkReceipts);
    const mb = m.frame.body(new fb.MarkReceipts()) as fb.MarkReceipts;
    expect([mb.chatId(), mb.deliveredSeq(), mb.readSeq()]).toEqual([9n, 0n, 6n]);
    conn.push(sf.receiptChanged(m.requestId, 9n, 5n, 6n, 6n));
    expect(await r).toEqual({ chatId: 9n, userId: 5n, deliveredSeq: 6n, readSeq: 6n, readHidden: false });
    const d = client.markDelivered(9n, 8n);
    const m2 = await conn.expect(fb.Body.MarkReceipts);
    const mb2 = m2.frame.body(new fb.MarkReceipts()) as fb.MarkReceipts;
    expect([mb2.deliveredSeq(), mb2.readSeq()]).toEqual([8n, 0n]);
    conn.push(sf.error(m2.requestId, ErrorCode.ReceiptOutOfRange, 'past the end'));
    await expect(d).rejects.toMatchObject({ code: ErrorCode.ReceiptOutOfRange, codeName: 'receipt_out_of_range' });
    await client.close();
  });

  it('getReceipts, setPrivacy, getPrivacy, setPresence, watchPresence, setTyping', async () => {
    const { client, conn } = await live();
    const g = client.getReceipts(9n, 3n);
    conn.push(sf.receiptList((await conn.expect(fb.Body.GetReceipts)).requestId, 9n, 3n, [1, 0, 2], [[4n, 3n, 0n, true]]));
    expect((await g).receipts).toEqual([{ userId: 4n, deliveredSeq: 3n, readSeq: 0n, readHidden: true }]);
    const sp = client.setPrivacy({ readReceipts: false });
    conn.push(sf.privacy((await conn.expect(fb.Body.SetPrivacy)).requestId, false, fb.LastSeenVisibility.Everyone));
    expect(await sp).toEqual({ readReceipts: false, lastSeen: 'everyone' });
    await expect(client.setPrivacy({})).rejects.toMatchObject({ kind: 'invalid_input' });
    const gp = client.getPrivacy();
    conn.push(sf.privacy((await conn.expect(fb.Body.GetPrivacy)).requestId, true, fb.LastSeenVisibility.Nobody));
    expect(await gp).toEqual({ readReceipts: true, lastSeen: 'nobody' });
    const pr = client.setPresence({ activity: true });
    conn.push(sf.ok((await conn.expect(fb.Body.SetPresence)).requestId));
    await pr;
    await expect(client.setPresence({})).rejects.toMatchObject({ kind: 'invalid_input' });
    const w = client.watchPresence([4n], [9n]);
    conn.push(sf.presenceChanged((await conn.expect(fb.Body.WatchPresence)).requestId, [[4n, fb.PresenceStatus.Offline, 1_700_000_000_000n]]));
    expect(await w).toEqual({ users: [{ userId: 4n, status: 'offline', lastSeenMs: 1_700_000_000_000 }], chats: [] });
    await expect(client.watchPresence(Array.from({ length: 257 }, (_, i) => BigInt(i + 1)))).rejects.toMatchObject({ kind: 'invalid_input' });
    const t = client.setTyping(9n, 'typing');
    const st = await conn.expect(fb.Body.SetTyping);
    conn.push(sf.error(st.requestId, ErrorCode.TypingRateLimited, 'slow down', 150));
    await expect(t).rejects.toMatchObject({ code: ErrorCode.TypingRateLimited, retryAfterMs: 150 });
    await client.close();
  });

  it('pushes reach the app as events, in order', async () => {
    const { client, conn, events } = await live();
    conn.push(sf.receiptChanged(0n, 9n, 4n, 7n, 5n));
    conn.push(sf.typingChanged(9n, 4n, fb.TypingKind.Typing));
    conn.push(sf.presenceChanged(0n, [[4n, fb.PresenceStatus.Active, 0n]], [[9n, 1, 2]]));
    conn.push(sf.privacy(0n, false, fb.LastSeenVisibility.Everyone));
    conn.push(sf.receiptCounts(9n, 40n, 3, 2, 300));
    const pushed = events.filter((e) => ['receipt', 'typing', 'presence', 'privacy', 'receiptCounts'].includes(e.type));
    expect(pushed).toEqual([
      { type: 'receipt', receipt: { chatId: 9n, userId: 4n, deliveredSeq: 7n, readSeq: 5n, readHidden: false } },
      { type: 'typing', typing: { chatId: 9n, userId: 4n, kind: 'typing', expiresInMs: 3000 } },
      { type: 'presence', update: { users: [{ userId: 4n, status: 'active', lastSeenMs: 0 }], chats: [{ chatId: 9n, online: 1, memberCount: 2 }] } },
      { type: 'privacy', privacy: { readReceipts: false, lastSeen: 'everyone' } },
      { type: 'receiptCounts', counts: { chatId: 9n, seq: 40n, deliveredCount: 3, readCount: 2, memberCount: 300 } },
    ]);
    await client.close();
  });
});
