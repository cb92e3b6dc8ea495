// The store's receipts, typing and presence (PROTOCOL.md §6.15) against a fake client: delivered
// and read cursors sent as events arrive and are seen, ticks from the peer's cursors (hidden when
// read receipts are off), typing shown until stopped or expired, composing rate-limited.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, MemoryOutboxStore, type Account, type ChatEvent, type ClientEvent, type ConnectionState, type Receipt, type ReceiptList, type TypingKind } from '@magpie/client';
import { ChatStore, tickOf, presenceText, type ClientLike, type ClientSpec, type Env } from '../../src/store/store.js';
import { countsText, isLargeChat, othersCounts } from '../../src/store/receipt-counts.js';
import type { MessageRow } from '../../src/store/types.js';

const ME: Account = { userId: 1n, deviceId: 10n, username: 'alice' };

class FakeClient implements Partial<ClientLike> {
  marks: Array<[bigint, bigint, bigint]> = [];
  typings: Array<[bigint, TypingKind]> = [];
  watched: bigint[][] = [];
  constructor(readonly spec: ClientSpec) {}
  token = 'tok';
  state: ConnectionState = { phase: 'live' };
  history: ClientLike['history'] = async (chatId) => ({ chatId, events: [], hasMore: false, states: [] });
  async connect(): Promise<Account> {
    return ME;
  }
  async close(): Promise<void> {}
  cursors(): Array<[bigint, bigint]> {
    return [];
  }
  async listChatsBy() {
    return { chats: [], hasMore: false };
  }
  async getUsers(ids: readonly bigint[]) {
    return ids.map((userId) => ({ userId, username: `u${userId}` }));
  }
  async markReceipts(chatId: bigint, deliveredSeq: bigint, readSeq: bigint): Promise<Receipt> {
    this.marks.push([chatId, deliveredSeq, readSeq]);
    return { chatId, userId: ME.userId, deliveredSeq, readSeq, readHidden: false };
  }
  async setTyping(chatId: bigint, kind: TypingKind): Promise<void> {
    this.typings.push([chatId, kind]);
  }
  watchedChats: bigint[][] = [];
  async watchPresence(userIds: readonly bigint[], chatIds: readonly bigint[] = []) {
    this.watched.push([...userIds]);
    this.watchedChats.push([...chatIds]);
    return { users: userIds.map((userId) => ({ userId, status: 'online' as const, lastSeenMs: 0 })), chats: [] };
  }
  presenceSets: Array<{ activity?: boolean; dnd?: boolean }> = [];
  async setPresence(opts: { activity?: boolean; dnd?: boolean }): Promise<void> {
    this.presenceSets.push(opts);
  }
  /** What GetReceipts answers (a large chat's: counts, no list). */
  receiptList: ReceiptList | null = null;
  async getReceipts(): Promise<ReceiptList> {
    return this.receiptList!;
  }
  async getPrivacy() {
    return { readReceipts: true, lastSeen: 'everyone' as const };
  }
  emit(e: ClientEvent): void {
    this.spec.onEvent(e);
  }
}

function setup() {
  const clients: FakeClient[] = [];
  const clock = { now: 1000, visible: true };
  const env: Env = {
    createClient: (spec) => {
      const c = new FakeClient(spec);
      clients.push(c);
      return c as unknown as ClientLike;
    },
    openOutbox: async () => new MemoryOutboxStore(),
    storage: { getItem: () => null, setItem: () => {}, removeItem: () => {} },
    indexedDB: new IDBFactory(),
    newId: () => 'id',
    now: () => clock.now,
    visible: () => clock.visible,
  };
  return { store: new ChatStore(env), clients, clock };
}

const ev = (chatId: bigint, seq: bigint, senderId: bigint, kind: ChatEvent['kind']): ClientEvent => ({ type: 'event', event: { chatId, seq, senderId, senderDeviceId: 1n, timeMs: Number(seq) * 1000, kind } });
const msg = (chatId: bigint, seq: bigint, sender: bigint, content: string) =>
  ev(chatId, seq, sender, { type: 'message', messageId: seq, clientMsgId: `m${seq}`, content, replyTo: null, forwarded: null, mentions: [], mentionAll: false, attachment: null, deleted: false });
