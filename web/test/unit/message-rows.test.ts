// Message features in the store: rows from message events, patches from the events about them
// (edits, deletions with their quotes, coalesced reactions, pins, live locations, hidden), and
// the sync contract: a stale list brought up to date by the events equals a fresh history page
// with its states — in memory, and in the cache a reload starts from.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { DEFAULT_SETTINGS, MemoryOutboxStore, type Account, type ChatEvent, type ClientEvent, type EventKind, type HistoryPage, type MessageKind, type MessageState, type SendAck, type SendOptions } from '@magpie/client';
import { describe, expect, it } from 'vitest';
import { applyPatches, messageRow, patchesOf, previewOf, withState } from '../../src/store/message-rows.js';
import { ChatStore, pageRows, type ClientLike, type Env } from '../../src/store/store.js';
import type { MessageRow } from '../../src/store/types.js';

const ME = 1n;
const BOB = 2n;
const CHAT = 7n;

function body(content: string, extra: Partial<MessageKind> = {}): MessageKind {
  return { type: 'message', messageId: 0n, clientMsgId: '', content, replyTo: null, forwarded: null, mentions: [], mentionAll: false, attachment: null, deleted: false, ...extra };
}
const at = (seq: number, sender: bigint, kind: EventKind): ChatEvent => ({ chatId: CHAT, seq: BigInt(seq), senderId: sender, senderDeviceId: 1n, timeMs: 1000 * seq, kind });
const msg = (seq: number, sender: bigint, content: string, extra: Partial<MessageKind> = {}) => at(seq, sender, body(content, { messageId: BigInt(100 + seq), clientMsgId: `c${seq}`, ...extra }));
const state = (seq: number, s: Partial<MessageState> = {}): MessageState => ({
  seq: BigInt(seq), event: null, editCount: 0, content: '', editedMs: 0, deleted: false, reactions: [], myReactions: [], pinned: false, location: null, hidden: false, chatId: 0n, ...s,
});

// A chat's story: five messages, then what happened to them.
const LIVE_UNTIL = 50_000;
const messages: ChatEvent[] = [
  at(1, ME, { type: 'chatCreated', chatKind: 'group', title: 'G', members: [{ userId: ME, role: 'owner', sinceSeq: 1n }, { userId: BOB, role: 'member', sinceSeq: 1n }], description: '', handle: '', settings: { ...DEFAULT_SETTINGS } }),
  msg(2, ME, 'my pasword is hunter2', { mentions: [BOB] }),
  msg(3, BOB, 'delete that!', { replyTo: { seq: 2n, messageId: 102n, senderId: ME, preview: 'my pasword is hunter2', deleted: false } }),
  msg(4, ME, '', { attachment: { type: 'location', location: { latitude: 1, longitude: 2, accuracyM: 10, label: 'Cafe', liveUntilMs: LIVE_UNTIL } } }),
  msg(5, BOB, 'lunch?'),
  msg(6, BOB, '', { attachment: { type: 'contact', contact: { name: 'Ana', phones: ['+1 555'], emails: [], userId: 0n } } }),
];
const later: ChatEvent[] = [
  at(7, ME, { type: 'messageEdited', targetSeq: 2n, content: 'my password is hunter2', mentions: [BOB] }),
  at(8, BOB, { type: 'reactionsChanged', messages: [{ seq: 5n, counts: [{ emoji: '👍', count: 2 }], toggles: [{ userId: ME, emoji: '👍', added: true }, { userId: BOB, emoji: '👍', added: true }] }, { seq: 2n, counts: [{ emoji: '😱', count: 1 }], toggles: [{ userId: BOB, emoji: '😱', added: true }] }] }),
  at(9, ME, { type: 'messagePinned', targetSeq: 5n, pinned: true }),
  at(10, ME, { type: 'liveLocationUpdated', targetSeq: 4n, latitude: 1.5, longitude: 2.5, accuracyM: 5, stopped: false }),
  at(11, ME, { type: 'messagesDeleted', seqs: [2n] }),
  at(12, BOB, { type: 'messageEdited', targetSeq: 5n, content: 'lunch at 1?', mentions: [] }),
  at(13, ME, { type: 'reactionsChanged', messages: [{ seq: 5n, counts: [{ emoji: '👍', count: 1 }, { emoji: '🍕', count: 1 }], toggles: [{ userId: ME, emoji: '👍', added: false }, { userId: ME, emoji: '🍕', added: true }] }] }),
  at(14, ME, { type: 'liveLocationUpdated', targetSeq: 4n, latitude: 1.6, longitude: 2.6, accuracyM: 4, stopped: true }),
];

