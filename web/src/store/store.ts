// The store between the protocol client and the UI: chats, messages, the optimistic outbox view,
// the session, and persistence in IndexedDB. It exposes signals (framework-free
// @preact/signals-core) and plain methods; it never touches the DOM. The client is injected, so
// Vitest drives it with a fake.
import { batch, computed, signal, type ReadonlySignal, type Signal } from '@preact/signals-core';
import type { Account, ChatEvent, ChatInfo, ChatSummary, ClientEvent, ConnectionState, Credentials, Device, HistoryPage, OutboxStore, SendAck, UserInfo } from '@magpie/client';
import { Db } from './db.js';
import type { ChatKindName, ChatRow, Connection, MessageRow } from './types.js';

/** What the store needs of `MagpieClient` (the real one satisfies it). */
export interface ClientLike {
  connect(): Promise<Account>;
  close(): Promise<void>;
  readonly token: string;
  readonly state: ConnectionState;
  cursors(): Array<[bigint, bigint]>;
  sendWithId(chatId: bigint, clientMsgId: string, content: string): Promise<SendAck>;
  logout(): Promise<void>;
  listDevices(): Promise<Device[]>;
  revokeDevice(deviceId: bigint): Promise<void>;
  lookupUser(username: string): Promise<UserInfo>;
  getUsers(userIds: readonly bigint[]): Promise<UserInfo[]>;
  createDirect(peer: bigint | string): Promise<ChatInfo>;
  createGroup(title: string, memberIds: readonly bigint[]): Promise<ChatInfo>;
  addMembers(chatId: bigint, userIds: readonly bigint[]): Promise<void>;
  removeMember(chatId: bigint, userId: bigint): Promise<void>;
  leaveChat(chatId: bigint): Promise<void>;
  listChats(): Promise<ChatSummary[]>;
  history(chatId: bigint, fromSeq: bigint, direction: 'backward' | 'forward', limit?: number): Promise<HistoryPage>;
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
  openOutbox(name: string): Promise<OutboxStore & { load(): Promise<Array<{ clientMsgId: string; chatId: string; content: string; order: number }>> }>;
  storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;
  indexedDB: IDBFactory;
  newId(): string;
  now(): number;
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
  return k === 'direct' || k === 'group' ? k : 'unknown';
}

