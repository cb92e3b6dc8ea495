// Against a real engine over ws:// (PROTOCOL.md §6.15): receipt cursors and their pushes, "read
// by", unread counts, read receipts off, presence and typing over the control stream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import type { ClientEvent } from '../../src/client.js';
import { connected, register, type TestClient } from '../support/clients.js';
import { Engine } from '../support/engine.js';

let engine: Engine;
let alice: TestClient;
let bob: TestClient;
let carol: TestClient;
const opened: TestClient[] = [];

beforeAll(async () => {
  engine = await Engine.start();
  alice = await connected(engine, register('alice', 'laptop'));
  bob = await connected(engine, register('bob', 'phone'));
  carol = await connected(engine, register('carol'));
  opened.push(alice, bob, carol);
});

afterAll(async () => {
  for (const c of opened) await c.client.close();
  await engine?.dispose();
});

const id = (c: TestClient) => c.client.account!.userId;
/** Asks again until `ok` holds (the test's timeout bounds the wait). */
async function eventually<T>(ask: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  for (;;) {
    const v = await ask();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}
const pushes = <T extends ClientEvent['type']>(c: TestClient, type: T) => c.log.all.filter((e): e is Extract<ClientEvent, { type: T }> => e.type === type);

describe('receipts against a real engine', () => {
  it('direct chat: cursors move forward only, push to the sender, show in ChatSummary with unread counts', async () => {
    const chat = await alice.client.createDirect('bob');
    const a1 = await alice.client.send(chat.chatId, 'one');
    const a2 = await alice.client.send(chat.chatId, 'two');
    await bob.log.until(() => bob.log.messages(chat.chatId).length === 2);
    // Bob has not read anything: two unread for him, none for alice (her own messages).
    const bobRow = (await bob.client.listChats()).find((c) => c.chatId === chat.chatId)!;
    expect(bobRow).toMatchObject({ unreadCount: 2, readSeq: 0n });
    expect((await alice.client.listChats()).find((c) => c.chatId === chat.chatId)!.unreadCount).toBe(0);

    expect(await bob.client.markDelivered(chat.chatId, a2.seq)).toEqual({ chatId: chat.chatId, userId: id(bob), deliveredSeq: a2.seq, readSeq: 0n, readHidden: false });
    await alice.log.until(() => pushes(alice, 'receipt').some((e) => e.receipt.chatId === chat.chatId && e.receipt.deliveredSeq === a2.seq));
    // Reading implies delivery; a lower value later is ignored and the answer shows the stored one.
    expect(await bob.client.markRead(chat.chatId, a1.seq)).toMatchObject({ deliveredSeq: a2.seq, readSeq: a1.seq });
    expect(await bob.client.markRead(chat.chatId, a2.seq)).toMatchObject({ readSeq: a2.seq });
    expect(await bob.client.markRead(chat.chatId, a1.seq)).toMatchObject({ readSeq: a2.seq });
    await alice.log.until(() => pushes(alice, 'receipt').some((e) => e.receipt.userId === id(bob) && e.receipt.readSeq === a2.seq));

    const aliceRow = (await alice.client.listChats()).find((c) => c.chatId === chat.chatId)!;
    expect(aliceRow).toMatchObject({ peerDeliveredSeq: a2.seq, peerReadSeq: a2.seq });
    expect((await bob.client.listChats()).find((c) => c.chatId === chat.chatId)).toMatchObject({ unreadCount: 0, readSeq: a2.seq, deliveredSeq: a2.seq });

    await expect(bob.client.markRead(chat.chatId, a2.seq + 100n)).rejects.toMatchObject({ code: ErrorCode.ReceiptOutOfRange });
    await expect(carol.client.markRead(chat.chatId, 1n)).rejects.toMatchObject({ code: ErrorCode.ChatNotFound });
  });

  it('group: getReceipts lists read by and delivered to; read receipts off hides reads both ways', async () => {
    const group = await alice.client.createGroup('rx', [id(bob), id(carol)]);
    const m = await alice.client.send(group.chatId, 'who read this?');
    await bob.log.until(() => bob.log.messages(group.chatId).length === 1);
    await carol.log.until(() => carol.log.messages(group.chatId).length === 1);
    await bob.client.markRead(group.chatId, m.seq);
    await carol.client.markDelivered(group.chatId, m.seq);
    const list = await alice.client.getReceipts(group.chatId, m.seq);
    expect(list).toMatchObject({ chatId: group.chatId, seq: m.seq, deliveredCount: 2, readCount: 1, memberCount: 3 });
    expect(list.receipts).toEqual(
      [
        { userId: id(bob), deliveredSeq: m.seq, readSeq: m.seq, readHidden: false },
        { userId: id(carol), deliveredSeq: m.seq, readSeq: 0n, readHidden: false },
      ].sort((x, y) => (x.userId < y.userId ? -1 : 1)),
    );
    await expect(alice.client.getReceipts(group.chatId, 0n)).rejects.toMatchObject({ code: ErrorCode.ReceiptOutOfRange });

    // Bob turns read receipts off: alice sees his read hidden; bob sees nobody's reads.
    expect(await bob.client.getPrivacy()).toEqual({ readReceipts: true, lastSeen: 'everyone' });
    expect(await bob.client.setPrivacy({ readReceipts: false })).toEqual({ readReceipts: false, lastSeen: 'everyone' });
    // The answer comes before every chat of bob's has the new setting (see the report: the doc says
    // "at once"); wait until this one has it.
    const hidden = await eventually(() => alice.client.getReceipts(group.chatId, m.seq), (l) => l.readCount === 0);
    expect(hidden.receipts.find((r) => r.userId === id(bob))).toEqual({ userId: id(bob), deliveredSeq: m.seq, readSeq: 0n, readHidden: true });
    await carol.client.markRead(group.chatId, m.seq);
    const bobView = await bob.client.send(group.chatId, 'mine').then((ack) => ack);
    await carol.log.until(() => carol.log.messages(group.chatId).length === 2);
    await carol.client.markRead(group.chatId, bobView.seq);
    const forBob = await bob.client.getReceipts(group.chatId, bobView.seq);
    expect(forBob.readCount).toBe(0);
    expect(forBob.deliveredCount).toBe(1);
    expect(forBob.receipts.find((r) => r.userId === id(carol))).toMatchObject({ readSeq: 0n, readHidden: true });
    // Still his own: his cursor moves and his other views follow.
    expect(await bob.client.setPrivacy({ readReceipts: true })).toEqual({ readReceipts: true, lastSeen: 'everyone' });
    await eventually(() => alice.client.getReceipts(group.chatId, m.seq), (l) => l.readCount === 2);
    await expect(bob.client.setPrivacy({ lastSeen: 'nobody' })).resolves.toEqual({ readReceipts: true, lastSeen: 'nobody' });
    await bob.client.setPrivacy({ lastSeen: 'everyone' });
  });

  it('presence: watching a peer shows them online, then offline with last seen', async () => {
    const dave = await connected(engine, register('dave'));
    await alice.client.createDirect('dave');
    const seen = await alice.client.watchPresence([id(dave)]);
    expect(seen.users).toHaveLength(1);
    expect(seen.users[0]!.userId).toBe(id(dave));
    // The answer may still be the stored state; the live one follows as a push.
    const status = () => {
      const last = [seen, ...pushes(alice, 'presence').map((e) => e.update)].flatMap((u) => u.users.filter((x) => x.userId === id(dave))).at(-1);
      return last?.status;
    };
    await alice.log.until(() => status() === 'online' || status() === 'active');
    await dave.client.close();
    await alice.log.until(() => status() === 'offline');
    const off = pushes(alice, 'presence').flatMap((e) => e.update.users).filter((u) => u.userId === id(dave)).at(-1)!;
    expect(off.lastSeenMs).toBeGreaterThan(0);
    // Someone who shares no chat is not watched: Unknown.
    const stranger = await connected(engine, register('erin'));
    opened.push(stranger);
    const un = await alice.client.watchPresence([id(stranger)]);
    expect(un.users[0]).toMatchObject({ userId: id(stranger), status: 'unknown' });
    await alice.client.watchPresence([]);
    await expect(alice.client.setPresence({ activity: true })).resolves.toBeUndefined();
  });

  it('typing goes over the control stream: answered Ok, pushed to the other member and back to the typist', async () => {
    const chat = await alice.client.createDirect('bob');
    await alice.client.setTyping(chat.chatId, 'typing');
    await bob.log.until(() => pushes(bob, 'typing').some((e) => e.typing.chatId === chat.chatId && e.typing.userId === id(alice) && e.typing.kind === 'typing'));
    expect(pushes(bob, 'typing').find((e) => e.typing.chatId === chat.chatId)!.typing.expiresInMs).toBe(3000);
    await alice.log.until(() => pushes(alice, 'typing').some((e) => e.typing.chatId === chat.chatId && e.typing.userId === id(alice)));
    await alice.client.setTyping(chat.chatId, 'stopped');
    await bob.log.until(() => pushes(bob, 'typing').some((e) => e.typing.chatId === chat.chatId && e.typing.kind === 'stopped'));
    await expect(carol.client.setTyping(chat.chatId, 'typing')).rejects.toMatchObject({ code: ErrorCode.ChatNotFound });
    // The bucket: burst 10, then typing_rate_limited with a retry hint.
    const results = await Promise.allSettled(Array.from({ length: 14 }, () => alice.client.setTyping(chat.chatId, 'typing')));
    const limited = results.filter((r) => r.status === 'rejected');
    expect(limited.length).toBeGreaterThan(0);
    expect((limited[0] as PromiseRejectedResult).reason).toMatchObject({ code: ErrorCode.TypingRateLimited });
  });
});
