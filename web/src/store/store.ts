// The store between the protocol client and the UI: chats, messages, the optimistic outbox view,
// the session, and persistence in IndexedDB. It exposes signals (framework-free
// @preact/signals-core) and plain methods; it never touches the DOM. The client is injected, so
// Vitest drives it with a fake.
import { batch, computed, signal, type ReadonlySignal, type Signal } from '@preact/signals-core';
import type {
  Account, BroadcastAck, BroadcastList, ChatEvent, ChatInfo, ChatInfoPatch, ChatPreview, ChatSettings, ChatState, ChatStatePatch, ChatSummary,
  ClientEvent, ConnectionState, Contact, CreateChatOptions, Credentials, Device, ForwardAck, HistoryPage, Invite, JoinRequest, JoinResult, JoinTarget,
  ListChatsPage, Location, MemberList, MentionPage, MessageState, MessageVersion, OutboxStore, Role, SendAck, SendOptions, UserInfo, UserReactions,
  LastSeenVisibility, PresenceUpdate, Privacy, Receipt, ReceiptCounts, ReceiptList, TypingKind,
} from '@magpie/client';
import { decodeSendOptions } from '@magpie/client';
import { Db, type RowPatch } from './db.js';
import { isLargeChat, othersCounts, type CountsRow } from './receipt-counts.js';
import { applyPatches, hidePatch, messageRow, patchesOf, previewOf, withState, type Patch } from './message-rows.js';
import type { ChatKindName, ChatRow, Connection, ContactRow, MessageRow, PlaceRow, PresenceRow, RoleName, SettingsRow, Tick, TypingRow } from './types.js';

/** What the store needs of `MagpieClient` (the real one satisfies it). */
export interface ClientLike {
  connect(): Promise<Account>;
  close(): Promise<void>;
  readonly token: string;
  readonly state: ConnectionState;
  cursors(): Array<[bigint, bigint]>;
  sendWithId(chatId: bigint, clientMsgId: string, content: string, options?: SendOptions): Promise<SendAck>;
  editMessage(chatId: bigint, seq: bigint, content: string, mentions?: readonly bigint[]): Promise<void>;
  deleteMessages(chatId: bigint, seqs: readonly bigint[], forEveryone: boolean): Promise<void>;
  react(chatId: bigint, seq: bigint, emoji: string, add: boolean): Promise<void>;
  listReactions(chatId: bigint, seq: bigint, opts?: { emoji?: string; afterUserId?: bigint; limit?: number }): Promise<{ users: UserReactions[]; hasMore: boolean }>;
  pinMessage(chatId: bigint, seq: bigint, pinned: boolean): Promise<void>;
  listPins(chatId: bigint): Promise<MessageState[]>;
  updateLiveLocation(chatId: bigint, seq: bigint, at: { latitude: number; longitude: number; accuracyM?: number; stop?: boolean }): Promise<void>;
  forwardMessage(fromChatId: bigint, seq: bigint, toChatIds: readonly bigint[], clientMsgId?: string): Promise<ForwardAck>;
  getMessageVersions(chatId: bigint, seq: bigint): Promise<MessageVersion[]>;
  listMentions(opts?: { beforeMessageId?: bigint; limit?: number }): Promise<MentionPage>;
  logout(): Promise<void>;
  listDevices(): Promise<Device[]>;
  revokeDevice(deviceId: bigint): Promise<void>;
  lookupUser(username: string): Promise<UserInfo>;
  getUsers(userIds: readonly bigint[]): Promise<UserInfo[]>;
  createDirect(peer: bigint | string): Promise<ChatInfo>;
  createGroup(title: string, memberIds: readonly bigint[]): Promise<ChatInfo>;
  addMembers(chatId: bigint, userIds: readonly bigint[]): Promise<void>;
  removeMember(chatId: bigint, userId: bigint): Promise<void>;
  leaveChat(chatId: bigint, successor?: bigint): Promise<void>;
  listChats(): Promise<ChatSummary[]>;
  history(chatId: bigint, fromSeq: bigint, direction: 'backward' | 'forward', limit?: number): Promise<HistoryPage>;
  getChat(chatId: bigint): Promise<ChatInfo>;
  createChat(opts: CreateChatOptions): Promise<ChatInfo>;
  listChatsBy(page: ListChatsPage): Promise<{ chats: ChatSummary[]; hasMore: boolean }>;
  listMembers(chatId: bigint, opts?: { afterUserId?: bigint; limit?: number; adminsOnly?: boolean }): Promise<MemberList>;
  updateChat(chatId: bigint, patch: ChatInfoPatch): Promise<void>;
  setRole(chatId: bigint, userId: bigint, role: 'member' | 'admin'): Promise<void>;
  transferOwnership(chatId: bigint, userId: bigint): Promise<void>;
  createInvite(chatId: bigint, opts?: { expiresMs?: number; maxUses?: number }): Promise<Invite>;
  listInvites(chatId: bigint): Promise<Invite[]>;
  revokeInvite(chatId: bigint, code: string): Promise<void>;
  previewChat(target: JoinTarget): Promise<ChatPreview>;
  joinChat(target: JoinTarget): Promise<JoinResult>;
  listJoinRequests(chatId: bigint): Promise<JoinRequest[]>;
  resolveJoinRequest(chatId: bigint, userId: bigint, approve: boolean): Promise<void>;
  setChatState(chatId: bigint, patch: ChatStatePatch): Promise<ChatState>;
  reorderPinned(chatIds: readonly bigint[]): Promise<void>;
  saveBroadcastList(list: { listId?: bigint; name: string; recipientIds: readonly bigint[] }): Promise<BroadcastList>;
  deleteBroadcastList(listId: bigint): Promise<void>;
  listBroadcastLists(): Promise<BroadcastList[]>;
  sendBroadcast(listId: bigint, content: string, clientMsgId?: string): Promise<BroadcastAck>;
  markReceipts(chatId: bigint, deliveredSeq: bigint, readSeq: bigint): Promise<Receipt>;
  getReceipts(chatId: bigint, seq: bigint): Promise<ReceiptList>;
  setPrivacy(patch: { readReceipts?: boolean; lastSeen?: LastSeenVisibility }): Promise<Privacy>;
  getPrivacy(): Promise<Privacy>;
  setPresence(opts: { activity?: boolean; dnd?: boolean }): Promise<void>;
  watchPresence(userIds: readonly bigint[], chatIds?: readonly bigint[]): Promise<PresenceUpdate>;
  setTyping(chatId: bigint, kind: TypingKind): Promise<void>;
}

/** Receipts go out at most this often per chat (§6.15: about once a second). */
export const RECEIPT_INTERVAL_MS = 1000;
/** A typist repeats SetTyping this often while typing (§6.15: every 2–3 s). */
export const TYPING_REFRESH_MS = 2500;
/** Activity is reported at most this often (§6.15: every 30 s or so). */
export const ACTIVITY_INTERVAL_MS = 30_000;
/** The direct chats near the top of the list whose peers are watched (with the open chat's). */
const WATCHED_CHATS = 50;
/** An open group's online count is a snapshot: asked again this often (§6.15 "Online counts"). */
export const ONLINE_REFRESH_MS = 30_000;

/** A call that must never throw into the caller (best-effort pushes of state). */
function quietly<T>(f: () => Promise<T>): Promise<T | undefined> {
  return Promise.resolve()
    .then(f)
    .catch(() => undefined);
}

/** What a message of mine shows in a direct chat (§6.15 ticks). */
export function tickOf(c: ChatRow, m: MessageRow): Tick | null {
  if (m.state !== 'sent' || c.kind !== 'direct') return null;
  if ((c.peerReadSeq ?? 0) >= m.seq) return 'read';
  if ((c.peerDeliveredSeq ?? 0) >= m.seq) return 'delivered';
  return 'sent';
}

/** "online", "last seen …", or '' when nothing is known. */
export function presenceText(p: PresenceRow | undefined, now: number): string {
  if (!p) return '';
  switch (p.status) {
    case 'online':
    case 'active':
      return 'online';
    case 'idle':
    case 'away':
      return 'away';
    case 'doNotDisturb':
      return 'do not disturb';
    case 'offline': {
      if (!p.lastSeenMs) return 'offline';
      const d = new Date(p.lastSeenMs);
      const today = new Date(now).toDateString() === d.toDateString();
      const t = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
      return `last seen ${today ? `today at ${t}` : `${d.toLocaleDateString()} ${t}`}`;
    }
    default:
      return '';
  }
}

export interface ClientSpec {
  credentials: Credentials;
  cursors: Array<[bigint, bigint]>;
  outboxStore: OutboxStore;
  onEvent: (e: ClientEvent) => void;
}

/** Where the store keeps what outlives the page. Injected so tests use memory/fake-indexeddb. */
export interface Env {
  createClient(spec: ClientSpec): ClientLike;
  openOutbox(name: string): Promise<OutboxStore & { load(): Promise<Array<{ clientMsgId: string; chatId: string; content: string; order: number; options?: string }>> }>;
  storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;
  indexedDB: IDBFactory;
  newId(): string;
  now(): number;
  /** Whether the page is in front of the user (default: `document.visibilityState`); nothing is
   * marked read while it is not. */
  visible?(): boolean;
}

const TOKEN_KEY = 'magpie.token';
const ACCOUNT_KEY = 'magpie.account';
const DB_NAME = 'magpie-web';
const OUTBOX_NAME = 'magpie-web-outbox';
const PAGE = 100;

export interface SavedAccount {
  userId: string;
  deviceId: string;
  username: string;
}

function kindName(k: ChatInfo['kind']): ChatKindName {
  return k === 'direct' || k === 'group' || k === 'channel' ? k : 'unknown';
}

function roleName(r: Role): RoleName {
  return r === 'owner' || r === 'admin' ? r : 'member';
}

export const DEFAULT_SETTINGS_ROW: SettingsRow = { post: 'members', addMembers: 'admins', changeInfo: 'admins', pin: 'admins', history: 'everything', forwarding: true, approveJoins: false };

/** A row with every field (rows cached by an older build lack the newer ones). */
export function emptyChat(id: string): ChatRow {
  return {
    id, kind: 'unknown', title: '', members: [], admins: [], owner: '', myRole: 'member', memberCount: 0, description: '', avatarRef: '', handle: '',
    settings: { ...DEFAULT_SETTINGS_ROW }, pendingRequests: 0, mutedUntil: 0, pinRank: '0', archived: false, markedUnread: false,
    lastSeq: 0, lastActivity: 0, lastPreview: '', lastSenderId: '', lastMessageSeq: 0, unread: 0, readSeq: 0, left: false,
  };
}