/** What a fresh History read returns after all that: tombstones, erased quotes, and states. */
function freshPage(): HistoryPage {
  const events = messages.map((e) => {
    if (e.seq === 2n) return at(2, ME, body('', { messageId: 102n, clientMsgId: 'c2', deleted: true }));
    if (e.seq === 3n) return msg(3, BOB, 'delete that!', { replyTo: { seq: 2n, messageId: 102n, senderId: ME, preview: '', deleted: true } });
    return e;
  });
  return {
    chatId: CHAT, events: [...events, ...later], hasMore: false,
    states: [
      state(2, { deleted: true }),
      state(4, { location: { latitude: 1.6, longitude: 2.6, accuracyM: 4, label: 'Cafe', liveUntilMs: 14_000 } }),
      state(5, { editCount: 1, content: 'lunch at 1?', editedMs: 12_000, reactions: [{ emoji: '👍', count: 1 }, { emoji: '🍕', count: 1 }], myReactions: ['🍕'], pinned: true }),
    ],
  };
}

const rowsOf = (events: ChatEvent[]) => events.flatMap((e) => (e.kind.type === 'message' ? [messageRow(e, e.kind)] : []));
const byText = (rows: MessageRow[]) => rows.filter((r) => !r.notice);

describe('message rows', () => {
  it('carry a quote, a forward, mentions, a place and a contact as the events say', () => {
    const [two, three, four, , six] = rowsOf(messages);
    expect(two).toMatchObject({ seq: 2, content: 'my pasword is hunter2', mentions: ['2'] });
    expect(three!.replyTo).toEqual({ seq: 2, senderId: '1', preview: 'my pasword is hunter2', deleted: false });
    expect(four!.place).toEqual({ latitude: 1, longitude: 2, accuracyM: 10, label: 'Cafe', liveUntilMs: LIVE_UNTIL });
    expect(six!.contact).toEqual({ name: 'Ana', phones: ['+1 555'], emails: [], userId: '' });
    // A plain message has none of the optional fields.
    expect(Object.keys(rowsOf([msg(9, ME, 'plain')])[0]!).sort()).toEqual(['chatId', 'clientMsgId', 'content', 'senderId', 'seq', 'state', 'timeMs']);
    const fw = rowsOf([msg(9, ME, 'fw', { forwarded: { originalSenderId: BOB, originalTimeMs: 5, fromChatId: 0n, fromTitle: '' } })])[0]!;
    expect(fw.forwarded).toEqual({ senderId: '2', timeMs: 5, fromChatId: '', fromTitle: '' });
    expect(previewOf(four!)).toBe('📍 Live location');
    expect(previewOf(six!)).toBe('👤 Ana');
    expect(previewOf({ content: 'x', deleted: true })).toBe('Message deleted');
  });

  it('edits change the text and mark it edited; deletions leave tombstones and erase quotes', () => {
    let rows = rowsOf(messages);
    rows = applyPatches(rows, patchesOf(later[0]!, '1'));
    expect(rows[0]).toMatchObject({ content: 'my password is hunter2', editedMs: 7000 });
    rows = applyPatches(rows, patchesOf(later[4]!, '1'));
    expect(rows[0]).toEqual({ chatId: '7', seq: 2, clientMsgId: 'c2', senderId: '1', timeMs: 2000, content: '', state: 'sent', deleted: true });
    expect(rows[1]!.replyTo).toEqual({ seq: 2, senderId: '1', preview: '', deleted: true });
    // A late edit of a tombstone (a sync from an older cursor) leaves it one.
    expect(applyPatches(rows, patchesOf(later[0]!, '1'))[0]).toBe(rows[0]);
  });

  it('reactions take the totals and follow my own toggles only', () => {
    let rows = rowsOf(messages);
    rows = applyPatches(rows, patchesOf(later[1]!, '1'));
    expect(rows[3]!.reactions).toEqual([{ emoji: '👍', count: 2, mine: true }]);
    expect(rows[0]!.reactions).toEqual([{ emoji: '😱', count: 1, mine: false }]);
    rows = applyPatches(rows, patchesOf(later[6]!, '1'));
    expect(rows[3]!.reactions).toEqual([{ emoji: '👍', count: 1, mine: false }, { emoji: '🍕', count: 1, mine: true }]);
    // A big chat's event has totals only: mine stay as they were.
    const big = at(20, BOB, { type: 'reactionsChanged', messages: [{ seq: 5n, counts: [{ emoji: '👍', count: 40 }, { emoji: '🍕', count: 9 }], toggles: [] }] });
    expect(applyPatches(rows, patchesOf(big, '1'))[3]!.reactions).toEqual([{ emoji: '👍', count: 40, mine: false }, { emoji: '🍕', count: 9, mine: true }]);
  });

  it('the sync contract: a stale list plus the events equals a fresh page with states', () => {
    const stale = rowsOf(messages);
    const caughtUp = later.reduce((rows, e) => applyPatches(rows, patchesOf(e, '1')), stale);
    const fresh = byText(pageRows(freshPage()));
    expect(caughtUp).toEqual(fresh);
    // And the fresh page is what a state says, message by message.
    expect(fresh.find((r) => r.seq === 5)).toMatchObject({ content: 'lunch at 1?', editedMs: 12_000, pinned: true });
    expect(fresh.find((r) => r.seq === 4)!.place).toEqual({ latitude: 1.6, longitude: 2.6, accuracyM: 4, label: 'Cafe', liveUntilMs: 14_000 });
    // Applying an event twice (a page fetched after it, then the event) changes nothing more.
    expect(later.reduce((rows, e) => applyPatches(rows, patchesOf(e, '1')), caughtUp)).toEqual(fresh);
    expect(withState(fresh[2]!, freshPage().states[1]!)).toEqual(fresh[2]);
  });
});