const direct = (chatId: bigint, peer: bigint) =>
  ev(chatId, 1n, ME.userId, { type: 'chatCreated', chatKind: 'direct', title: '', members: [ME.userId, peer].map((userId) => ({ userId, role: 'member' as const, sinceSeq: 1n })), description: '', handle: '', settings: { ...DEFAULT_SETTINGS } });
const settle = (ms = 60) => new Promise((r) => setTimeout(r, ms));
const row = (seq: number): MessageRow => ({ chatId: '7', seq, clientMsgId: '', senderId: '1', timeMs: 0, content: 'x', state: 'sent' });

async function signedIn() {
  const t = setup();
  await t.store.signIn('login', 'alice', 'pw');
  await settle();
  return { ...t, client: t.clients[0]! };
}

describe('receipts in the store', () => {
  it('marks events delivered as they arrive, and read once the open chat shows them', async () => {
    const { store, client, clock } = await signedIn();
    client.emit(direct(7n, 2n));
    client.emit(msg(7n, 2n, 2n, 'hi'));
    await settle();
    // Coalesced: one MarkReceipts for both events, delivered only (the chat is not open).
    expect(client.marks).toEqual([[7n, 2n, 0n]]);
    expect(store.chats.value.get('7')!.unread).toBe(1);
    // At most one per second per chat: the read waits for the next slot.
    clock.now += 1000;
    store.open('7');
    store.markSeen('7', 2);
    await settle(1100);
    expect(client.marks.at(-1)).toEqual([7n, 0n, 2n]);
    expect(store.chats.value.get('7')!.unread).toBe(0);
    // The divider goes after what was read when it was opened.
    expect(store.unreadMark.value.get('7')).toBe(0);
  });

  it('ticks follow the peer cursors; read receipts off hides the read ones', async () => {
    const { store, client } = await signedIn();
    client.emit(direct(7n, 2n));
    client.emit(msg(7n, 2n, 1n, 'mine'));
    const chat = () => store.chats.value.get('7')!;
    expect(tickOf(chat(), row(2))).toBe('sent');
    client.emit({ type: 'receipt', receipt: { chatId: 7n, userId: 2n, deliveredSeq: 2n, readSeq: 0n, readHidden: false } });
    expect(tickOf(chat(), row(2))).toBe('delivered');
    client.emit({ type: 'receipt', receipt: { chatId: 7n, userId: 2n, deliveredSeq: 2n, readSeq: 2n, readHidden: false } });
    expect(tickOf(chat(), row(2))).toBe('read');
    // A lower value later is no news; a hidden one takes the read ticks away.
    client.emit({ type: 'receipt', receipt: { chatId: 7n, userId: 2n, deliveredSeq: 1n, readSeq: 1n, readHidden: false } });
    expect(tickOf(chat(), row(2))).toBe('read');
    client.emit({ type: 'receipt', receipt: { chatId: 7n, userId: 2n, deliveredSeq: 2n, readSeq: 0n, readHidden: true } });
    expect(tickOf(chat(), row(2))).toBe('delivered');
    // Own cursors from another device clear the unread count.
    client.emit(msg(7n, 3n, 2n, 'theirs'));
    expect(chat().unread).toBe(1);
    client.emit({ type: 'receipt', receipt: { chatId: 7n, userId: 1n, deliveredSeq: 3n, readSeq: 3n, readHidden: false } });
    expect(chat().unread).toBe(0);
  });

  it('typing shows until stopped, the typist\'s message, or expiry; own pushes are ignored', async () => {
    const { store, client } = await signedIn();
    client.emit(direct(7n, 2n));
    client.emit({ type: 'typing', typing: { chatId: 7n, userId: 1n, kind: 'typing', expiresInMs: 3000 } });
    expect(store.typing.value.get('7')).toBeUndefined();
    client.emit({ type: 'typing', typing: { chatId: 7n, userId: 2n, kind: 'typing', expiresInMs: 3000 } });
    expect(store.typing.value.get('7')?.get('2')?.kind).toBe('typing');
    client.emit({ type: 'typing', typing: { chatId: 7n, userId: 2n, kind: 'stopped', expiresInMs: 3000 } });
    expect(store.typing.value.get('7')).toBeUndefined();
    client.emit({ type: 'typing', typing: { chatId: 7n, userId: 2n, kind: 'recordingVoice', expiresInMs: 3000 } });
    client.emit(msg(7n, 2n, 2n, 'voice note'));
    expect(store.typing.value.get('7')).toBeUndefined();
    client.emit({ type: 'typing', typing: { chatId: 7n, userId: 2n, kind: 'typing', expiresInMs: 30 } });
    expect(store.typing.value.get('7')?.size).toBe(1);
    await settle(80);
    expect(store.typing.value.get('7')).toBeUndefined();
  });

  it('composing says typing at most every 2.5 s, and stopped when the text is gone', async () => {
    const { store, client, clock } = await signedIn();
    client.emit(direct(7n, 2n));
    store.connection.value = 'live';
    store.composing('7', true);
    store.composing('7', true);
    await settle();
    expect(client.typings).toEqual([[7n, 'typing']]);
    clock.now += 2500;
    store.composing('7', true);
    store.composing('7', false);
    store.composing('7', false);
    await settle();
    expect(client.typings).toEqual([[7n, 'typing'], [7n, 'typing'], [7n, 'stopped']]);
  });

  it('watches the direct chats\' peers and shows their presence', async () => {
    const { store, client } = await signedIn();
    client.emit(direct(7n, 2n));
    store.open('7');
    await settle(200);
    // This user too (their own do-not-disturb), and no chat counts for a direct chat.
    expect(client.watched.at(-1)).toEqual([1n, 2n]);
    expect(client.watchedChats.at(-1)).toEqual([]);
    expect(presenceText(store.presence.value.get('2'), 0)).toBe('online');
    expect(presenceText({ status: 'offline', lastSeenMs: 0 }, 0)).toBe('offline');
    expect(presenceText({ status: 'unknown', lastSeenMs: 0 }, 0)).toBe('');
  });
});