const rank = (c: ChatRow): bigint => BigInt(c.pinRank || '0');

/** The chat list's order: pinned chats first (highest rank first), then by last activity,
 * newest first, ties by the higher chat id (as ListChats ByActivity). */
export function compareChats(a: ChatRow, b: ChatRow): number {
  const ra = a.archived ? 0n : rank(a);
  const rb = b.archived ? 0n : rank(b);
  if (ra !== rb) return ra > rb ? -1 : 1;
  return b.lastActivity - a.lastActivity || (BigInt(b.id) > BigInt(a.id) ? 1 : BigInt(b.id) < BigInt(a.id) ? -1 : 0);
}

export function isMuted(c: ChatRow, now: number): boolean {
  return c.mutedUntil > now;
}

export function isPinned(c: ChatRow): boolean {
  return rank(c) > 0n;
}

/** Whether this user may post in the chat (channels: admins; groups: settings.post). */
export function canPost(c: ChatRow): boolean {
  if (c.left) return false;
  if (c.kind === 'direct' || c.kind === 'unknown') return true;
  const admin = c.myRole === 'admin' || c.myRole === 'owner';
  if (c.kind === 'channel') return admin;
  return c.settings.post === 'members' || admin;
}

/** Whether this user's role passes a `Who` setting (the owner always does). */
export function allowed(c: ChatRow, who: 'members' | 'admins'): boolean {
  return who === 'members' || c.myRole === 'admin' || c.myRole === 'owner';
}

export function isAdmin(c: ChatRow): boolean {
  return c.myRole === 'admin' || c.myRole === 'owner';
}

function deriveRole(c: ChatRow, me: string | undefined): RoleName {
  if (!me) return c.myRole;
  if (c.owner === me) return 'owner';
  if (c.admins.includes(me)) return 'admin';
  return 'member';
}

function settingsRow(s: ChatSettings): SettingsRow {
  return { ...s };
}

function sameSettings(a: SettingsRow, b: SettingsRow): boolean {
  return (Object.keys(a) as Array<keyof SettingsRow>).every((k) => a[k] === b[k]);
}

/** What a chat state reads as in a row. */
function stateFields(st: ChatState): Pick<ChatRow, 'mutedUntil' | 'pinRank' | 'archived' | 'markedUnread'> {
  return { mutedUntil: st.mutedUntilMs, pinRank: st.pinRank.toString(), archived: st.archived, markedUnread: st.markedUnread };
}

/** A row updated from the server's ChatInfo (authoritative for info, roles and counts). */
function withInfo(c: ChatRow, info: ChatInfo, me: string | undefined): ChatRow {
  const owner = info.members.find((m) => m.role === 'owner')?.userId.toString() ?? c.owner;
  const admins = info.members.filter((m) => m.role === 'admin').map((m) => m.userId.toString());
  let members = c.members;
  if (info.membersComplete || c.members.length === 0 || info.kind === 'channel') {
    members = info.membersComplete ? info.members.map((m) => m.userId.toString()) : [...new Set([...c.members, ...info.members.map((m) => m.userId.toString())])];
  }
  return {
    ...c, kind: kindName(info.kind), title: info.title, owner, admins, members, myRole: roleName(info.myRole), memberCount: info.memberCount,
    description: info.description, avatarRef: info.avatarRef, handle: info.handle, settings: settingsRow(info.settings),
    pendingRequests: info.pendingRequests, left: false, lastActivity: c.lastActivity || info.createdMs,
    // One's own role is in ChatInfo even where members are not all listed.
    ...(me && info.myRole === 'owner' ? { owner: me } : {}),
  };
}

/** Inserts confirmed messages in seq order (pending ones stay last) without duplicates. */
export function mergeMessages(rows: readonly MessageRow[], incoming: readonly MessageRow[]): MessageRow[] {
  const confirmed = new Map<number, MessageRow>();
  const pending: MessageRow[] = [];
  const ids = new Set<string>();
  for (const r of rows) (r.state === 'sent' ? confirmed.set(r.seq, r) : pending.push(r));
  for (const m of incoming) {
    confirmed.set(m.seq, m);
    ids.add(m.clientMsgId);
  }
  const out = [...confirmed.values()].sort((a, b) => a.seq - b.seq);
  // A pending message whose event arrived is now confirmed: drop its optimistic twin.
  for (const p of pending) if (!p.clientMsgId || !ids.has(p.clientMsgId)) out.push(p);
  return out;
}

export class ChatStore {
  readonly account = signal<SavedAccount | null>(null);
  /** 'restoring' while a saved session is being read. */
  readonly session = signal<'signedOut' | 'signingIn' | 'signedIn'>('signedOut');
  readonly notice = signal<string>('');
  readonly connection = signal<Connection>('connecting');
  readonly chats = signal<ReadonlyMap<string, ChatRow>>(new Map());
  readonly users = signal<ReadonlyMap<string, string>>(new Map());
  readonly devices = signal<Device[]>([]);
  readonly activeChat = signal<string | null>(null);
  /** Chats whose history is fully loaded (down to seq 1). */
  private readonly complete = new Set<string>();
  private readonly messageSignals = new Map<string, Signal<MessageRow[]>>();
  private client: ClientLike | null = null;
  private db: Db | null = null;
  private pendingWrite: PendingWrite = emptyWrite();
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private askedUsers = new Set<string>();