// ---------------------------------------------------------------- through the store

class FakeClient implements Partial<ClientLike> {
  sends: Array<{ id: string; content: string; options: SendOptions | undefined; resolve: (a: SendAck) => void }> = [];
  calls: string[] = [];
  page: HistoryPage = { chatId: CHAT, events: [], hasMore: false, states: [] };
  constructor(readonly onEvent: (e: ClientEvent) => void) {}
  token = 'tok';
  state = { phase: 'live' } as const;
  seen: Array<[bigint, bigint]> = [];
  async connect(): Promise<Account> {
    return { userId: ME, deviceId: 10n, username: 'me' };
  }
  async close() {}
  cursors() {
    return this.seen;
  }
  sendWithId(_chatId: bigint, id: string, content: string, options?: SendOptions): Promise<SendAck> {
    return new Promise((resolve) => this.sends.push({ id, content, options, resolve }));
  }
  history: ClientLike['history'] = async () => this.page;
  async listChatsBy() {
    return { chats: [], hasMore: false };
  }
  async getUsers() {
    return [];
  }
  async deleteMessages(chatId: bigint, seqs: readonly bigint[], forEveryone: boolean) {
    this.calls.push(`delete ${chatId} ${seqs.join(',')} ${forEveryone}`);
  }
  async listPins(): Promise<MessageState[]> {
    return [state(5, { event: msg(5, BOB, 'lunch?'), pinned: true })];
  }
  emit(e: ChatEvent) {
    this.seen = [[e.chatId, e.seq]];
    this.onEvent({ type: 'event', event: e });
  }
}

function setup(idb = new IDBFactory(), storage = new Map<string, string>()) {
  const clients: FakeClient[] = [];
  let n = 0;
  const env: Env = {
    createClient: (spec) => {
      const c = new FakeClient(spec.onEvent);
      clients.push(c);
      return c as unknown as ClientLike;
    },
    openOutbox: async () => new MemoryOutboxStore(),
    storage: { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => void storage.set(k, v), removeItem: (k) => void storage.delete(k) },
    indexedDB: idb,
    newId: () => `id${++n}`,
    now: () => 1000,
  };
  return { store: new ChatStore(env), clients, idb, storage };
}

const settle = () => new Promise((r) => setTimeout(r, 60));

