// The store's conversation logic against a fake client: the chat list order (pinned first, then
// activity; archived apart), chat state from replies and pushes, the server's chat list pages,
// roles and settings folded from events into who may post, system lines, channel membership
// pushes, joining (joined or pending) and leaving with a successor.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import {
  DEFAULT_SETTINGS, MemoryOutboxStore, MUTED_FOREVER, type Account, type ChatEvent, type ChatInfo, type ChatState, type ChatStatePatch, type ChatSummary,
  type ClientEvent, type ConnectionState, type JoinResult, type ListChatsPage,
} from '@magpie/client';
import { describe, expect, it } from 'vitest';
import { canPost, ChatStore, compareChats, emptyChat, eventRow, type ClientLike, type ClientSpec, type Env } from '../../src/store/store.js';

/** A message body's fields beyond its text, all "none". */
const PLAIN = { replyTo: null, forwarded: null, mentions: [], mentionAll: false, attachment: null, deleted: false };

const ME: Account = { userId: 1n, deviceId: 10n, username: 'alice' };
const NO_STATE: ChatState = { mutedUntilMs: 0, pinRank: 0n, archived: false, markedUnread: false };

function summary(chatId: bigint, lastActivityMs: number, state: Partial<ChatState> = {}, extra: Partial<ChatSummary> = {}): ChatSummary {
  return {
    chatId, kind: 'group', title: `chat ${chatId}`, lastSeq: 1n, memberCount: 3, lastMessage: null, lastActivityMs, state: { ...NO_STATE, ...state },
    myRole: 'member', unreadCount: 0, unreadMentions: 0, avatarRef: '', handle: '', readSeq: 0n, deliveredSeq: 0n, peerDeliveredSeq: 0n, peerReadSeq: 0n, ...extra,
  };
}

function info(chatId: bigint, extra: Partial<ChatInfo> = {}): ChatInfo {
  return {
    chatId, kind: 'group', title: `chat ${chatId}`, members: [{ userId: 2n, role: 'owner', sinceSeq: 1n }], lastSeq: 1n, createdMs: 500, memberCount: 2,
    membersComplete: false, myRole: 'member', description: '', avatarRef: '', handle: '', settings: { ...DEFAULT_SETTINGS }, pendingRequests: 0, ...extra,
  };
}

class FakeClient {
  token = 'tok';
  state: ConnectionState = { phase: 'live' };
  pages: Array<{ chats: ChatSummary[]; hasMore: boolean }> = [];
  archivedPages: Array<{ chats: ChatSummary[]; hasMore: boolean }> = [];
  asked: ListChatsPage[] = [];
  stateCalls: Array<[bigint, ChatStatePatch]> = [];
  states = new Map<bigint, ChatState>();
  infos = new Map<bigint, ChatInfo>();
  joinResult: JoinResult = { type: 'pending', chatId: 0n };
  left: Array<[bigint, bigint | undefined]> = [];
  constructor(readonly spec: ClientSpec) {}
  async connect(): Promise<Account> {
    return ME;
  }
  async close(): Promise<void> {}
  cursors(): Array<[bigint, bigint]> {
    return [];
  }
  async getUsers(ids: readonly bigint[]) {
    return ids.map((userId) => ({ userId, username: `u${userId}` }));
  }
  async history(chatId: bigint) {
    return { chatId, events: [], hasMore: false };
  }
  async listChatsBy(page: ListChatsPage) {
    this.asked.push(page);
    const q = page.archived ? this.archivedPages : this.pages;
    return q.shift() ?? { chats: [], hasMore: false };
  }
  async setChatState(chatId: bigint, patch: ChatStatePatch): Promise<ChatState> {
    this.stateCalls.push([chatId, patch]);
    const prev = this.states.get(chatId) ?? NO_STATE;
    const next: ChatState = {
      mutedUntilMs: patch.mutedUntilMs ?? prev.mutedUntilMs,
      pinRank: patch.pinned === undefined ? prev.pinRank : patch.pinned ? 100n + BigInt(this.stateCalls.length) : 0n,
      archived: patch.archived ?? prev.archived,
      markedUnread: patch.markedUnread ?? prev.markedUnread,
    };
    this.states.set(chatId, next);
    return next;
  }
  reordered: bigint[][] = [];
  async reorderPinned(chatIds: readonly bigint[]): Promise<void> {
    this.reordered.push([...chatIds]);
    // Every device, this one included, gets the new ranks pushed (first = highest).
    chatIds.forEach((chatId, i) => this.emit({ type: 'chatState', chatId, state: { ...(this.states.get(chatId) ?? NO_STATE), pinRank: BigInt(1000 - i) } }));
  }
  async getChat(chatId: bigint): Promise<ChatInfo> {
    const i = this.infos.get(chatId);
    if (!i) throw Object.assign(new Error('no chat'), { codeName: 'chat_not_found' });
    return i;
  }
  async joinChat(): Promise<JoinResult> {
    return this.joinResult;
  }
  async leaveChat(chatId: bigint, successor?: bigint): Promise<void> {
    this.left.push([chatId, successor]);
  }
  emit(e: ClientEvent): void {
    this.spec.onEvent(e);
  }
}

