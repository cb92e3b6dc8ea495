// The store against a fake client and fake-indexeddb: folding events into chats and messages,
// optimistic sends confirmed without duplicates, failures and retries, unread counts, the chat
// order, the cache a reload starts from, and sign-out/revocation forgetting everything.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { DEFAULT_SETTINGS, MemoryOutboxStore, type Account, type ChatEvent, type ClientEvent, type ChatSummary, type ConnectionState, type Receipt, type SendAck } from '@magpie/client';
import { describe, expect, it } from 'vitest';
import { ChatStore, mergeMessages, type ClientLike, type ClientSpec, type Env } from '../../src/store/store.js';
import type { MessageRow } from '../../src/store/types.js';

const ME: Account = { userId: 1n, deviceId: 10n, username: 'alice' };

class FakeClient implements Partial<ClientLike> {
  sends: Array<{ chatId: bigint; id: string; content: string; resolve: (a: SendAck) => void; reject: (e: Error) => void }> = [];
  history: ClientLike['history'] = async (chatId) => ({ chatId, events: [], hasMore: false, states: [] });
  loggedOut = false;
  constructor(readonly spec: ClientSpec) {}
  token = 'tok-1';
  state: ConnectionState = { phase: 'live' };
  async connect(): Promise<Account> {
    return ME;
  }
  async close(): Promise<void> {}
  cursors(): Array<[bigint, bigint]> {
    return this.seen;
  }
  seen: Array<[bigint, bigint]> = [];
  sendWithId(chatId: bigint, id: string, content: string): Promise<SendAck> {
    return new Promise((resolve, reject) => this.sends.push({ chatId, id, content, resolve, reject }));
  }
  async logout(): Promise<void> {
    this.loggedOut = true;
  }
  async listChats() {
    return [];
  }
  /** What ListChats answers. */
  summaries: ChatSummary[] = [];
  async listChatsBy() {
    return { chats: this.summaries, hasMore: false };
  }
  async getUsers(ids: readonly bigint[]) {
    return ids.map((userId) => ({ userId, username: `u${userId}` }));
  }
  marks: Array<[bigint, bigint, bigint]> = [];
  async markReceipts(chatId: bigint, deliveredSeq: bigint, readSeq: bigint): Promise<Receipt> {
    this.marks.push([chatId, deliveredSeq, readSeq]);
    return { chatId, userId: ME.userId, deliveredSeq, readSeq, readHidden: false };
  }
  emit(e: ClientEvent): void {
    if (e.type === 'event') this.seen = [[e.event.chatId, e.event.seq]];
    this.spec.onEvent(e);
  }
}

function setup(storage = new Map<string, string>(), idb = new IDBFactory()) {
  const clients: FakeClient[] = [];
  const outbox = new MemoryOutboxStore();
  let n = 0;
  const env: Env = {
    createClient: (spec) => {
      const c = new FakeClient(spec);
      clients.push(c);
      return c as unknown as ClientLike;
    },
    openOutbox: async () => outbox,
    storage: { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => void storage.set(k, v), removeItem: (k) => void storage.delete(k) },
    indexedDB: idb,
    newId: () => `id${++n}`,
    now: () => 1000,
  };
  return { store: new ChatStore(env), clients, storage, idb, outbox };
}

const ev = (chatId: bigint, seq: bigint, senderId: bigint, kind: ChatEvent['kind'], timeMs = Number(seq) * 1000): ClientEvent => ({
  type: 'event',
  event: { chatId, seq, senderId, senderDeviceId: 1n, timeMs, kind },
});
const msg = (chatId: bigint, seq: bigint, sender: bigint, content: string, clientMsgId = `m${chatId}-${seq}`) =>
  ev(chatId, seq, sender, { type: 'message', messageId: seq, clientMsgId, content, replyTo: null, forwarded: null, mentions: [], mentionAll: false, attachment: null, deleted: false });
const created = (chatId: bigint, title: string, members: bigint[]) =>
  ev(chatId, 1n, members[0]!, {
    type: 'chatCreated', chatKind: 'group', title, members: members.map((userId, i) => ({ userId, role: i === 0 ? ('owner' as const) : ('member' as const), sinceSeq: 1n })),
    description: '', handle: '', settings: { ...DEFAULT_SETTINGS },
  });

const settle = () => new Promise((r) => setTimeout(r, 60));