describe('message features in the store', () => {
  it('events after a message reach the list in memory and the cache a reload reads, as a fresh page would', async () => {
    const first = setup();
    await first.store.signIn('register', 'me', 'pw');
    const c = first.clients[0]!;
    const list = first.store.messages('7');
    await settle();
    for (const e of messages) c.emit(e);
    await settle();
    await first.store.flush();
    // Nothing loaded the oldest rows here: the events after must reach the cache alone too.
    for (const e of later) c.emit(e);
    await settle();
    await first.store.flush();
    const fresh = byText(pageRows(freshPage()));
    expect(byText(list.value)).toEqual(fresh);
    const chat = first.store.chats.value.get('7')!;
    // Reactions, pins and edits are not news: the chat keeps its last message's time.
    expect(chat.lastActivity).toBe(6000);
    expect(chat.lastPreview).toBe('👤 Ana');

    const second = setup(first.idb, first.storage);
    await second.store.restore();
    const again = second.store.messages('7');
    await settle();
    expect(byText(again.value)).toEqual(fresh);
  });

  it('a deleted last message shows as deleted in the chat list; hidden rows come by push and by delete for me', async () => {
    const { store, clients } = setup();
    await store.signIn('register', 'me', 'pw');
    const c = clients[0]!;
    const list = store.messages('7');
    await settle();
    for (const e of messages.slice(0, 5)) c.emit(e);
    expect(store.chats.value.get('7')!.lastPreview).toBe('lunch?');
    c.emit(at(6, BOB, { type: 'messagesDeleted', seqs: [5n] }));
    expect(store.chats.value.get('7')!.lastPreview).toBe('Message deleted');
    c.onEvent({ type: 'messagesHidden', chatId: CHAT, seqs: [3n] });
    expect(list.value.find((r) => r.seq === 3)!.hidden).toBe(true);
    await store.deleteMessages('7', [4], false);
    expect(c.calls).toEqual(['delete 7 4 false']);
    expect(list.value.find((r) => r.seq === 4)!.hidden).toBe(true);
  });

  it('a reply is sent with its options and shows its quote while pending; pins are listed and refetched', async () => {
    const { store, clients } = setup();
    await store.signIn('register', 'me', 'pw');
    const c = clients[0]!;
    const list = store.messages('7');
    await settle();
    for (const e of messages) c.emit(e);
    store.send('7', 'sure @bob', { replyTo: 5, mentions: ['2'] });
    expect(c.sends[0]).toMatchObject({ content: 'sure @bob', options: { replyToSeq: 5n, mentions: [2n] } });
    expect(list.value.at(-1)).toMatchObject({ state: 'sending', replyTo: { seq: 5, senderId: '2', preview: 'lunch?', deleted: false }, mentions: ['2'] });
    // The ack confirms it without losing the quote before the event comes.
    c.sends[0]!.resolve({ chatId: CHAT, clientMsgId: c.sends[0]!.id, messageId: 1n, seq: 7n, timeMs: 7000 });
    await settle();
    expect(list.value.at(-1)).toMatchObject({ state: 'sent', seq: 7, replyTo: { seq: 5 } });
    // A place with no caption is sent; an empty message without one is not.
    expect(store.sendPlace('7', { latitude: 1, longitude: 2, accuracyM: 0, label: '', liveUntilMs: 0 }, '', 15)).not.toBe('');
    expect(c.sends[1]!.options).toEqual({ attachment: { type: 'location', location: { latitude: 1, longitude: 2, accuracyM: 0, label: '', liveUntilMs: 1000 + 15 * 60_000 } } });
    expect(store.send('7', '  ')).toBe('');
    const pins = store.pins('7');
    await settle();
    expect(pins.value.map((r) => [r.seq, r.content, r.pinned])).toEqual([[5, 'lunch?', true]]);
  });

  it('revealing a quoted message loads older history until it is there, then focuses it', async () => {
    const { store, clients } = setup();
    await store.signIn('register', 'me', 'pw');
    const c = clients[0]!;
    const asked: bigint[] = [];
    // Seqs 1..250 on the server, pages of 100 going back.
    c.history = async (chatId, fromSeq, _dir, limit = 50) => {
      asked.push(fromSeq);
      const top = fromSeq === 0n ? 251 : Number(fromSeq);
      const lo = Math.max(1, top - limit);
      const events = Array.from({ length: top - lo }, (_, i) => msg(lo + i, BOB, `m${lo + i}`));
      return { chatId, events, hasMore: lo > 1, states: [] };
    };
    const list = store.messages('7');
    await settle();
    expect(list.value[0]!.seq).toBe(151);
    await store.reveal('7', 20);
    expect(asked).toEqual([0n, 151n, 51n]);
    expect(list.value.some((r) => r.seq === 20)).toBe(true);
    expect(store.focus.value).toEqual({ chatId: '7', seq: 20 });
    expect(store.activeChat.value).toBe('7');
  });
});