function setup() {
  const clients: FakeClient[] = [];
  const storage = new Map<string, string>();
  const env: Env = {
    createClient: (spec) => {
      const c = new FakeClient(spec);
      clients.push(c);
      return c as unknown as ClientLike;
    },
    openOutbox: async () => new MemoryOutboxStore(),
    storage: { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => void storage.set(k, v), removeItem: (k) => void storage.delete(k) },
    indexedDB: new IDBFactory(),
    newId: () => 'id',
    now: () => 1000,
  };
  return { store: new ChatStore(env), clients };
}

const settle = () => new Promise((r) => setTimeout(r, 20));
const ev = (chatId: bigint, seq: bigint, senderId: bigint, kind: ChatEvent['kind'], timeMs = Number(seq) * 1000): ClientEvent => ({
  type: 'event',
  event: { chatId, seq, senderId, senderDeviceId: 1n, timeMs, kind },
});
const created = (chatId: bigint, kind: 'group' | 'channel', members: Array<[bigint, 'owner' | 'admin' | 'member']>, settings = { ...DEFAULT_SETTINGS }) =>
  ev(chatId, 1n, members[0]![0], { type: 'chatCreated', chatKind: kind, title: `c${chatId}`, members: members.map(([userId, role]) => ({ userId, role, sinceSeq: 1n })), description: '', handle: '', settings });
const ids = (rows: Array<{ id: string }>) => rows.map((r) => r.id);

async function signedIn() {
  const s = setup();
  await s.store.signIn('login', 'alice', 'pw');
  s.clients[0]!.emit({ type: 'syncDone', chats: 0, events: 0n });
  await settle();
  return { ...s, c: s.clients[0]! };
}

describe('the chat list', () => {
  it('orders pinned chats first by rank, then by activity (ties: higher id), archived apart', () => {
    const row = (id: string, lastActivity: number, pinRank = '0', archived = false) => ({ ...emptyChat(id), lastActivity, pinRank, archived });
    const rows = [row('1', 50), row('2', 90), row('3', 10, '5'), row('4', 20, '9'), row('5', 90), row('6', 999, '7', true)];
    expect(ids([...rows].sort(compareChats))).toEqual(['4', '3', '6', '5', '2', '1']);
  });

  it('takes state, role and counts from ListChats by activity, and pages on with the last row', async () => {
    const s = await signedIn();
    const c0 = () => s.c;
    c0().pages.push({ chats: [summary(3n, 100, { pinRank: 2n }), summary(5n, 900, {}, { myRole: 'admin', memberCount: 40 }), summary(4n, 800, { mutedUntilMs: MUTED_FOREVER })], hasMore: true });
    c0().archivedPages.push({ chats: [summary(9n, 950, { archived: true })], hasMore: false });
    c0().emit({ type: 'syncDone', chats: 0, events: 0n });
    await settle();
    const { store } = s;
    expect(ids(store.chatList.value)).toEqual(['3', '5', '4']);
    expect(ids(store.archivedList.value)).toEqual(['9']);
    expect(store.chats.value.get('5')).toMatchObject({ myRole: 'admin', memberCount: 40, admins: ['1'] });
    expect(store.chats.value.get('4')!.mutedUntil).toBe(MUTED_FOREVER);
    expect(store.moreChats.value).toEqual({ main: true, archived: false });
    c0().pages.push({ chats: [summary(2n, 700)], hasMore: false });
    await store.loadMoreChats(false);
    const last = c0().asked.at(-1)!;
    expect(last).toMatchObject({ order: 'byActivity', archived: false, before: { lastActivityMs: 800, chatId: 4n } });
    expect(ids(store.chatList.value)).toEqual(['3', '5', '4', '2']);
    expect(store.moreChats.value.main).toBe(false);
  });

  it('pin, mute, archive and mark unread apply the reply; pushes from other devices apply too', async () => {
    const { store, c } = await signedIn();
    c.emit(created(7n, 'group', [[1n, 'owner'], [2n, 'member']]));
    c.emit(created(8n, 'group', [[1n, 'owner'], [3n, 'member']]));
    c.emit(ev(7n, 2n, 2n, { type: 'message', messageId: 1n, clientMsgId: 'x', content: 'older', ...PLAIN }, 5000));
    c.emit(ev(8n, 2n, 3n, { type: 'message', messageId: 2n, clientMsgId: 'y', content: 'newer', ...PLAIN }, 6000));
    expect(ids(store.chatList.value)).toEqual(['8', '7']);
    await store.pin('7', true);
    expect(ids(store.chatList.value)).toEqual(['7', '8']);
    expect(c.stateCalls.at(-1)).toEqual([7n, { pinned: true }]);
    await store.archive('8', true);
    expect(ids(store.chatList.value)).toEqual(['7']);
    expect(ids(store.archivedList.value)).toEqual(['8']);
    await store.mute('7', MUTED_FOREVER);
    expect(store.chats.value.get('7')!.mutedUntil).toBe(MUTED_FOREVER);
    // Another device unarchives 8 and unpins 7: the pushes reorder this one's list.
    c.emit({ type: 'chatState', chatId: 8n, state: NO_STATE });
    c.emit({ type: 'chatState', chatId: 7n, state: { ...NO_STATE, mutedUntilMs: MUTED_FOREVER } });
    expect(ids(store.chatList.value)).toEqual(['8', '7']);
    expect(store.archivedList.value).toEqual([]);
    // Marked unread until opened; opening clears it on the server too.
    await store.markUnread('8', true);
    expect(store.chats.value.get('8')!.markedUnread).toBe(true);
    store.open('8');
    await settle();
    expect(c.stateCalls.at(-1)).toEqual([8n, { markedUnread: false }]);
    expect(store.chats.value.get('8')!.markedUnread).toBe(false);
  });
});

