// The store's receipts, typing and presence (PROTOCOL.md §6.15) against a fake client: delivered
// and read cursors sent as events arrive and are seen, ticks from the peer's cursors (hidden when
// read receipts are off), typing shown until stopped or expired, composing rate-limited.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, MemoryOutboxStore, type Account, type ChatEvent, type ClientEvent, type ConnectionState, type Receipt, type TypingKind } from '@magpie/client';
import { ChatStore, tickOf, presenceText, type ClientLike, type ClientSpec, type Env } from '../../src/store/store.js';
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
  async watchPresence(userIds: readonly bigint[]) {
    this.watched.push([...userIds]);
    return { users: userIds.map((userId) => ({ userId, status: 'online' as const, lastSeenMs: 0 })), chats: [] };
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
  const clock = { now: 1000 };
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
  it('marks events delivered as they arrive, and read once the chat is open and visible', async () => {
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
    expect(client.watched.at(-1)).toEqual([2n]);
    expect(presenceText(store.presence.value.get('2'), 0)).toBe('online');
    expect(presenceText({ status: 'offline', lastSeenMs: 0 }, 0)).toBe('offline');
    expect(presenceText({ status: 'unknown', lastSeenMs: 0 }, 0)).toBe('');
  });
});