/** A direct chat with `n` unread messages from the peer (seqs 2..n+1), its rows loaded. */
async function unreadChat(n: number) {
  const t = await signedIn();
  t.store.messages('7');
  await settle();
  t.client.emit(direct(7n, 2n));
  for (let i = 0; i < n; i++) t.client.emit(msg(7n, BigInt(i + 2), 2n, `line ${i + 1}`));
  await settle();
  return t;
}

describe('read as seen (not on open)', () => {
  it('opening a chat with unread messages marks nothing; the cursor moves to the newest row seen', async () => {
    const { store, client, clock } = await unreadChat(10);
    const chat = () => store.chats.value.get('7')!;
    expect(chat().unread).toBe(10);
    const before = client.marks.length;
    store.open('7');
    await settle(1100);
    expect(client.marks.length).toBe(before);
    expect(chat().unread).toBe(10);
    expect(store.unreadMark.value.get('7')).toBe(0);
    // Rows up to seq 5 shown: four of them read, the count follows at once.
    clock.now += 1000;
    store.markSeen('7', 5);
    expect(chat().readSeq).toBe(5);
    expect(chat().unread).toBe(6);
    await settle(60);
    expect(client.marks.at(-1)).toEqual([7n, 0n, 5n]);
    // Never back; never past what this device holds (seq 11).
    store.markSeen('7', 3);
    expect(chat().readSeq).toBe(5);
    clock.now += 1000;
    store.markSeen('7', 99);
    expect(chat().readSeq).toBe(11);
    expect(chat().unread).toBe(0);
    await settle(60);
    expect(client.marks.at(-1)).toEqual([7n, 0n, 11n]);
  });

  it('coalesces what is seen within a second into one receipt with the newest seq', async () => {
    const { store, client, clock } = await unreadChat(10);
    store.open('7');
    clock.now += 1000;
    store.markSeen('7', 3);
    await settle(60);
    const sent = client.marks.length;
    expect(client.marks.at(-1)).toEqual([7n, 0n, 3n]);
    // Scrolling on within the same second: nothing goes out yet…
    store.markSeen('7', 4);
    store.markSeen('7', 6);
    store.markSeen('7', 8);
    await settle(60);
    expect(client.marks.length).toBe(sent);
    // …then one MarkReceipts, with the newest of them.
    clock.now += 1000;
    await settle(1100);
    expect(client.marks.slice(sent)).toEqual([[7n, 0n, 8n]]);
  });

  it('marks nothing while the page is hidden, neither what is shown nor what arrives', async () => {
    const { store, client, clock } = await unreadChat(3);
    store.open('7');
    clock.visible = false;
    clock.now += 1000;
    const before = client.marks.length;
    store.markSeen('7', 4);
    expect(store.chats.value.get('7')!.unread).toBe(3);
    // At the newest, but hidden: a new message is unread (delivered only).
    store.following = true;
    client.emit(msg(7n, 5n, 2n, 'while away'));
    expect(store.chats.value.get('7')!.unread).toBe(4);
    await settle(1100);
    expect(client.marks.slice(before).every(([, , read]) => read === 0n)).toBe(true);
    // Back: what the list shows is read.
    clock.visible = true;
    clock.now += 1000;
    store.markSeen('7', 5);
    expect(store.chats.value.get('7')!.unread).toBe(0);
    await settle(60);
    expect(client.marks.at(-1)).toEqual([7n, 0n, 5n]);
  });

  it('a chat opened with nothing unread reads new messages as they arrive; one opened at its divider does not', async () => {
    const { store, client, clock } = await unreadChat(0);
    store.open('7');
    expect(store.following).toBe(true);
    expect(store.unreadMark.value.has('7')).toBe(false);
    clock.now += 1000;
    client.emit(msg(7n, 2n, 2n, 'live'));
    expect(store.chats.value.get('7')!.unread).toBe(0);
    expect(store.chats.value.get('7')!.readSeq).toBe(2);
    await settle(60);
    expect(client.marks.at(-1)).toEqual([7n, 2n, 2n]);
    // Elsewhere, two arrive; opened again it starts at them and a third is not read on arrival.
    store.open(null);
    client.emit(msg(7n, 3n, 2n, 'a'));
    client.emit(msg(7n, 4n, 2n, 'b'));
    store.open('7');
    expect(store.following).toBe(false);
    expect(store.unreadMark.value.get('7')).toBe(2);
    client.emit(msg(7n, 5n, 2n, 'c'));
    expect(store.chats.value.get('7')!.unread).toBe(3);
  });
});