  /** The chat list: not archived, pinned first, then by last activity. */
  readonly chatList: ReadonlySignal<ChatRow[]> = computed(() =>
    [...this.chats.value.values()].filter((c) => (!c.left || c.lastSeq > 0) && !c.archived).sort(compareChats),
  );
  /** The "Archived" view. */
  readonly archivedList: ReadonlySignal<ChatRow[]> = computed(() =>
    [...this.chats.value.values()].filter((c) => (!c.left || c.lastSeq > 0) && c.archived).sort(compareChats),
  );
  /** Whether the server has more of the chat list than fetched so far (per view). */
  readonly moreChats = signal<{ main: boolean; archived: boolean }>({ main: false, archived: false });
  private chatCursor: { main: { lastActivityMs: number; chatId: bigint } | null; archived: { lastActivityMs: number; chatId: bigint } | null } = { main: null, archived: null };
  readonly broadcastLists = signal<BroadcastList[]>([]);
  /** A join link or handle waiting to be shown (from `#/join/<code>`, survives sign-in). */
  readonly pendingJoin = signal<JoinTarget | null>(null);
  /** Per chat, who is typing there now (never this user). */
  readonly typing = signal<ReadonlyMap<string, ReadonlyMap<string, TypingRow>>>(new Map());
  /** Watched users' presence (§6.15). */
  readonly presence = signal<ReadonlyMap<string, PresenceRow>>(new Map());
  /** This user's privacy settings (null until read from the server). */
  readonly privacy = signal<Privacy | null>(null);
  /** Per chat, the read cursor when it was opened: the unread divider goes after it. */
  readonly unreadMark = signal<ReadonlyMap<string, number>>(new Map());
  /** Large chats (§6.15): the latest counts of the newest message, as the engine pushes them to
   * the people who post (over all members, the poster included). */
  readonly receiptCounts = signal<ReadonlyMap<string, CountsRow>>(new Map());
  /** Groups and channels watched (the open one): how many members are connected (§6.15). */
  readonly chatOnline = signal<ReadonlyMap<string, { online: number; memberCount: number }>>(new Map());
  /** Whether the open conversation shows its newest message (the UI says): new messages are
   * read as they arrive only then. */
  following = true;
  private readonly typingTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Receipts waiting to go out, per chat; what went out; when. */
  private readonly rxWanted = new Map<string, { delivered: number; read: number }>();
  private readonly rxSent = new Map<string, { delivered: number; read: number; at: number }>();
  private rxTimer: ReturnType<typeof setTimeout> | null = null;
  /** When this device last said it is typing, per chat (absent: it has not, or it stopped). */
  private readonly typingSent = new Map<string, number>();
  private lastActivity = -Infinity;
  private watchKey = '';
  private watchTimer: ReturnType<typeof setTimeout> | null = null;
  private onlineTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly env: Env) {}

  /** Whether what the open conversation shows counts as seen now. */
  visible(): boolean {
    return this.env.visible ? this.env.visible() : documentVisible();
  }

  // ------------------------------------------------------------------ session

  /** Signs in with the saved token, if any: shows the cached state first, then connects. */
  async restore(): Promise<boolean> {
    const token = this.env.storage.getItem(TOKEN_KEY);
    const saved = this.env.storage.getItem(ACCOUNT_KEY);
    if (!token || !saved) return false;
    const account = JSON.parse(saved) as SavedAccount;
    await this.openDb();
    await this.loadCache();
    batch(() => {
      this.account.value = account;
      this.session.value = 'signedIn';
    });
    await this.start({ kind: 'token', token });
    return true;
  }

  async signIn(kind: 'login' | 'register', username: string, password: string): Promise<void> {
    this.notice.value = '';
    this.session.value = 'signingIn';
    await this.openDb();
    try {
      await this.start({ kind, username, password, deviceName: deviceName() });
    } catch (e) {
      this.session.value = 'signedOut';
      throw e;
    }
  }

  private async openDb(): Promise<void> {
    if (!this.db) this.db = await Db.open(DB_NAME, this.env.indexedDB);
  }

  private async loadCache(): Promise<void> {
    const db = this.db!;
    const [chats, cursors, users] = await Promise.all([db.chats(), db.get<Array<[string, string]>>('cursors'), db.get<Array<[string, string]>>('users')]);
    this.cursorsLoaded = (cursors ?? []).map(([c, s]) => [BigInt(c), BigInt(s)]);
    batch(() => {
      this.chats.value = new Map(chats.map((c) => [c.id, { ...emptyChat(c.id), ...c }]));
      this.users.value = new Map(users ?? []);
    });
    for (const c of chats) if (c.lastSeq > 0) this.knownSeq.set(c.id, c.lastSeq);
  }

  private cursorsLoaded: Array<[bigint, bigint]> = [];
  /** Last seq folded into each chat row (events at or below it are history, not news). */
  private readonly knownSeq = new Map<string, number>();

  private async start(credentials: Credentials): Promise<void> {
    const outbox = await this.env.openOutbox(OUTBOX_NAME);
    // Messages still in the outbox from before a reload show as sending until acknowledged.
    const waiting = await outbox.load();
    const client = this.env.createClient({ credentials, cursors: this.cursorsLoaded, outboxStore: outbox, onEvent: (e) => this.onClientEvent(client, e) });
    this.client = client;
    for (const r of waiting.sort((a, b) => a.order - b.order)) {
      const options = decodeSendOptions(r.options);
      this.addPending(this.pendingRow(r.chatId, r.clientMsgId, r.content, options));
      this.track(client, r.chatId, r.clientMsgId, client.sendWithId(BigInt(r.chatId), r.clientMsgId, r.content, options));
    }
    const account = await client.connect();
    if (this.client !== client) return;
    const saved: SavedAccount = { userId: account.userId.toString(), deviceId: account.deviceId.toString(), username: account.username };
    this.env.storage.setItem(TOKEN_KEY, client.token);
    this.env.storage.setItem(ACCOUNT_KEY, JSON.stringify(saved));
    batch(() => {
      this.account.value = saved;
      this.session.value = 'signedIn';
      this.rememberUsers([[saved.userId, saved.username]]);
    });
    void this.refreshChats();
  }

  async signOut(): Promise<void> {
    const client = this.client;
    if (client) {
      try {
        await client.logout();
      } catch {
        /* offline: the local session ends anyway */
      }
    }
    await this.endSession('');
  }

  /** Forgets everything this device kept: after sign-out or revocation nothing of the account
   * stays in the browser. */
  private async endSession(notice: string): Promise<void> {
    const client = this.client;
    this.client = null;
    if (client) void client.close().catch(() => {});
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.pendingWrite = emptyWrite();
    this.env.storage.removeItem(TOKEN_KEY);
    this.env.storage.removeItem(ACCOUNT_KEY);
    this.db?.close();
    this.db = null;
    await Promise.all([Db.destroy(DB_NAME, this.env.indexedDB), Db.destroy(OUTBOX_NAME, this.env.indexedDB)]);
    this.messageSignals.clear();
    this.pinSignals.clear();
    this.complete.clear();
    this.knownSeq.clear();
    this.cursorsLoaded = [];
    batch(() => {
      this.account.value = null;
      this.session.value = 'signedOut';
      this.chats.value = new Map();
      this.devices.value = [];
      this.activeChat.value = null;
      this.mentions.value = { rows: [], hasMore: false, before: 0n };
      this.focus.value = null;
      this.notice.value = notice;
      this.typing.value = new Map();
      this.presence.value = new Map();
      this.privacy.value = null;
      this.unreadMark.value = new Map();
      this.receiptCounts.value = new Map();
      this.chatOnline.value = new Map();
    });
    if (this.onlineTimer) clearTimeout(this.onlineTimer);
    this.onlineTimer = null;
    for (const t of this.typingTimers.values()) clearTimeout(t);
    this.typingTimers.clear();
    if (this.rxTimer) clearTimeout(this.rxTimer);
    this.rxTimer = null;
    this.rxWanted.clear();
    this.rxSent.clear();
    this.typingSent.clear();
    this.lastActivity = -Infinity;
    this.watchKey = '';
  }

  // ------------------------------------------------------------------ events

  private onClientEvent(client: ClientLike, e: ClientEvent): void {
    if (client !== this.client) return;
    switch (e.type) {
      case 'state':
        this.connection.value = connectionOf(e.state);
        break;
      case 'event':
        this.fold(e.event);
        break;
      case 'syncDone':
        this.connection.value = 'live';
        void this.refreshChats();
        break;
      case 'chatState':
        this.applyState(e.chatId.toString(), e.state);
        break;
      case 'membership':
        void this.onMembership(client, e.chatId.toString(), e.member);
        break;
      case 'messagesHidden':
        this.hide(e.chatId.toString(), e.seqs.map(Number));
        break;
      case 'connected':
        // Watches and settings are per connection or may have changed meanwhile.
        this.watchKey = '';
        this.watchVisible();
        void quietly(() => client.getPrivacy()).then((p) => p && client === this.client && (this.privacy.value = p));
        break;
      case 'receipt':
        this.onReceipt(e.receipt);
        break;
      case 'receiptCounts':
        this.onReceiptCounts(e.counts);
        break;
      case 'typing':
        this.onTyping(e.typing.chatId.toString(), e.typing.userId.toString(), e.typing.kind, e.typing.expiresInMs);
        break;
      case 'presence':
        this.onPresence(e.update);
        break;
      case 'privacy':
        this.applyPrivacy(e.privacy);
        break;
      case 'closed':
        // A token refused at reconnect (invalid_credentials) means the device is gone too; a
        // wrong password at sign-in is the sign-in form's error, not a sign-out.
        if (e.reason.name === 'revoked' || (e.reason.name === 'invalid_credentials' && this.session.value === 'signedIn')) {
          void this.endSession('This device was signed out.');
        } else if (e.reason.name !== 'closed' && this.session.value === 'signedIn') {
          this.notice.value = e.reason.message || e.reason.name;
        }
        break;
      default:
        break;
    }
  }

  /** Applies one event of the client's ordered stream to the chat row and the message list. */
  private fold(ev: ChatEvent): void {
    const chatId = ev.chatId.toString();
    const seq = Number(ev.seq);
    const me = this.account.value?.userId;
    const prev = this.chats.value.get(chatId) ?? emptyChat(chatId);
    const chat: ChatRow = { ...prev, members: [...prev.members], admins: [...prev.admins] };
    const fresh = seq > (this.knownSeq.get(chatId) ?? 0);
    const sender = ev.senderId.toString();
    let row: MessageRow | null = null;
    const k = ev.kind;
    const patches = patchesOf(ev, me);
    if (patches.length > 0) {
      // About earlier messages: no line of its own, no new activity; the chat's preview follows
      // its last message (the preview's text stands in for that row when it is not loaded).
      if (patches.some((p) => !p.quotes && p.seqs.includes(chat.lastMessageSeq))) {
        const held = this.messageSignals.get(chatId)?.value.find((r) => r.seq === chat.lastMessageSeq && r.state === 'sent');
        const base: MessageRow = held ?? { chatId, seq: chat.lastMessageSeq, clientMsgId: '', senderId: chat.lastSenderId, timeMs: 0, content: chat.lastPreview, state: 'sent' };
        chat.lastPreview = previewOf(applyPatches([base], patches)[0]!);
      }
      chat.lastSeq = Math.max(chat.lastSeq, seq);
      this.knownSeq.set(chatId, chat.lastSeq);
      this.setChat(chat);
      this.wantReceipt(chatId, seq, 0);
      this.patchMessages(chatId, patches);
      this.pendingWrite.cursors = true;
      this.scheduleFlush();
      // A new pin's message may not be here: ask. Other changes apply to the pins as they are.
      if (k.type === 'messagePinned' && k.pinned) this.pinsChanged(chatId);
      const pins = this.pinSignals.get(chatId);
      if (pins) pins.value = applyPatches(pins.value, patches).filter((r) => r.pinned && !r.deleted && !r.hidden);
      return;
    }
    if (k.type === 'message') {
      row = messageRow(ev, k);
      chat.lastPreview = previewOf(row);
      chat.lastSenderId = sender;
      chat.lastMessageSeq = seq;
      const reading = this.activeChat.value === chatId && this.visible() && this.following;
      if (sender !== me && !reading && seq > chat.readSeq) chat.unread += 1;
      if (reading || sender === me) {
        chat.readSeq = Math.max(chat.readSeq, seq);
        if (sender === me) chat.unread = 0;
      }
      // The sender stopped typing: their indicator goes with the message.
      if (sender !== me) this.onTyping(chatId, sender, 'stopped', 0);
    } else if (k.type === 'chatCreated') {
      chat.kind = kindName(k.chatKind);
      chat.title = k.title;
      chat.members = k.members.map((m) => m.userId.toString());
      chat.owner = k.members.find((m) => m.role === 'owner')?.userId.toString() ?? '';
      chat.admins = k.members.filter((m) => m.role === 'admin').map((m) => m.userId.toString());
      chat.description = k.description;
      chat.handle = k.handle;
      chat.settings = settingsRow(k.settings);
      if (chat.memberCount === 0) chat.memberCount = chat.members.length;
      chat.left = false;
      this.askUsers(chat.members);
      row = eventRow(ev);
    } else if (k.type === 'membersAdded') {
      const ids = k.userIds.map(String);
      for (const id of ids) if (!chat.members.includes(id)) chat.members.push(id);
      if (fresh) this.infoChanged(chatId);
      if (me && ids.includes(me)) chat.left = false;
      this.askUsers([...ids, sender]);
      row = eventRow(ev);
    } else if (k.type === 'memberRemoved') {
      const id = k.userId.toString();
      if (fresh && id !== me) this.infoChanged(chatId);
      chat.members = chat.members.filter((m) => m !== id);
      chat.admins = chat.admins.filter((m) => m !== id);
      if (chat.owner === id) chat.owner = '';
      if (id === me) chat.left = true;
      row = eventRow(ev);
    } else if (k.type === 'chatUpdated') {
      const parts: string[] = [];
      if (k.title !== chat.title) parts.push(`changed the title to “${k.title}”`);
      if (k.description !== chat.description) parts.push(k.description ? 'changed the description' : 'removed the description');
      if (k.avatarRef !== chat.avatarRef) parts.push(k.avatarRef ? 'changed the picture' : 'removed the picture');
      if (k.handle !== chat.handle) parts.push(k.handle ? `set the public handle @${k.handle}` : 'removed the public handle');
      const st = settingsRow(k.settings);
      if (!sameSettings(st, chat.settings)) parts.push('changed the settings');
      chat.title = k.title;
      chat.description = k.description;
      chat.avatarRef = k.avatarRef;
      chat.handle = k.handle;
      chat.settings = st;
      row = parts.length > 0 ? notice(chatId, seq, sender, ev.timeMs, `{sender} ${parts.join(', ')}`) : eventRow(ev);
    } else if (k.type === 'roleChanged') {
      const id = k.userId.toString();
      chat.admins = chat.admins.filter((m) => m !== id);
      if (k.role === 'admin') chat.admins.push(id);
      // A channel's admins are log members; a subscriber promoted becomes one.
      if (!chat.members.includes(id) && k.role === 'admin') chat.members.push(id);
      if (fresh) this.infoChanged(chatId);
      this.askUsers([id, sender]);
      row = eventRow(ev);
    } else if (k.type === 'ownerChanged') {
      const prevOwner = k.previousOwner.toString();
      const next = k.newOwner.toString();
      chat.owner = next;
      chat.admins = chat.admins.filter((m) => m !== next);
      if (!chat.admins.includes(prevOwner)) chat.admins.push(prevOwner);
      if (!chat.members.includes(next)) chat.members.push(next);
      this.askUsers([next, prevOwner]);
      row = eventRow(ev);
    }
    chat.myRole = deriveRole(chat, me);
    chat.lastSeq = Math.max(chat.lastSeq, seq);
    chat.lastActivity = Math.max(chat.lastActivity, ev.timeMs);
    this.knownSeq.set(chatId, chat.lastSeq);
    this.setChat(chat);
    // Received: the delivered cursor follows (and the read one, if it moved above).
    this.wantReceipt(chatId, seq, chat.readSeq > prev.readSeq ? chat.readSeq : 0);
    if (row) {
      const s = this.messageSignals.get(chatId);
      if (s) s.value = mergeMessages(s.value, [row]);
      this.pendingWrite.messages.push(row);
    }
    this.pendingWrite.cursors = true;
    this.scheduleFlush();
  }

  private staleInfo = new Map<string, ReturnType<typeof setTimeout>>();

  /** Membership or roles changed live: the exact count (and, in a channel, the admins) from the
   * server, once the burst is over. Not during a sync (ListChats follows it anyway). */
  private infoChanged(chatId: string): void {
    const client = this.client;
    if (!client || this.connection.value !== 'live' || this.staleInfo.has(chatId)) return;
    this.staleInfo.set(
      chatId,
      setTimeout(() => {
        this.staleInfo.delete(chatId);
        const c = this.chats.value.get(chatId);
        if (client !== this.client || !c || c.left) return;
        client.getChat(BigInt(chatId)).then(
          (info) => client === this.client && this.adopt(info),
          () => {},
        );
      }, 300),
    );
  }

  private setChat(chat: ChatRow): void {
    const next = new Map(this.chats.value);
    next.set(chat.id, chat);
    this.chats.value = next;
    this.pendingWrite.chats.set(chat.id, chat);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      void this.flush();
    }, 30);
  }

  /** Writes what changed since the last flush, with the client's cursors, in one transaction. */
  flush(): Promise<void> {
    const db = this.db;
    const client = this.client;
    const w = this.pendingWrite;
    this.pendingWrite = emptyWrite();
    if (!db) return this.flushing;
    const kv: Array<[string, unknown]> = [];
    if (w.cursors && client) kv.push(['cursors', client.cursors().map(([c, s]) => [c.toString(), s.toString()])]);
    this.flushing = this.flushing.then(() => db.write({ chats: [...w.chats.values()], messages: w.messages, patches: w.patches, kv })).catch(() => {});
    return this.flushing;
  }

  // ------------------------------------------------------------------ chats

  /** The chat list from the server (ListChats by activity): titles, counts, previews, roles and
   * this user's state of each chat. The first page of each view now; more with `loadMoreChats`. */
  private async refreshChats(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.chatCursor = { main: null, archived: null };
    await Promise.all([this.fetchChats(client, false), this.fetchChats(client, true)]);
  }

  /** The next page of the chat list (or of the archived view). */
  async loadMoreChats(archived: boolean): Promise<void> {
    const client = this.client;
    if (client) await this.fetchChats(client, archived);
  }

  private async fetchChats(client: ClientLike, archived: boolean): Promise<void> {
    const view = archived ? 'archived' : 'main';
    const before = this.chatCursor[view];
    let page: { chats: ChatSummary[]; hasMore: boolean };
    try {
      page = await client.listChatsBy({ order: 'byActivity', archived, limit: PAGE, ...(before ? { before } : {}) });
    } catch {
      return;
    }
    if (client !== this.client) return;
    const last = page.chats[page.chats.length - 1];
    if (last) this.chatCursor[view] = { lastActivityMs: last.lastActivityMs, chatId: last.chatId };
    this.moreChats.value = { ...this.moreChats.value, [view]: page.hasMore && page.chats.length > 0 };
    const me = this.account.value?.userId;
    const next = new Map(this.chats.value);
    const pendingDelivered: Array<[string, number]> = [];
    for (const s of page.chats) {
      const id = s.chatId.toString();
      const c: ChatRow = { ...(next.get(id) ?? emptyChat(id)) };
      c.kind = kindName(s.kind);
      c.title = s.title;
      c.left = false;
      c.memberCount = s.memberCount;
      c.handle = s.handle;
      c.avatarRef = s.avatarRef;
      c.myRole = roleName(s.myRole);
      if (me && c.myRole === 'owner') c.owner = me;
      if (me && c.myRole === 'admin' && !c.admins.includes(me)) c.admins = [...c.admins, me];
      Object.assign(c, stateFields(s.state));
      // The server's read cursor counts better than this device can, unless this device has read
      // further than the server knew when it answered.
      const serverRead = Number(s.readSeq ?? 0n);
      if (serverRead >= c.readSeq && typeof s.unreadCount === 'number') c.unread = s.unreadCount;
      c.readSeq = Math.max(c.readSeq, serverRead);
      c.deliveredSeq = Math.max(c.deliveredSeq ?? 0, Number(s.deliveredSeq ?? 0n));
      // Events this device holds that the server does not know it received (a reload before the
      // coalesced receipt went out): delivered now. Never more than held (`lastSeq`).
      if (c.lastSeq > c.deliveredSeq) pendingDelivered.push([id, c.lastSeq]);
      if (s.kind === 'direct') {
        c.peerDeliveredSeq = Math.max(c.peerDeliveredSeq ?? 0, Number(s.peerDeliveredSeq ?? 0n));
        // 0 is also "hidden" (read receipts off on either side): the server's word stands.
        c.peerReadSeq = Number(s.peerReadSeq ?? 0n);
      }
      if (this.activeChat.value === id && this.following && this.visible()) c.unread = 0;
      if (s.lastActivityMs > 0) c.lastActivity = Math.max(c.lastActivity, s.lastActivityMs);
      if (s.lastMessage && Number(s.lastMessage.seq) >= c.lastSeq && s.lastMessage.kind.type === 'message') {
        c.lastPreview = previewOf(messageRow(s.lastMessage, s.lastMessage.kind));
        c.lastMessageSeq = Number(s.lastMessage.seq);
        c.lastSenderId = s.lastMessage.senderId.toString();
        c.lastActivity = Math.max(c.lastActivity, s.lastMessage.timeMs);
      }
      next.set(id, c);
      this.pendingWrite.chats.set(id, c);
    }
    this.chats.value = next;
    this.scheduleFlush();
    for (const [id, seq] of pendingDelivered) this.wantReceipt(id, seq, 0);
    this.watchVisible();
  }

  // ------------------------------------------------------------------ receipts (§6.15)

  /** Asks for this user's cursors in a chat to move to at least these seqs (0: not that one);
   * sent coalesced, at most once a second per chat, never above what this device holds. */
  private wantReceipt(chatId: string, delivered: number, read: number): void {
    const c = this.chats.value.get(chatId);
    if (!c || c.left) return;
    const sent = this.rxSent.get(chatId);
    const w = this.rxWanted.get(chatId) ?? { delivered: 0, read: 0 };
    const d = Math.max(w.delivered, delivered, read);
    const r = Math.max(w.read, read);
    if (d <= Math.max(sent?.delivered ?? 0, c.deliveredSeq ?? 0) && r <= (sent?.read ?? 0)) return;
    this.rxWanted.set(chatId, { delivered: d, read: r });
    this.scheduleReceipts();
  }

  private scheduleReceipts(): void {
    if (this.rxTimer) return;
    const now = this.env.now();
    let at = Infinity;
    for (const id of this.rxWanted.keys()) at = Math.min(at, (this.rxSent.get(id)?.at ?? -Infinity) + RECEIPT_INTERVAL_MS);
    if (at === Infinity) return;
    this.rxTimer = setTimeout(() => {
      this.rxTimer = null;
      this.sendReceipts();
    }, Math.max(0, at - now));
  }

  private sendReceipts(): void {
    const client = this.client;
    if (!client) return;
    const now = this.env.now();
    for (const [chatId, w] of [...this.rxWanted]) {
      const sent = this.rxSent.get(chatId);
      if (sent && sent.at + RECEIPT_INTERVAL_MS > now) continue;
      this.rxWanted.delete(chatId);
      const prev = sent ?? { delivered: 0, read: 0, at: 0 };
      const delivered = w.delivered > prev.delivered ? w.delivered : 0;
      const read = w.read > prev.read ? w.read : 0;
      if (!delivered && !read) continue;
      this.rxSent.set(chatId, { delivered: Math.max(prev.delivered, w.delivered), read: Math.max(prev.read, w.read), at: now });
      void quietly(() => client.markReceipts(BigInt(chatId), BigInt(delivered), BigInt(read))).then((r) => {
        if (r && client === this.client) this.onReceipt(r);
      });
    }
    this.scheduleReceipts();
  }

  private onReceipt(r: Receipt): void {
    const chatId = r.chatId.toString();
    const c = this.chats.value.get(chatId);
    if (!c) return;
    const me = this.account.value?.userId;
    const readSeq = Number(r.readSeq);
    const deliveredSeq = Number(r.deliveredSeq);
    if (r.userId.toString() === me) {
      // Another device (or this one) moved this user's cursors: unread counts follow.
      const next = { ...c, deliveredSeq: Math.max(c.deliveredSeq ?? 0, deliveredSeq) };
      if (readSeq > c.readSeq) {
        next.readSeq = readSeq;
        next.unread = readSeq >= c.lastMessageSeq ? 0 : Math.max(0, c.unread - this.othersBetween(chatId, c.readSeq, readSeq));
      }
      if (next.readSeq !== c.readSeq || next.deliveredSeq !== c.deliveredSeq || next.unread !== c.unread) this.setChat(next);
      return;
    }
    if (c.kind !== 'direct') return;
    const peerDeliveredSeq = Math.max(c.peerDeliveredSeq ?? 0, deliveredSeq);
    const peerReadSeq = r.readHidden ? 0 : Math.max(c.peerReadSeq ?? 0, readSeq);
    if (peerDeliveredSeq !== c.peerDeliveredSeq || peerReadSeq !== c.peerReadSeq) this.setChat({ ...c, peerDeliveredSeq, peerReadSeq });
  }

  /** Loaded messages from others with from < seq <= to. */
  private othersBetween(chatId: string, from: number, to: number): number {
    const me = this.account.value?.userId;
    const rows = this.messageSignals.get(chatId)?.value ?? [];
    return rows.filter((m) => m.state === 'sent' && !m.notice && m.senderId !== me && m.seq > from && m.seq <= to).length;
  }

  /** The open conversation has shown the rows up to `seq` (its newest row seen in the view): the
   * read cursor moves there, never back, never past what this device holds, and not at all while
   * the page is hidden. The receipt goes out coalesced (`wantReceipt`); the unread count follows
   * at once. */
  markSeen(chatId: string, seq: number): void {
    const c = this.chats.value.get(chatId);
    if (!c || seq <= c.readSeq || !this.visible()) return;
    const upTo = Math.min(seq, c.lastSeq);
    if (upTo <= c.readSeq) return;
    const unread = upTo >= c.lastMessageSeq ? 0 : Math.max(0, c.unread - this.othersBetween(chatId, c.readSeq, upTo));
    this.setChat({ ...c, readSeq: upTo, unread });
    this.wantReceipt(chatId, upTo, upTo);
  }

  /** Who has a message (groups: "read by" / "delivered to"). Counts are over the members other
   * than this user; in chats of more than 256 members there are counts only (`receipts:
   * 'counts'`, the lists empty). */
  async receipts(chatId: string, seq: number): Promise<{ readBy: string[]; deliveredTo: string[]; deliveredCount: number; readCount: number; memberCount: number; receipts: 'listed' | 'counts' }> {
    const l = await this.need().getReceipts(BigInt(chatId), BigInt(seq));
    if (isLargeChat(l) || isLargeChat(this.chats.value.get(chatId) ?? { memberCount: 0 })) {
      // Over all members, this user included: the same reading as the pushed counts.
      const raw: CountsRow = { seq, delivered: l.deliveredCount, read: l.readCount, members: l.memberCount };
      this.keepCounts(chatId, raw);
      const k = this.othersOf(chatId, raw);
      return { readBy: [], deliveredTo: [], deliveredCount: k.delivered, readCount: k.read, memberCount: l.memberCount, receipts: 'counts' };
    }
    const readBy = l.receipts.filter((r) => !r.readHidden && r.readSeq >= BigInt(seq)).map((r) => r.userId.toString());
    const deliveredTo = l.receipts.map((r) => r.userId.toString()).filter((id) => !readBy.includes(id));
    this.askUsers([...readBy, ...deliveredTo]);
    return { readBy, deliveredTo, deliveredCount: l.deliveredCount, readCount: l.readCount, memberCount: l.memberCount, receipts: 'listed' };
  }

  private onReceiptCounts(k: ReceiptCounts): void {
    this.keepCounts(k.chatId.toString(), { seq: Number(k.seq), delivered: k.deliveredCount, read: k.readCount, members: k.memberCount });
  }

  /** The newest counts of a chat (a later message's replace an earlier one's; the engine only
   * counts the newest message). */
  private keepCounts(chatId: string, k: CountsRow): void {
    const prev = this.receiptCounts.value.get(chatId);
    if (prev && prev.seq > k.seq) return;
    const next = new Map(this.receiptCounts.value);
    next.set(chatId, k);
    this.receiptCounts.value = next;
  }

  /** A large chat's counts as this user reads them: over the other members (this user's own
   * cursors are in the engine's counts once they reached the message). */
  othersOf(chatId: string, k: CountsRow): CountsRow {
    const c = this.chats.value.get(chatId);
    // This device's cursors (the read one goes out within a second of moving); reading implies
    // delivery, and with read receipts off one's reads are not counted.
    const read = c?.readSeq ?? 0;
    const delivered = Math.max(c?.deliveredSeq ?? 0, read) >= k.seq;
    return othersCounts(k, { delivered, read: (this.privacy.value?.readReceipts ?? true) && read >= k.seq });
  }

  /** A large chat just opened whose newest message is this user's: its counts now (pushes only
   * come when a cursor moves). */
  private askCounts(chatId: string): void {
    const c = this.chats.value.get(chatId);
    const me = this.account.value?.userId;
    if (!c || !isLargeChat(c) || !me || c.lastSenderId !== me || !c.lastMessageSeq || this.receiptCounts.value.get(chatId)?.seq === c.lastMessageSeq) return;
    void quietly(() => this.receipts(chatId, c.lastMessageSeq));
  }

  /** Whether the loaded rows of a chat reach back to just after `mark` (or to its start). */
  reachesMark(chatId: string, mark: number): boolean {
    const oldest = this.messages(chatId).value.find((m) => m.state === 'sent');
    return (!!oldest && oldest.seq <= mark + 1) || !this.hasOlder(chatId);
  }

  /** Loads history back to where the open chat's unread messages start; the first of them. */
  async loadToFirstUnread(chatId: string): Promise<MessageRow | undefined> {
    const mark = this.unreadMark.value.get(chatId);
    if (mark === undefined) return undefined;
    const s = this.messages(chatId);
    for (let i = 0; i < 1000 && !this.reachesMark(chatId, mark); i++) {
      const before = s.value.length;
      await this.loadOlder(chatId);
      if (s.value.length === before) await new Promise((r) => setTimeout(r, 50));
    }
    return firstUnread(s.value, mark, this.account.value?.userId);
  }

  /** Goes to the first unread message of the open chat (loading history up to it). */
  async revealFirstUnread(chatId: string): Promise<void> {
    const first = await this.loadToFirstUnread(chatId);
    if (first) this.focus.value = { chatId, seq: first.seq };
  }

  // ------------------------------------------------------------------ privacy, presence, typing (§6.15)

  async setPrivacy(patch: { readReceipts?: boolean; lastSeen?: LastSeenVisibility }): Promise<void> {
    this.applyPrivacy(await this.need().setPrivacy(patch));
  }

  /** With read receipts off this user sees nobody's reads (the server's cursors say 0 then);
   * back on, the chat list brings the cursors back. */
  private applyPrivacy(p: Privacy): void {
    const before = this.privacy.value;
    this.privacy.value = p;
    if (!before || before.readReceipts === p.readReceipts) return;
    if (!p.readReceipts) {
      const next = new Map(this.chats.value);
      for (const [id, c] of next) if (c.kind === 'direct' && c.peerReadSeq) next.set(id, { ...c, peerReadSeq: 0 });
      this.chats.value = next;
    } else void this.refreshChats();
  }

  /** The user is interacting (a key, a click): reported at most every 30 s. */
  activity(): void {
    const client = this.client;
    const now = this.env.now();
    if (!client || this.connection.value !== 'live' || now - this.lastActivity < ACTIVITY_INTERVAL_MS) return;
    this.lastActivity = now;
    void quietly(() => client.setPresence({ activity: true }));
  }

  /** The composer's text changed: says "typing" (repeated every 2.5 s while it lasts) or, once
   * the text is gone, "stopped". */
  composing(chatId: string, hasText: boolean): void {
    const client = this.client;
    if (!client || this.connection.value !== 'live') return;
    const last = this.typingSent.get(chatId);
    const now = this.env.now();
    if (hasText) {
      if (last !== undefined && now - last < TYPING_REFRESH_MS) return;
      this.typingSent.set(chatId, now);
      void quietly(() => client.setTyping(BigInt(chatId), 'typing'));
    } else this.stopTyping(chatId);
  }

  /** Sent, cleared or left: "stopped", if this device said it was typing. */
  stopTyping(chatId: string): void {
    const client = this.client;
    if (!client || !this.typingSent.has(chatId)) return;
    this.typingSent.delete(chatId);
    void quietly(() => client.setTyping(BigInt(chatId), 'stopped'));
  }

  private onTyping(chatId: string, userId: string, kind: 'stopped' | 'typing' | 'recordingVoice', expiresInMs: number): void {
    if (userId === this.account.value?.userId) return;
    const key = `${chatId}:${userId}`;
    const t = this.typingTimers.get(key);
    if (t) clearTimeout(t);
    this.typingTimers.delete(key);
    const inChat = new Map(this.typing.value.get(chatId) ?? []);
    if (kind === 'stopped') {
      if (!inChat.delete(userId)) return;
    } else {
      inChat.set(userId, { kind, until: this.env.now() + expiresInMs });
      this.typingTimers.set(key, setTimeout(() => this.onTyping(chatId, userId, 'stopped', 0), expiresInMs));
      this.askUsers([userId]);
    }
    const next = new Map(this.typing.value);
    if (inChat.size > 0) next.set(chatId, inChat);
    else next.delete(chatId);
    this.typing.value = next;
  }

  private onPresence(u: PresenceUpdate): void {
    if (u.users.length > 0) {
      const next = new Map(this.presence.value);
      for (const p of u.users) next.set(p.userId.toString(), { status: p.status, lastSeenMs: p.lastSeenMs });
      this.presence.value = next;
    }
    if (u.chats.length > 0) {
      const next = new Map(this.chatOnline.value);
      for (const c of u.chats) next.set(c.chatId.toString(), { online: c.online, memberCount: c.memberCount });
      this.chatOnline.value = next;
    }
  }

  /** Do not disturb on or off (stored by the server, on all this user's devices, shown to the
   * people who watch them). Shown here at once; the watch on oneself brings the server's word. */
  async setDnd(on: boolean): Promise<void> {
    const me = this.account.value?.userId;
    await this.need().setPresence({ dnd: on });
    if (!me) return;
    const prev = this.presence.value.get(me);
    if ((prev?.status === 'doNotDisturb') === on) return;
    const next = new Map(this.presence.value);
    next.set(me, { status: on ? 'doNotDisturb' : 'online', lastSeenMs: 0 });
    this.presence.value = next;
  }

  /** This user's own presence (watched like a peer's: do not disturb is kept by the server). */
  myPresence(): PresenceRow | undefined {
    const me = this.account.value?.userId;
    return me ? this.presence.value.get(me) : undefined;
  }

  /** The people shown: this user (their own do-not-disturb), the other member of the open chat
   * and of the direct chats at the top of the list; and the open group's or channel's online
   * count. Watched again (replacing the set) when they change, after each reconnect, and every
   * 30 s while a group is open (its count is a snapshot). */
  private watchVisible(): void {
    if (this.watchTimer) return;
    this.watchTimer = setTimeout(() => {
      this.watchTimer = null;
      const client = this.client;
      const me = this.account.value?.userId;
      if (!client || !me) return;
      const peers = new Set<string>([me]);
      const peerOf = (c: ChatRow | undefined) => c?.kind === 'direct' && !c.left && c.members.find((m) => m !== me);
      const open = this.chats.value.get(this.activeChat.value ?? '');
      const active = peerOf(open);
      if (active) peers.add(active);
      for (const c of this.chatList.value.slice(0, WATCHED_CHATS)) {
        const p = peerOf(c);
        if (p) peers.add(p);
      }
      const ids = [...peers].sort();
      const chats = open && (open.kind === 'group' || open.kind === 'channel') && !open.left ? [open.id] : [];
      if (this.onlineTimer) clearTimeout(this.onlineTimer);
      this.onlineTimer = null;
      if (chats.length > 0) {
        this.onlineTimer = setTimeout(() => {
          this.onlineTimer = null;
          this.watchKey = '';
          this.watchVisible();
        }, ONLINE_REFRESH_MS);
      }
      const key = `${ids.join(',')}|${chats.join(',')}`;
      if (key === this.watchKey) return;
      this.watchKey = key;
      void quietly(() => client.watchPresence(ids.map((id) => BigInt(id)), chats.map((id) => BigInt(id)))).then((u) => {
        if (u && client === this.client) this.onPresence(u);
        else if (client === this.client) this.watchKey = '';
      });
    }, 100);
  }

  // ------------------------------------------------------------------ per-user chat state

  private applyState(chatId: string, st: ChatState): void {
    const c = this.chats.value.get(chatId);
    if (c) this.setChat({ ...c, ...stateFields(st) });
  }

  /** Changes this user's state of a chat (on all their devices: the others get a push). */
  async setState(chatId: string, patch: ChatStatePatch): Promise<void> {
    const st = await this.need().setChatState(BigInt(chatId), patch);
    this.applyState(chatId, st);
  }

  pin(chatId: string, pinned: boolean): Promise<void> {
    return this.setState(chatId, { pinned });
  }

  /** Moves a pinned chat one place up (-1) or down (+1) among the pinned ones (ReorderPinned;
   * every device gets the new ranks pushed). */
  async movePinned(chatId: string, by: -1 | 1): Promise<void> {
    const pinned = this.chatList.value.filter(isPinned).map((c) => c.id);
    const i = pinned.indexOf(chatId);
    const j = i + by;
    if (i < 0 || j < 0 || j >= pinned.length) return;
    [pinned[i], pinned[j]] = [pinned[j]!, pinned[i]!];
    await this.need().reorderPinned(pinned.map((id) => BigInt(id)));
  }

  /** `untilMs` 0 unmutes; MUTED_FOREVER mutes for good. */
  mute(chatId: string, untilMs: number): Promise<void> {
    return this.setState(chatId, { mutedUntilMs: untilMs });
  }

  archive(chatId: string, archived: boolean): Promise<void> {
    return this.setState(chatId, { archived });
  }

  /** Marks a chat unread (a badge until opened) or read. */
  async markUnread(chatId: string, unread: boolean): Promise<void> {
    if (!unread) this.markRead(chatId);
    await this.setState(chatId, { markedUnread: unread });
  }

  private async onMembership(client: ClientLike, chatId: string, member: boolean): Promise<void> {
    if (!member) {
      const c = this.chats.value.get(chatId);
      if (c) this.setChat({ ...c, left: true, myRole: 'member' });
      return;
    }
    try {
      const info = await client.getChat(BigInt(chatId));
      if (client === this.client) this.adopt(info);
    } catch {
      /* best effort: the next ListChats has it */
    }
  }

  /** The message list of a chat (loaded from the cache on first use). */
  messages(chatId: string): Signal<MessageRow[]> {
    let s = this.messageSignals.get(chatId);
    if (!s) {
      s = signal<MessageRow[]>([]);
      this.messageSignals.set(chatId, s);
      void this.loadCached(chatId, s).catch(() => {});
    }
    return s;
  }

  private async loadCached(chatId: string, s: Signal<MessageRow[]>): Promise<void> {
    await this.flush();
    const db = this.db;
    if (!db) return;
    const rows = await db.messages(chatId);
    s.value = mergeMessages(s.value, rows);
    if (rows.length > 0 && rows[0]!.seq === 1) this.complete.add(chatId);
    if (s.value.filter((m) => m.state === 'sent').length < 30) void this.loadOlder(chatId);
  }

  hasOlder(chatId: string): boolean {
    return !this.complete.has(chatId);
  }

  private loadingOlder = new Set<string>();

  /** One page of older history from the server, kept in the cache. */
  async loadOlder(chatId: string): Promise<void> {
    const client = this.client;
    if (!client || this.complete.has(chatId) || this.loadingOlder.has(chatId)) return;
    const s = this.messages(chatId);
    const oldest = s.value.find((m) => m.state === 'sent');
    this.loadingOlder.add(chatId);
    try {
      const page = await client.history(BigInt(chatId), BigInt(oldest ? oldest.seq : 0), 'backward', PAGE);
      const rows = pageRows(page);
      if (!page.hasMore) this.complete.add(chatId);
      s.value = mergeMessages(s.value, rows);
      this.pendingWrite.messages.push(...rows);
      this.scheduleFlush();
    } catch {
      /* offline: retried on the next scroll */
    } finally {
      this.loadingOlder.delete(chatId);
    }
  }

  /** Shows a chat. Nothing is marked read here: the message list reports the rows it shows
   * (`markSeen`). A chat with unread messages opens at them (the divider), not at the newest. */
  open(chatId: string | null): void {
    const was = this.activeChat.value;
    if (was && was !== chatId) this.stopTyping(was);
    this.activeChat.value = chatId;
    if (chatId && chatId !== was) {
      // Where the unread messages start, for the divider (kept while the chat stays open).
      const c = this.chats.value.get(chatId);
      const mark = new Map<string, number>();
      if (c && c.unread > 0) mark.set(chatId, c.readSeq);
      this.unreadMark.value = mark;
      // Not at the newest until the list says it is there.
      this.following = !mark.has(chatId);
      this.askCounts(chatId);
    }
    this.watchVisible();
    if (chatId) {
      const c = this.chats.value.get(chatId);
      if (c?.markedUnread) void this.setState(chatId, { markedUnread: false }).catch(() => {});
    }
  }

  markRead(chatId: string): void {
    const c = this.chats.value.get(chatId);
    if (c && (c.unread > 0 || c.readSeq < c.lastSeq)) this.setChat({ ...c, unread: 0, readSeq: c.lastSeq });
    if (c && c.lastSeq > 0 && this.visible()) this.wantReceipt(chatId, c.lastSeq, c.lastSeq);
  }

  // ------------------------------------------------------------------ sending

  /** Shows the message at once and hands it to the client's outbox (durable, resent until
   * acknowledged, also across reloads and while offline). */
  send(chatId: string, content: string, extra: Outgoing = {}): string {
    const client = this.client;
    const text = content.replace(/\s+$/u, '');
    const attached = !!(extra.place || extra.contact);
    if (!client || (!text.trim() && !attached)) return '';
    const clientMsgId = this.env.newId();
    const options = sendOptions(extra);
    this.stopTyping(chatId);
    this.addPending(this.pendingRow(chatId, clientMsgId, text, options));
    this.track(client, chatId, clientMsgId, client.sendWithId(BigInt(chatId), clientMsgId, text, options));
    return clientMsgId;
  }

  retry(chatId: string, clientMsgId: string): void {
    const client = this.client;
    const row = this.messages(chatId).value.find((m) => m.clientMsgId === clientMsgId && m.state === 'failed');
    if (!client || !row) return;
    this.updatePending(chatId, clientMsgId, { state: 'sending' });
    this.track(client, chatId, clientMsgId, client.sendWithId(BigInt(chatId), clientMsgId, row.content, sendOptions(outgoingOf(row))));
  }

  private addPending(row: MessageRow): void {
    const s = this.messages(row.chatId);
    if (s.value.some((m) => m.clientMsgId === row.clientMsgId)) return;
    s.value = [...s.value, row];
  }

  private updatePending(chatId: string, clientMsgId: string, patch: Partial<MessageRow>): void {
    const s = this.messages(chatId);
    s.value = s.value.map((m) => (m.clientMsgId === clientMsgId && m.state !== 'sent' ? { ...m, ...patch } : m));
  }

  private track(client: ClientLike, chatId: string, clientMsgId: string, acked: Promise<SendAck>): void {
    acked.then(
      (ack) => {
        if (client !== this.client) return;
        // The ack confirms it; the event (arriving too) replaces it by seq without a duplicate.
        const s = this.messages(chatId);
        const pending = s.value.find((m) => m.clientMsgId === clientMsgId);
        if (pending && !s.value.some((m) => m.state === 'sent' && m.seq === Number(ack.seq))) {
          s.value = mergeMessages(s.value, [{ ...pending, seq: Number(ack.seq), timeMs: ack.timeMs, state: 'sent' }]);
        }
      },
      () => {
        if (client === this.client) this.updatePending(chatId, clientMsgId, { state: 'failed' });
      },
    );
  }

  // ------------------------------------------------------------------ message features

  /** Applies patches to a chat's rows in memory and, in the next flush, to its cached rows. */
  private patchMessages(chatId: string, patches: Patch[]): void {
    const s = this.messageSignals.get(chatId);
    if (s) s.value = applyPatches(s.value, patches);
    for (const patch of patches) this.pendingWrite.patches.push({ chatId, patch });
    this.scheduleFlush();
  }

  /** A pending row as the composer sent it (its quote from the row it replies to). */
  private pendingRow(chatId: string, clientMsgId: string, content: string, o: SendOptions): MessageRow {
    const me = this.account.value?.userId ?? '';
    const quoted = o.replyToSeq ? this.messageSignals.get(chatId)?.value.find((m) => m.seq === Number(o.replyToSeq) && m.state === 'sent') : undefined;
    const a = o.attachment;
    return {
      chatId, seq: Number.MAX_SAFE_INTEGER, clientMsgId, senderId: me, timeMs: this.env.now(), content, state: 'sending',
      ...(quoted ? { replyTo: { seq: quoted.seq, senderId: quoted.senderId, preview: quotePreview(quoted), deleted: false } } : {}),
      ...(o.mentions?.length ? { mentions: o.mentions.map(String) } : {}),
      ...(o.mentionAll ? { mentionAll: true } : {}),
      ...(a?.type === 'location' ? { place: { ...a.location } } : {}),
      ...(a?.type === 'contact' ? { contact: { ...a.contact, userId: a.contact.userId ? a.contact.userId.toString() : '' } } : {}),
    };
  }

  /** Replaces the text of one's own message; the change arrives as its event. */
  async edit(chatId: string, seq: number, content: string, mentions: string[] = []): Promise<void> {
    await this.need().editMessage(BigInt(chatId), BigInt(seq), content.replace(/\s+$/u, ''), mentions.map((m) => BigInt(m)));
  }

  /** For everyone (a tombstone follows as an event) or for this user only (hidden at once here,
   * pushed to their other devices). */
  async deleteMessages(chatId: string, seqs: number[], forEveryone: boolean): Promise<void> {
    await this.need().deleteMessages(BigInt(chatId), seqs.map((q) => BigInt(q)), forEveryone);
    if (!forEveryone) this.hide(chatId, seqs);
  }

  /** Deleted for me: hidden from the list, the cache and the pins. */
  private hide(chatId: string, seqs: number[]): void {
    this.patchMessages(chatId, [hidePatch(seqs)]);
    const pins = this.pinSignals.get(chatId);
    if (pins) pins.value = pins.value.filter((r) => !seqs.includes(r.seq));
  }

  /** Toggles this user's reaction; the new counts arrive as an event. */
  async react(chatId: string, seq: number, emoji: string, add: boolean): Promise<void> {
    await this.need().react(BigInt(chatId), BigInt(seq), emoji, add);
  }

  /** Who reacted to a message (with `emoji`: with that one), by name. */
  async whoReacted(chatId: string, seq: number, emoji?: string): Promise<Array<{ userId: string; emojis: string[] }>> {
    const { users } = await this.need().listReactions(BigInt(chatId), BigInt(seq), emoji ? { emoji } : {});
    const rows = users.map((u) => ({ userId: u.userId.toString(), emojis: u.emojis }));
    this.askUsers(rows.map((u) => u.userId));
    return rows;
  }

  async pinMessage(chatId: string, seq: number, pinned: boolean): Promise<void> {
    await this.need().pinMessage(BigInt(chatId), BigInt(seq), pinned);
  }

  private readonly pinSignals = new Map<string, Signal<MessageRow[]>>();

  /** A chat's pinned messages, most recently pinned first (fetched on first use, refetched when
   * a pin changes). */
  pins(chatId: string): Signal<MessageRow[]> {
    let s = this.pinSignals.get(chatId);
    if (!s) {
      s = signal<MessageRow[]>([]);
      this.pinSignals.set(chatId, s);
      this.pinsChanged(chatId);
    }
    return s;
  }

  private pinsChanged(chatId: string): void {
    const s = this.pinSignals.get(chatId);
    const client = this.client;
    if (!s || !client) return;
    client.listPins(BigInt(chatId)).then(
      (list) => {
        if (client !== this.client) return;
        s.value = list.flatMap((st) => stateRow(st.event, st) ?? []).filter((r) => !r.hidden);
        this.askUsers(s.value.map((r) => r.senderId));
      },
      () => {},
    );
  }

  /** Forwards one message to each of `targets`; the per-chat outcome. */
  async forward(chatId: string, seq: number, targets: string[]): Promise<ForwardAck> {
    return this.need().forwardMessage(BigInt(chatId), BigInt(seq), targets.map((t) => BigInt(t)), this.env.newId());
  }

  /** Every version of a message, the original first. */
  async versions(chatId: string, seq: number): Promise<Array<{ content: string; timeMs: number }>> {
    return (await this.need().getMessageVersions(BigInt(chatId), BigInt(seq))).map((v) => ({ content: v.content, timeMs: v.timeMs }));
  }

  /** Messages that mention this user, newest first; `more` continues after the last ones. */
  readonly mentions = signal<{ rows: MessageRow[]; hasMore: boolean; before: bigint }>({ rows: [], hasMore: false, before: 0n });

  async loadMentions(more = false): Promise<void> {
    const client = this.need();
    const before = more ? this.mentions.value.before : 0n;
    const page = await client.listMentions({ beforeMessageId: before, limit: 50 });
    // The page spans chats: a state names its message by (chat, seq).
    const key = (chatId: bigint, seq: bigint) => `${chatId}:${seq}`;
    const states = new Map(page.states.map((st) => [key(st.chatId, st.seq), st]));
    const rows = page.events.flatMap((e) => stateRow(e, states.get(key(e.chatId, e.seq))) ?? []).filter((r) => !r.hidden);
    const last = page.events[page.events.length - 1];
    this.mentions.value = {
      rows: more ? [...this.mentions.value.rows, ...rows] : rows,
      hasMore: page.hasMore,
      before: last && last.kind.type === 'message' ? last.kind.messageId : before,
    };
    this.askUsers(rows.map((r) => r.senderId));
  }

  /** Sends a place (live for `liveMinutes` when given) with an optional caption. */
  sendPlace(chatId: string, place: PlaceRow, caption = '', liveMinutes = 0): string {
    const liveUntilMs = liveMinutes > 0 ? this.env.now() + liveMinutes * 60_000 : 0;
    return this.send(chatId, caption, { place: { ...place, liveUntilMs } });
  }

  sendContact(chatId: string, contact: ContactRow): string {
    return this.send(chatId, '', { contact });
  }

  /** Moves one's live location on, or stops it. */
  async moveLive(chatId: string, seq: number, at: { latitude: number; longitude: number; accuracyM: number }, stop = false): Promise<void> {
    await this.need().updateLiveLocation(BigInt(chatId), BigInt(seq), { ...at, stop });
  }

  /** The message the conversation should show and highlight (a quote or a mention clicked). */
  readonly focus = signal<{ chatId: string; seq: number } | null>(null);

  /** Opens a chat at a message, loading older history until it is there. */
  async reveal(chatId: string, seq: number): Promise<void> {
    if (this.activeChat.value !== chatId) this.open(chatId);
    const s = this.messages(chatId);
    for (let i = 0; i < 1000; i++) {
      const oldest = s.value.find((m) => m.state === 'sent');
      if ((oldest && oldest.seq <= seq) || !this.hasOlder(chatId)) break;
      const before = s.value.length;
      await this.loadOlder(chatId);
      // Offline, or another load in flight: try once more after it, then give up.
      if (s.value.length === before) await new Promise((r) => setTimeout(r, 50));
    }
    this.focus.value = { chatId, seq };
  }

  // ------------------------------------------------------------------ people and groups

  private need(): ClientLike {
    if (!this.client) throw new Error('not signed in');
    return this.client;
  }

  async startDirect(username: string): Promise<string> {
    const info = await this.need().createDirect(username.trim());
    this.rememberUsers([]);
    return this.adopt(info);
  }

  async createGroup(title: string, usernames: string[]): Promise<string> {
    return this.createChat({ kind: 'group', title, usernames });
  }

  /** A new group or channel; the caller owns it. Unknown usernames fail before anything is made. */
  async createChat(o: { kind: 'group' | 'channel'; title: string; usernames: string[]; description?: string; handle?: string; settings?: SettingsRow }): Promise<string> {
    const client = this.need();
    const users = await this.lookupAll(o.usernames);
    const info = await client.createChat({
      kind: o.kind, title: o.title.trim(), memberIds: users.map((u) => u.userId), description: o.description?.trim() ?? '',
      handle: o.handle?.trim().replace(/^@/u, '').toLowerCase() ?? '', ...(o.settings ? { settings: o.settings } : {}),
    });
    return this.adopt(info);
  }

  private async lookupAll(usernames: string[]): Promise<UserInfo[]> {
    const client = this.need();
    const names = [...new Set(usernames.map((u) => u.trim().replace(/^@/u, '')).filter(Boolean))];
    const users = await Promise.all(names.map((u) => client.lookupUser(u)));
    this.rememberUsers(users.map((u) => [u.userId.toString(), u.username]));
    return users;
  }

  /** Fresh info from the server (counts, roles, settings, pending requests). */
  async refreshChat(chatId: string): Promise<void> {
    const info = await this.need().getChat(BigInt(chatId));
    this.adopt(info);
  }

  async listMembers(chatId: string, afterUserId: string, limit = 50): Promise<{ members: Array<{ userId: string; role: RoleName }>; hasMore: boolean }> {
    const page = await this.need().listMembers(BigInt(chatId), { afterUserId: BigInt(afterUserId || '0'), limit });
    this.askUsers(page.members.map((m) => m.userId.toString()));
    return { members: page.members.map((m) => ({ userId: m.userId.toString(), role: roleName(m.role) })), hasMore: page.hasMore };
  }

  async updateInfo(chatId: string, patch: ChatInfoPatch): Promise<void> {
    const c = this.chats.value.get(chatId);
    // Only what changed (an unchanged field would still count as a change request).
    const p: ChatInfoPatch = {};
    if (patch.title !== undefined && patch.title.trim() !== c?.title) p.title = patch.title.trim();
    if (patch.description !== undefined && patch.description.trim() !== c?.description) p.description = patch.description.trim();
    if (patch.avatarRef !== undefined && patch.avatarRef.trim() !== c?.avatarRef) p.avatarRef = patch.avatarRef.trim();
    if (patch.handle !== undefined) {
      const h = patch.handle.trim().replace(/^@/u, '').toLowerCase();
      if (h !== c?.handle) p.handle = h;
    }
    if (patch.settings !== undefined && (!c || !sameSettings(settingsRow(patch.settings), c.settings))) p.settings = patch.settings;
    if (Object.keys(p).length === 0) return;
    await this.need().updateChat(BigInt(chatId), p);
  }

  async setRole(chatId: string, userId: string, role: 'member' | 'admin'): Promise<void> {
    await this.need().setRole(BigInt(chatId), BigInt(userId), role);
  }

  async transferOwnership(chatId: string, userId: string): Promise<void> {
    await this.need().transferOwnership(BigInt(chatId), BigInt(userId));
  }

  // ------------------------------------------------------------------ invites and joining

  async createInvite(chatId: string, expiresMs: number, maxUses: number): Promise<Invite> {
    return this.need().createInvite(BigInt(chatId), { expiresMs, maxUses });
  }

  async listInvites(chatId: string): Promise<Invite[]> {
    const list = await this.need().listInvites(BigInt(chatId));
    this.askUsers(list.map((i) => i.createdBy.toString()));
    return list;
  }

  async revokeInvite(chatId: string, code: string): Promise<void> {
    await this.need().revokeInvite(BigInt(chatId), code);
  }

  previewChat(target: JoinTarget): Promise<ChatPreview> {
    return this.need().previewChat(target);
  }

  /** Joins by link or handle: the chat id once joined, or `pending` while an admin decides. */
  async join(target: JoinTarget): Promise<{ joined: string } | { pending: string }> {
    const r = await this.need().joinChat(target);
    if (r.type === 'pending') return { pending: r.chatId.toString() };
    return { joined: this.adopt(r.chat) };
  }

  async listJoinRequests(chatId: string): Promise<Array<{ userId: string; timeMs: number }>> {
    const list = await this.need().listJoinRequests(BigInt(chatId));
    this.askUsers(list.map((r) => r.userId.toString()));
    const c = this.chats.value.get(chatId);
    if (c && c.pendingRequests !== list.length) this.setChat({ ...c, pendingRequests: list.length });
    return list.map((r) => ({ userId: r.userId.toString(), timeMs: r.timeMs }));
  }

  async resolveJoinRequest(chatId: string, userId: string, approve: boolean): Promise<void> {
    await this.need().resolveJoinRequest(BigInt(chatId), BigInt(userId), approve);
    const c = this.chats.value.get(chatId);
    if (c) this.setChat({ ...c, pendingRequests: Math.max(0, c.pendingRequests - 1) });
  }

  // ------------------------------------------------------------------ broadcast lists

  async refreshBroadcastLists(): Promise<void> {
    const lists = await this.need().listBroadcastLists();
    this.broadcastLists.value = lists;
    this.askUsers(lists.flatMap((l) => l.recipientIds.map(String)));
  }

  async saveBroadcastList(listId: bigint | null, name: string, usernames: string[]): Promise<BroadcastList> {
    const users = await this.lookupAll(usernames);
    const saved = await this.need().saveBroadcastList({ ...(listId ? { listId } : {}), name: name.trim(), recipientIds: users.map((u) => u.userId) });
    const rest = this.broadcastLists.value.filter((l) => l.listId !== saved.listId);
    this.broadcastLists.value = [...rest, saved].sort((a, b) => (a.listId < b.listId ? -1 : 1));
    return saved;
  }

  async deleteBroadcastList(listId: bigint): Promise<void> {
    await this.need().deleteBroadcastList(listId);
    this.broadcastLists.value = this.broadcastLists.value.filter((l) => l.listId !== listId);
  }

  /** Sends one message to each recipient's direct chat; the per-recipient results. */
  async sendBroadcast(listId: bigint, content: string): Promise<BroadcastAck> {
    return this.need().sendBroadcast(listId, content.replace(/\s+$/u, ''), this.env.newId());
  }

  /** A user by name (remembered for display). */
  async lookup(username: string): Promise<{ userId: string; username: string }> {
    const u = await this.need().lookupUser(username.trim().replace(/^@/u, ''));
    this.rememberUsers([[u.userId.toString(), u.username]]);
    return { userId: u.userId.toString(), username: u.username };
  }

  async addMember(chatId: string, username: string): Promise<void> {
    const client = this.need();
    const u = await client.lookupUser(username.trim());
    this.rememberUsers([[u.userId.toString(), u.username]]);
    await client.addMembers(BigInt(chatId), [u.userId]);
  }

  async removeMember(chatId: string, userId: string): Promise<void> {
    await this.need().removeMember(BigInt(chatId), BigInt(userId));
  }

  /** Leaves a group or channel; an owner names who takes over (else the longest-serving admin). */
  async leave(chatId: string, successor?: string): Promise<void> {
    await this.need().leaveChat(BigInt(chatId), successor ? BigInt(successor) : undefined);
    const c = this.chats.value.get(chatId);
    // A channel subscriber's leave is no event in the log: mark it here.
    if (c && c.kind === 'channel' && !c.left) this.setChat({ ...c, left: true, myRole: 'member' });
    if (this.activeChat.value === chatId) this.activeChat.value = null;
  }

  /** A chat the server answered with (created, joined, fetched): shown at once, before its
   * events arrive, and its info, counts and roles taken as they are. */
  private adopt(info: ChatInfo): string {
    const id = info.chatId.toString();
    const prev = this.chats.value.get(id) ?? { ...emptyChat(id), lastActivity: info.createdMs };
    this.setChat(withInfo(prev, info, this.account.value?.userId));
    this.askUsers(info.members.map((m) => m.userId.toString()));
    return id;
  }

  /** A display name for a user id ("…" until known). */
  userName(id: string): string {
    return this.users.value.get(id) ?? `user ${id}`;
  }

  /** What a chat is called: its title, or for a direct chat the other person's name. */
  chatName(c: ChatRow): string {
    if (c.kind === 'direct' || (c.kind !== 'channel' && !c.title && c.members.length > 0)) {
      const me = this.account.value?.userId;
      const other = c.members.find((m) => m !== me) ?? me;
      if (other) return this.userName(other);
    }
    return c.title || `chat ${c.id}`;
  }

  private askUsers(ids: string[]): void {
    const client = this.client;
    const missing = ids.filter((id) => !this.users.value.has(id) && !this.askedUsers.has(id));
    if (!client || missing.length === 0) return;
    for (const id of missing) this.askedUsers.add(id);
    client.getUsers(missing.map((id) => BigInt(id))).then(
      (users) => this.rememberUsers(users.map((u) => [u.userId.toString(), u.username])),
      () => {
        for (const id of missing) this.askedUsers.delete(id);
      },
    );
  }

  private rememberUsers(pairs: Array<[string, string]>): void {
    if (pairs.length === 0) return;
    const next = new Map(this.users.value);
    for (const [id, name] of pairs) next.set(id, name);
    this.users.value = next;
    void this.db?.write({ chats: [], messages: [], kv: [['users', [...next]]] }).catch(() => {});
  }

  // ------------------------------------------------------------------ devices

  async refreshDevices(): Promise<void> {
    this.devices.value = await this.need().listDevices();
  }

  async revokeDevice(deviceId: bigint): Promise<void> {
    await this.need().revokeDevice(deviceId);
    await this.refreshDevices();
  }
}