describe('pinned order', () => {
  it('moving a pinned chat sends the whole pinned order; the pushes reorder the list', async () => {
    const { store, c } = await signedIn();
    for (const id of [1n, 2n, 3n]) c.emit(created(id, 'group', [[1n, 'owner']]));
    await store.pin('1', true);
    await store.pin('2', true);
    expect(ids(store.chatList.value)).toEqual(['2', '1', '3']);
    await store.movePinned('1', -1);
    expect(c.reordered).toEqual([[1n, 2n]]);
    expect(ids(store.chatList.value)).toEqual(['1', '2', '3']);
    // Past either end: nothing is sent.
    await store.movePinned('1', -1);
    await store.movePinned('3', 1);
    expect(c.reordered).toHaveLength(1);
  });
});

describe('roles, settings and events', () => {
  it('who may post follows the kind, settings and role, as events change them', async () => {
    const { store, c } = await signedIn();
    // A channel where this user subscribed (only owner and admins are log members).
    c.emit(created(20n, 'channel', [[2n, 'owner']], { ...DEFAULT_SETTINGS, post: 'admins' }));
    const ch = () => store.chats.value.get('20')!;
    expect([ch().kind, ch().myRole, canPost(ch())]).toEqual(['channel', 'member', false]);
    c.emit(ev(20n, 2n, 2n, { type: 'roleChanged', userId: 1n, role: 'admin' }));
    expect([ch().myRole, canPost(ch()), ch().admins]).toEqual(['admin', true, ['1']]);
    // A group whose settings say admins post.
    c.emit(created(21n, 'group', [[2n, 'owner'], [1n, 'member']]));
    const list = store.messages('21');
    await settle();
    const g = () => store.chats.value.get('21')!;
    expect(canPost(g())).toBe(true);
    c.emit(ev(21n, 2n, 2n, { type: 'chatUpdated', title: 'Renamed', description: 'about', avatarRef: '', handle: 'the_team', settings: { ...DEFAULT_SETTINGS, post: 'admins' } }));
    expect([g().title, g().handle, g().settings.post, canPost(g())]).toEqual(['Renamed', 'the_team', 'admins', false]);
    const lines = list.value.map((m) => m.notice);
    expect(lines.at(-1)).toBe('{sender} changed the title to “Renamed”, changed the description, set the public handle @the_team, changed the settings');
    // Ownership to this user: owner, previous owner an admin.
    c.emit(ev(21n, 3n, 2n, { type: 'ownerChanged', previousOwner: 2n, newOwner: 1n }));
    expect([g().owner, g().admins, g().myRole, canPost(g())]).toEqual(['1', ['2'], 'owner', true]);
    c.emit(ev(21n, 4n, 1n, { type: 'roleChanged', userId: 2n, role: 'member' }));
    expect(g().admins).toEqual([]);
    // Joins and leaves change the members; the exact count comes from the server after them.
    c.infos.set(21n, info(21n, { title: 'Renamed', memberCount: 3, members: [{ userId: 1n, role: 'owner', sinceSeq: 1n }, { userId: 2n, role: 'admin', sinceSeq: 1n }, { userId: 5n, role: 'member', sinceSeq: 5n }], membersComplete: true, myRole: 'owner' }));
    c.emit(ev(21n, 5n, 5n, { type: 'membersAdded', userIds: [5n], via: 'inviteLink' }));
    expect(g().members).toEqual(['2', '1', '5']);
    await new Promise((r) => setTimeout(r, 350));
    expect(g().memberCount).toBe(3);
    c.emit(ev(21n, 6n, 5n, { type: 'memberRemoved', userId: 5n, left: true }));
    expect([...g().members].sort()).toEqual(['1', '2']);
  });

  it('system lines for the new events', () => {
    const e = (kind: ChatEvent['kind'], sender = 2n) => eventRow({ chatId: 1n, seq: 2n, senderId: sender, senderDeviceId: 1n, timeMs: 1, kind })!;
    expect(e({ type: 'roleChanged', userId: 3n, role: 'admin' })).toMatchObject({ notice: '{sender} made {subjects} an admin', subjects: ['3'] });
    expect(e({ type: 'roleChanged', userId: 3n, role: 'member' })).toMatchObject({ notice: '{sender} removed {subjects} as admin' });
    expect(e({ type: 'roleChanged', userId: 2n, role: 'member' })).toMatchObject({ notice: '{sender} stepped down as admin' });
    expect(e({ type: 'ownerChanged', previousOwner: 2n, newOwner: 3n })).toMatchObject({ notice: 'Ownership transferred to {subjects}', subjects: ['3'] });
    expect(e({ type: 'membersAdded', userIds: [4n], via: 'inviteLink' }, 4n)).toMatchObject({ notice: '{subjects} joined via invite link', subjects: ['4'] });
    expect(e({ type: 'membersAdded', userIds: [4n], via: 'approved' })).toMatchObject({ notice: '{subjects} joined (approved by {sender})' });
    expect(e({ type: 'membersAdded', userIds: [4n, 5n], via: 'added' })).toMatchObject({ notice: '{sender} added {subjects}', subjects: ['4', '5'] });
    expect(e({ type: 'chatCreated', chatKind: 'channel', title: 'News', members: [], description: '', handle: '', settings: { ...DEFAULT_SETTINGS } })).toMatchObject({ notice: '{sender} created the channel “News”' });
  });
});