/** A group (the events list two members; the chat's count comes from the server, set below). */
const large = (chatId: bigint): ClientEvent =>
  ev(chatId, 1n, ME.userId, { type: 'chatCreated', chatKind: 'group', title: 'Big', members: [ME.userId, 2n].map((userId) => ({ userId, role: userId === ME.userId ? ('owner' as const) : ('member' as const), sinceSeq: 1n })), description: '', handle: '', settings: { ...DEFAULT_SETTINGS } });

describe('large chats: read counts (§6.15)', () => {

  it('keeps the pushed counts of the newest message and reads them over the other members', async () => {
    const { store, client } = await signedIn();
    client.emit(large(9n));
    client.emit(msg(9n, 2n, ME.userId, 'hello all'));
    client.emit({ type: 'receiptCounts', counts: { chatId: 9n, seq: 2n, deliveredCount: 120, readCount: 31, memberCount: 300 } });
    expect(store.receiptCounts.value.get('9')).toEqual({ seq: 2, delivered: 120, read: 31, members: 300 });
    // Own message: this user is among them (it marked it read), so the others are one fewer.
    expect(store.othersOf('9', store.receiptCounts.value.get('9')!)).toEqual({ seq: 2, delivered: 119, read: 30, members: 299 });
    // An older message's counts arriving late do not replace the newer.
    client.emit({ type: 'receiptCounts', counts: { chatId: 9n, seq: 1n, deliveredCount: 300, readCount: 300, memberCount: 300 } });
    expect(store.receiptCounts.value.get('9')!.seq).toBe(2);
    client.emit({ type: 'receiptCounts', counts: { chatId: 9n, seq: 2n, deliveredCount: 150, readCount: 40, memberCount: 300 } });
    expect(store.receiptCounts.value.get('9')!.read).toBe(40);
  });

  it('"read by" of a large chat is counts over the others, no lists', async () => {
    const { store, client } = await signedIn();
    client.emit(large(9n));
    client.emit(msg(9n, 2n, ME.userId, 'hello all'));
    client.receiptList = { chatId: 9n, seq: 2n, deliveredCount: 12, readCount: 5, memberCount: 400, receipts: [] };
    const r = await store.receipts('9', 2);
    expect(r).toEqual({ readBy: [], deliveredTo: [], deliveredCount: 11, readCount: 4, memberCount: 400, receipts: 'counts' });
    // The same counts feed the line under the message.
    expect(store.receiptCounts.value.get('9')).toEqual({ seq: 2, delivered: 12, read: 5, members: 400 });
    // A small chat's answer lists people.
    client.emit(direct(7n, 2n));
    client.receiptList = { chatId: 7n, seq: 1n, deliveredCount: 1, readCount: 1, memberCount: 2, receipts: [{ userId: 2n, deliveredSeq: 1n, readSeq: 1n, readHidden: false }] };
    expect((await store.receipts('7', 1)).readBy).toEqual(['2']);
  });

  it('words the counts, without reads when read receipts are off', () => {
    expect(countsText({ seq: 2, delivered: 12, read: 5, members: 299 }, true)).toBe('Seen by 5 · delivered to 12 of 299');
    expect(countsText({ seq: 2, delivered: 12, read: 0, members: 299 }, false)).toBe('Delivered to 12 of 299');
    expect(othersCounts({ seq: 2, delivered: 0, read: 0, members: 1 }, { delivered: true, read: true })).toEqual({ seq: 2, delivered: 0, read: 0, members: 0 });
    expect(isLargeChat({ memberCount: 256 })).toBe(false);
    expect(isLargeChat({ memberCount: 257 })).toBe(true);
  });
});