function notice(chatId: string, seq: number, sender: string, timeMs: number, text: string, subjects: string[] = []): MessageRow {
  return { chatId, seq, clientMsgId: '', senderId: sender, timeMs, content: '', state: 'sent', notice: text, subjects };
}

/** A history event as a row (member changes as notices; events about other messages and
 * unknown kinds skipped). */
function historyRow(ev: ChatEvent): MessageRow | null {
  const k = ev.kind;
  if (k.type === 'message') return messageRow(ev, k);
  return eventRow(ev);
}

/** A history page's rows with their messages' states applied. */
export function pageRows(page: HistoryPage): MessageRow[] {
  const states = new Map(page.states.map((st) => [Number(st.seq), st]));
  return page.events.flatMap((ev) => {
    const r = historyRow(ev);
    if (!r) return [];
    const st = r.notice ? undefined : states.get(r.seq);
    return [st ? withState(r, st) : r];
  });
}

/** The first message from someone else after `mark` (the unread divider goes before it). */
export function firstUnread(rows: readonly MessageRow[], mark: number, me: string | undefined): MessageRow | undefined {
  return rows.find((r) => r.state === 'sent' && !r.notice && !r.hidden && r.senderId !== me && r.seq > mark);
}

interface PendingWrite {
  chats: Map<string, ChatRow>;
  messages: MessageRow[];
  patches: RowPatch[];
  cursors: boolean;
}