function emptyChat(id: string): ChatRow {
  return { id, kind: 'unknown', title: '', members: [], admins: [], lastSeq: 0, lastActivity: 0, lastPreview: '', lastSenderId: '', unread: 0, readSeq: 0, left: false };
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
  private pendingWrite: { chats: Map<string, ChatRow>; messages: MessageRow[]; cursors: boolean } = { chats: new Map(), messages: [], cursors: false };
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private askedUsers = new Set<string>();

  readonly chatList: ReadonlySignal<ChatRow[]> = computed(() =>
    [...this.chats.value.values()].filter((c) => !c.left || c.lastSeq > 0).sort((a, b) => b.lastActivity - a.lastActivity || Number(BigInt(b.id) - BigInt(a.id))),
  );

  constructor(private readonly env: Env) {}

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
      this.chats.value = new Map(chats.map((c) => [c.id, c]));
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
      this.addPending({ chatId: r.chatId, seq: Number.MAX_SAFE_INTEGER, clientMsgId: r.clientMsgId, senderId: this.account.value?.userId ?? '', timeMs: this.env.now(), content: r.content, state: 'sending' });
      this.track(client, r.chatId, r.clientMsgId, client.sendWithId(BigInt(r.chatId), r.clientMsgId, r.content));
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
    this.pendingWrite = { chats: new Map(), messages: [], cursors: false };
    this.env.storage.removeItem(TOKEN_KEY);
    this.env.storage.removeItem(ACCOUNT_KEY);
    this.db?.close();
    this.db = null;
    await Promise.all([Db.destroy(DB_NAME, this.env.indexedDB), Db.destroy(OUTBOX_NAME, this.env.indexedDB)]);
    this.messageSignals.clear();
    this.complete.clear();
    this.knownSeq.clear();
    this.cursorsLoaded = [];
    batch(() => {
      this.account.value = null;
      this.session.value = 'signedOut';
      this.chats.value = new Map();
      this.devices.value = [];
      this.activeChat.value = null;
      this.notice.value = notice;
    });
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
    const sender = ev.senderId.toString();
    let row: MessageRow | null = null;
    const k = ev.kind;
    if (k.type === 'message') {
      row = { chatId, seq, clientMsgId: k.clientMsgId, senderId: sender, timeMs: ev.timeMs, content: k.content, state: 'sent' };
      chat.lastPreview = k.content.slice(0, 200);
      chat.lastSenderId = sender;
      const reading = this.activeChat.value === chatId && isVisible();
      if (sender !== me && !reading && seq > chat.readSeq) chat.unread += 1;
      if (reading || sender === me) {
        chat.readSeq = Math.max(chat.readSeq, seq);
        if (sender === me) chat.unread = 0;
      }
    } else if (k.type === 'chatCreated') {
      chat.kind = kindName(k.chatKind);
      chat.title = k.title;
      chat.members = k.members.map((m) => m.userId.toString());
      chat.admins = k.members.filter((m) => m.role === 'admin').map((m) => m.userId.toString());
      chat.left = false;
      this.askUsers(chat.members);
      row = notice(chatId, seq, sender, ev.timeMs, chat.kind === 'group' ? `created the group “${k.title}”` : 'started the chat');
    } else if (k.type === 'membersAdded') {
      const ids = k.userIds.map(String);
      for (const id of ids) if (!chat.members.includes(id)) chat.members.push(id);
      if (me && ids.includes(me)) chat.left = false;
      this.askUsers(ids);
      row = notice(chatId, seq, sender, ev.timeMs, 'added', ids);
    } else if (k.type === 'memberRemoved') {
      const id = k.userId.toString();
      chat.members = chat.members.filter((m) => m !== id);
      if (id === me) chat.left = true;
      row = notice(chatId, seq, sender, ev.timeMs, k.left ? 'left' : 'removed', k.left ? [] : [id]);
    }
    chat.lastSeq = Math.max(chat.lastSeq, seq);
    chat.lastActivity = Math.max(chat.lastActivity, ev.timeMs);
    this.knownSeq.set(chatId, chat.lastSeq);
    this.setChat(chat);
    if (row) {
      const s = this.messageSignals.get(chatId);
      if (s) s.value = mergeMessages(s.value, [row]);
      this.pendingWrite.messages.push(row);
    }
    this.pendingWrite.cursors = true;
    this.scheduleFlush();
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
    this.pendingWrite = { chats: new Map(), messages: [], cursors: false };
    if (!db) return this.flushing;
    const kv: Array<[string, unknown]> = [];
    if (w.cursors && client) kv.push(['cursors', client.cursors().map(([c, s]) => [c.toString(), s.toString()])]);
    this.flushing = this.flushing.then(() => db.write({ chats: [...w.chats.values()], messages: w.messages, kv })).catch(() => {});
    return this.flushing;
  }

  // ------------------------------------------------------------------ chats

  /** Titles, member counts and previews from the server (for chats synced before this device). */
  private async refreshChats(): Promise<void> {
    const client = this.client;
    if (!client) return;
    let list: ChatSummary[];
    try {
      list = await client.listChats();
    } catch {
      return;
    }
    if (client !== this.client) return;
    const next = new Map(this.chats.value);
    for (const s of list) {
      const id = s.chatId.toString();
      const c = { ...(next.get(id) ?? emptyChat(id)) };
      c.kind = kindName(s.kind);
      c.title = s.title;
      c.left = false;
      if (s.lastMessage && Number(s.lastMessage.seq) >= c.lastSeq && s.lastMessage.kind.type === 'message') {
        c.lastPreview = s.lastMessage.kind.content.slice(0, 200);
        c.lastSenderId = s.lastMessage.senderId.toString();
        c.lastActivity = Math.max(c.lastActivity, s.lastMessage.timeMs);
      }
      next.set(id, c);
      this.pendingWrite.chats.set(id, c);
    }
    this.chats.value = next;
    this.scheduleFlush();
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
      const rows = page.events.map(historyRow).filter((r): r is MessageRow => r !== null);
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

  open(chatId: string | null): void {
    this.activeChat.value = chatId;
    if (chatId) this.markRead(chatId);
  }

  markRead(chatId: string): void {
    const c = this.chats.value.get(chatId);
    if (c && (c.unread > 0 || c.readSeq < c.lastSeq)) this.setChat({ ...c, unread: 0, readSeq: c.lastSeq });
  }

  // ------------------------------------------------------------------ sending

  /** Shows the message at once and hands it to the client's outbox (durable, resent until
   * acknowledged, also across reloads and while offline). */
  send(chatId: string, content: string): string {
    const client = this.client;
    const text = content.replace(/\s+$/u, '');
    if (!client || !text.trim()) return '';
    const clientMsgId = this.env.newId();
    this.addPending({ chatId, seq: Number.MAX_SAFE_INTEGER, clientMsgId, senderId: this.account.value?.userId ?? '', timeMs: this.env.now(), content: text, state: 'sending' });
    this.track(client, chatId, clientMsgId, client.sendWithId(BigInt(chatId), clientMsgId, text));
    return clientMsgId;
  }

  retry(chatId: string, clientMsgId: string): void {
    const client = this.client;
    const row = this.messages(chatId).value.find((m) => m.clientMsgId === clientMsgId && m.state === 'failed');
    if (!client || !row) return;
    this.updatePending(chatId, clientMsgId, { state: 'sending' });
    this.track(client, chatId, clientMsgId, client.sendWithId(BigInt(chatId), clientMsgId, row.content));
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
        const row: MessageRow = { chatId, seq: Number(ack.seq), clientMsgId, senderId: this.account.value?.userId ?? '', timeMs: ack.timeMs, content: '', state: 'sent' };
        const s = this.messages(chatId);
        const pending = s.value.find((m) => m.clientMsgId === clientMsgId);
        if (pending && !s.value.some((m) => m.state === 'sent' && m.seq === row.seq)) {
          row.content = pending.content;
          s.value = mergeMessages(s.value, [row]);
        }
      },
      () => {
        if (client === this.client) this.updatePending(chatId, clientMsgId, { state: 'failed' });
      },
    );
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
    const client = this.need();
    const users = await Promise.all(usernames.filter((u) => u.trim()).map((u) => client.lookupUser(u.trim())));
    this.rememberUsers(users.map((u) => [u.userId.toString(), u.username]));
    return this.adopt(await client.createGroup(title.trim(), users.map((u) => u.userId)));
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

  async leave(chatId: string): Promise<void> {
    await this.need().leaveChat(BigInt(chatId));
    if (this.activeChat.value === chatId) this.activeChat.value = null;
  }

  /** A chat the server just created: shown at once, before its events arrive. */
  private adopt(info: ChatInfo): string {
    const id = info.chatId.toString();
    const c = this.chats.value.get(id) ?? { ...emptyChat(id), lastActivity: info.createdMs };
    if (!this.chats.value.has(id)) {
      this.setChat({ ...c, kind: kindName(info.kind), title: info.title, members: info.members.map((m) => m.userId.toString()), admins: info.members.filter((m) => m.role === 'admin').map((m) => m.userId.toString()) });
    }
    this.askUsers(info.members.map((m) => m.userId.toString()));
    return id;
  }

  /** A display name for a user id ("…" until known). */
  userName(id: string): string {
    return this.users.value.get(id) ?? `user ${id}`;
  }

  /** What a chat is called: its title, or for a direct chat the other person's name. */
  chatName(c: ChatRow): string {
    if (c.kind === 'direct' || (!c.title && c.members.length > 0)) {
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

/** A history event as a row (member changes as notices, unknown kinds skipped). */
function historyRow(ev: ChatEvent): MessageRow | null {
  const chatId = ev.chatId.toString();
  const seq = Number(ev.seq);
  const sender = ev.senderId.toString();
  const k = ev.kind;
  switch (k.type) {
    case 'message':
      return { chatId, seq, clientMsgId: k.clientMsgId, senderId: sender, timeMs: ev.timeMs, content: k.content, state: 'sent' };
    case 'chatCreated':
      return notice(chatId, seq, sender, ev.timeMs, k.chatKind === 'group' ? `created the group “${k.title}”` : 'started the chat');
    case 'membersAdded':
      return notice(chatId, seq, sender, ev.timeMs, 'added', k.userIds.map(String));
    case 'memberRemoved':
      return notice(chatId, seq, sender, ev.timeMs, k.left ? 'left' : 'removed', k.left ? [] : [k.userId.toString()]);
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

function isVisible(): boolean {
  const d = (globalThis as { document?: { visibilityState?: string } }).document;
  return !d || d.visibilityState !== 'hidden';
}

function deviceName(): string {
  const ua = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent ?? '';
  const browser = /Firefox\//.test(ua) ? 'Firefox' : /Edg\//.test(ua) ? 'Edge' : /Chrome\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  return `${browser} (web)`;
}