describe('joining and leaving', () => {
  it('a subscription on another device fetches the chat; leaving it there marks it left', async () => {
    const { store, c } = await signedIn();
    c.infos.set(30n, info(30n, { kind: 'channel', title: 'News', memberCount: 1200, handle: 'news_room' }));
    c.emit({ type: 'membership', chatId: 30n, member: true });
    await settle();
    expect(store.chats.value.get('30')).toMatchObject({ kind: 'channel', title: 'News', memberCount: 1200, handle: 'news_room', owner: '2', left: false });
    c.emit({ type: 'membership', chatId: 30n, member: false });
    expect(store.chats.value.get('30')!.left).toBe(true);
  });

  it('join answers joined (the chat is shown) or pending', async () => {
    const { store, c } = await signedIn();
    c.joinResult = { type: 'joined', chat: info(31n, { title: 'Club', memberCount: 5, myRole: 'member' }) };
    expect(await store.join({ inviteCode: 'abc' })).toEqual({ joined: '31' });
    expect(store.chats.value.get('31')).toMatchObject({ title: 'Club', memberCount: 5 });
    c.joinResult = { type: 'pending', chatId: 32n };
    expect(await store.join({ handle: 'quiet_club' })).toEqual({ pending: '32' });
    expect(store.chats.value.has('32')).toBe(false);
  });

  it('an owner leaves naming a successor; a channel subscriber is marked left at once', async () => {
    const { store, c } = await signedIn();
    c.emit(created(40n, 'group', [[1n, 'owner'], [2n, 'member']]));
    await store.leave('40', '2');
    expect(c.left).toEqual([[40n, 2n]]);
    c.infos.set(41n, info(41n, { kind: 'channel' }));
    c.emit({ type: 'membership', chatId: 41n, member: true });
    await settle();
    await store.leave('41');
    expect(c.left.at(-1)).toEqual([41n, undefined]);
    expect(store.chats.value.get('41')!.left).toBe(true);
  });
});