function emptyWrite(): PendingWrite {
  return { chats: new Map(), messages: [], patches: [], cursors: false };
}

/** A pin list's or a mention list's message with its state, or null if it is not a message. */
function stateRow(ev: ChatEvent | null, st: MessageState | undefined): MessageRow | null {
  if (!ev || ev.kind.type !== 'message') return null;
  const r = messageRow(ev, ev.kind);
  return st ? withState(r, st) : r;
}

/** What the composer sends besides text, as the client's options. */
export interface Outgoing {
  replyTo?: number;
  mentions?: string[];
  mentionAll?: boolean;
  place?: PlaceRow;
  contact?: ContactRow;
}

/** What a pending row was sent with (to send it again the same). */
function outgoingOf(r: MessageRow): Outgoing {
  return { ...(r.replyTo ? { replyTo: r.replyTo.seq } : {}), mentions: r.mentions ?? [], mentionAll: !!r.mentionAll, ...(r.place ? { place: r.place } : {}), ...(r.contact ? { contact: r.contact } : {}) };
}

/** A quote's preview of a row, as the server makes it: the first 100 characters of its text, or
 * a place's label, a contact's name. */
export function quotePreview(r: MessageRow): string {
  return [...(r.content || r.place?.label || r.contact?.name || '')].slice(0, 100).join('');
}