describe('do not disturb and online counts (§6.15)', () => {
  it('turns do not disturb on and off, and shows the server\'s word about oneself', async () => {
    const { store, client } = await signedIn();
    client.emit(direct(7n, 2n));
    store.open('7');
    await settle(200);
    expect(store.myPresence()?.status).toBe('online');
    await store.setDnd(true);
    expect(client.presenceSets).toEqual([{ dnd: true }]);
    expect(store.myPresence()?.status).toBe('doNotDisturb');
    await store.setDnd(false);
    expect(client.presenceSets.at(-1)).toEqual({ dnd: false });
    expect(store.myPresence()?.status).toBe('online');
    // Set on another device: the push about oneself.
    client.emit({ type: 'presence', update: { users: [{ userId: 1n, status: 'doNotDisturb', lastSeenMs: 0 }], chats: [] } });
    expect(store.myPresence()?.status).toBe('doNotDisturb');
    client.emit({ type: 'presence', update: { users: [{ userId: 2n, status: 'doNotDisturb', lastSeenMs: 0 }], chats: [] } });
    expect(presenceText(store.presence.value.get('2'), 0)).toBe('do not disturb');
  });

  it('watches the open group for its online count and keeps the counts pushed', async () => {
    const { store, client } = await signedIn();
    client.emit(large(9n));
    store.open('9');
    await settle(200);
    expect(client.watchedChats.at(-1)).toEqual([9n]);
    client.emit({ type: 'presence', update: { users: [], chats: [{ chatId: 9n, online: 2, memberCount: 300 }] } });
    expect(store.chatOnline.value.get('9')).toEqual({ online: 2, memberCount: 300 });
    // Another chat open: that group is no longer watched.
    client.emit(direct(7n, 2n));
    store.open('7');
    await settle(200);
    expect(client.watchedChats.at(-1)).toEqual([]);
  });
});