describe('ChatStore', () => {
  it('folds events into chats ordered by activity, with previews and unread counts', async () => {
    const { store, clients } = setup();
    await store.signIn('register', 'alice', 'pw');
    const c = clients[0]!;
    c.emit(created(7n, 'Seven', [1n, 2n]));
    c.emit(created(8n, 'Eight', [1n, 3n]));
    c.emit(msg(7n, 2n, 2n, 'hello from two', 'a'));
    expect(store.chatList.value.map((x) => x.title)).toEqual(['Seven', 'Eight']);
    const seven = store.chats.value.get('7')!;
    expect(seven.lastPreview).toBe('hello from two');
    expect(seven.unread).toBe(1);
    expect(seven.members).toEqual(['1', '2']);
    // Opening it does not read it: the list showing the message does. Own messages never count.
    store.open('7');
    expect(store.chats.value.get('7')!.unread).toBe(1);
    store.markSeen('7', 2);
    expect(store.chats.value.get('7')!.unread).toBe(0);
    c.emit(msg(8n, 2n, 1n, 'mine'));
    expect(store.chats.value.get('8')!.unread).toBe(0);
    expect(store.chatList.value[0]!.title).toBe('Eight');
    // Member changes fold, and removal of this user marks the chat left.
    c.emit(ev(8n, 3n, 3n, { type: 'memberRemoved', userId: 1n, left: false }));
    expect(store.chats.value.get('8')!.left).toBe(true);
  });

  it('sends optimistically and confirms without a duplicate, whichever of ack and event comes first', async () => {
    const { store, clients } = setup();
    await store.signIn('login', 'alice', 'pw');
    const c = clients[0]!;
    c.emit(created(7n, 'Seven', [1n, 2n]));
    const list = store.messages('7');
    await settle();
    const id = store.send('7', 'hi there  ');
    expect(list.value.at(-1)).toMatchObject({ content: 'hi there', state: 'sending' });
    expect(c.sends[0]).toMatchObject({ id, content: 'hi there' });
    // The event first, then the ack.
    c.emit(msg(7n, 2n, 1n, 'hi there', id));
    c.sends[0]!.resolve({ chatId: 7n, clientMsgId: id, messageId: 5n, seq: 2n, timeMs: 2000 });
    await settle();
    expect(list.value.filter((m) => !m.notice).map((m) => [m.content, m.state])).toEqual([['hi there', 'sent']]);
    // The ack first, then the event.
    const id2 = store.send('7', 'second');
    c.sends[1]!.resolve({ chatId: 7n, clientMsgId: id2, messageId: 6n, seq: 3n, timeMs: 3000 });
    await settle();
    c.emit(msg(7n, 3n, 1n, 'second', id2));
    expect(list.value.filter((m) => !m.notice).map((m) => m.content)).toEqual(['hi there', 'second']);
    // Blank messages are not sent.
    expect(store.send('7', '  \n ')).toBe('');
  });

  it('marks a refused send failed and sends it again with the same id on retry', async () => {
    const { store, clients } = setup();
    await store.signIn('login', 'alice', 'pw');
    const c = clients[0]!;
    const id = store.send('7', 'oops');
    c.sends[0]!.reject(new Error('forbidden'));
    await settle();
    expect(store.messages('7').value.at(-1)!.state).toBe('failed');
    store.retry('7', id);
    expect(store.messages('7').value.at(-1)!.state).toBe('sending');
    expect(c.sends[1]).toMatchObject({ id, content: 'oops' });
  });

  it('restores chats, messages, cursors and the token from the cache after a reload', async () => {
    const first = setup();
    await first.store.signIn('register', 'alice', 'pw');
    const c = first.clients[0]!;
    c.emit(created(7n, 'Seven', [1n, 2n]));
    c.emit(msg(7n, 2n, 2n, 'kept'));
    await settle();
    await first.store.flush();
    expect(first.storage.get('magpie.token')).toBe('tok-1');

    const second = setup(first.storage, first.idb);
    expect(await second.store.restore()).toBe(true);
    expect(second.store.chats.value.get('7')!.title).toBe('Seven');
    // The client resumes from the saved cursors with the saved token.
    expect(second.clients[0]!.spec.credentials).toEqual({ kind: 'token', token: 'tok-1' });
    expect(second.clients[0]!.spec.cursors).toEqual([[7n, 2n]]);
    const list = second.store.messages('7');
    await settle();
    expect(list.value.map((m) => m.content).filter(Boolean)).toEqual(['kept']);
  });

  it('after a reload, marks delivered what it holds and the server does not know it received', async () => {
    const first = setup();
    await first.store.signIn('register', 'alice', 'pw');
    const c = first.clients[0]!;
    c.emit(created(7n, 'Seven', [1n, 2n]));
    c.emit(msg(7n, 2n, 2n, 'one'));
    c.emit(msg(7n, 3n, 2n, 'two'));
    // Reloaded before the coalesced receipt went out: the server has delivered 1 only.
    await first.store.flush();
    const second = setup(first.storage, first.idb);
    const summary = (deliveredSeq: bigint): ChatSummary => ({
      chatId: 7n, kind: 'group', title: 'Seven', lastSeq: 3n, memberCount: 2, lastMessage: null, lastActivityMs: 3000, state: { mutedUntilMs: 0, pinRank: 0n, archived: false, markedUnread: false },
      myRole: 'member', unreadCount: 2, unreadMentions: 0, avatarRef: '', handle: '', readSeq: 0n, deliveredSeq, peerDeliveredSeq: 0n, peerReadSeq: 0n,
    });
    expect(await second.store.restore()).toBe(true);
    const client = second.clients[0]!;
    client.summaries = [summary(1n)];
    client.emit({ type: 'syncDone', chats: 1, events: 0n });
    await settle();
    expect(client.marks).toEqual([[7n, 3n, 0n]]);
    expect(second.store.chats.value.get('7')!.unread).toBe(2);
  });

  it('loads older history from the server page by page and keeps it in the cache', async () => {
    const { store, clients } = setup();
    await store.signIn('login', 'alice', 'pw');
    const c = clients[0]!;
    const asked: bigint[] = [];
    // The chat has seqs 1..150 on the server; pages of 100 going back from the oldest held.
    c.history = async (chatId, fromSeq, _dir, limit = 50) => {
      asked.push(fromSeq);
      const top = fromSeq === 0n ? 151n : fromSeq;
      const lo = top - BigInt(limit) > 1n ? top - BigInt(limit) : 1n;
      const events: ChatEvent[] = [];
      for (let s = lo; s < top; s++) events.push((msg(chatId, s, 2n, `h${s}`) as Extract<ClientEvent, { type: 'event' }>).event);
      return { chatId, events, hasMore: lo > 1n, states: [] };
    };
    const list = store.messages('7');
    await settle();
    expect(asked).toEqual([0n]);
    expect(list.value.map((m) => m.seq)).toEqual(Array.from({ length: 100 }, (_, i) => 51 + i));
    expect(store.hasOlder('7')).toBe(true);
    await store.loadOlder('7');
    expect(asked).toEqual([0n, 51n]);
    expect(list.value).toHaveLength(150);
    expect(store.hasOlder('7')).toBe(false);
    await store.loadOlder('7');
    expect(asked).toHaveLength(2);
  });

  it('a revoked device forgets the account at once', async () => {
    const { store, clients, storage, idb } = setup();
    await store.signIn('register', 'alice', 'pw');
    clients[0]!.emit(created(7n, 'Seven', [1n, 2n]));
    await settle();
    clients[0]!.emit({ type: 'closed', reason: { code: 16, name: 'revoked', message: 'revoked' } });
    await settle();
    expect(store.session.value).toBe('signedOut');
    expect(store.notice.value).toMatch(/signed out/);
    expect(store.chats.value.size).toBe(0);
    expect(storage.has('magpie.token')).toBe(false);
    // Nothing to restore from.
    const again = setup(storage, idb);
    expect(await again.store.restore()).toBe(false);
  });

  it('signs out through the server and clears the session', async () => {
    const { store, clients, storage } = setup();
    await store.signIn('register', 'alice', 'pw');
    await store.signOut();
    expect(clients[0]!.loggedOut).toBe(true);
    expect(store.session.value).toBe('signedOut');
    expect(storage.size).toBe(0);
  });
});

describe('mergeMessages', () => {
  const row = (seq: number, state: MessageRow['state'] = 'sent', clientMsgId = `c${seq}`): MessageRow => ({ chatId: '1', seq, clientMsgId, senderId: '1', timeMs: seq, content: `m${seq}`, state });
  it('orders by seq, drops duplicates and keeps pending rows last', () => {
    const pending = row(Number.MAX_SAFE_INTEGER, 'sending', 'p');
    const merged = mergeMessages([row(3), row(1), pending], [row(2), row(3), row(0 + 5)]);
    expect(merged.map((m) => m.seq)).toEqual([1, 2, 3, 5, Number.MAX_SAFE_INTEGER]);
    // The confirmed twin of a pending row replaces it.
    expect(mergeMessages(merged, [{ ...row(6), clientMsgId: 'p' }]).map((m) => m.clientMsgId)).toEqual(['c1', 'c2', 'c3', 'c5', 'p']);
  });
});