function sendOptions(o: Outgoing): SendOptions {
  const options: SendOptions = {};
  if (o.replyTo) options.replyToSeq = BigInt(o.replyTo);
  if (o.mentions?.length) options.mentions = o.mentions.map((m) => BigInt(m));
  if (o.mentionAll) options.mentionAll = true;
  if (o.place) options.attachment = { type: 'location', location: { ...o.place } satisfies Location };
  else if (o.contact) options.attachment = { type: 'contact', contact: { ...o.contact, userId: BigInt(o.contact.userId || '0') } satisfies Contact };
  return options;
}

/** A system line for an event that is not a message. `{sender}` and `{subjects}` in the text are
 * filled in with names by the UI. */
export function eventRow(ev: ChatEvent): MessageRow | null {
  const chatId = ev.chatId.toString();
  const seq = Number(ev.seq);
  const sender = ev.senderId.toString();
  const k = ev.kind;
  const n = (text: string, subjects: string[] = []) => notice(chatId, seq, sender, ev.timeMs, text, subjects);
  switch (k.type) {
    case 'chatCreated':
      return n(k.chatKind === 'group' ? `{sender} created the group “${k.title}”` : k.chatKind === 'channel' ? `{sender} created the channel “${k.title}”` : '{sender} started the chat');
    case 'membersAdded': {
      const ids = k.userIds.map(String);
      const self = ids.length === 1 && ids[0] === sender;
      if (k.via === 'inviteLink') return n(self ? '{subjects} joined via invite link' : '{subjects} joined via invite link', ids);
      if (k.via === 'handle') return n('{subjects} joined', ids);
      if (k.via === 'approved') return n(self ? '{subjects} joined' : '{subjects} joined (approved by {sender})', ids);
      return n('{sender} added {subjects}', ids);
    }
    case 'memberRemoved':
      return k.left ? n('{sender} left') : n('{sender} removed {subjects}', [k.userId.toString()]);
    case 'chatUpdated':
      return n(`{sender} changed the chat info (title “${k.title}”)`);
    case 'roleChanged': {
      const id = k.userId.toString();
      if (k.role === 'admin') return n('{sender} made {subjects} an admin', [id]);
      return id === sender ? n('{sender} stepped down as admin') : n('{sender} removed {subjects} as admin', [id]);
    }
    case 'ownerChanged':
      return n('Ownership transferred to {subjects}', [k.newOwner.toString()]);
    default:
      return null;
  }
}

function connectionOf(s: ConnectionState): Connection {
  switch (s.phase) {
    case 'live':
      return 'live';
    case 'syncing':
      return 'syncing';
    case 'waiting':
    case 'closed':
      return 'offline';
    default:
      return 'connecting';
  }
}

/** No document (Node): visible. Else only 'visible' is: 'hidden' and the old 'prerender' are not. */
function documentVisible(): boolean {
  const d = (globalThis as { document?: { visibilityState?: string } }).document;
  return !d || d.visibilityState === undefined || d.visibilityState === 'visible';
}

function deviceName(): string {
  const ua = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent ?? '';
  const browser = /Firefox\//.test(ua) ? 'Firefox' : /Edg\//.test(ua) ? 'Edge' : /Chrome\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  return `${browser} (web)`;
}
