// The client: a thin driver around the sans-I/O pieces (lifecycle, backoff, cursors, outbox).
// It owns one connection at a time: matches replies to requests by request id, reconnects with
// backoff after any break, re-authenticates with the device token, resumes from its per-chat
// cursors, and resends every unacknowledged message with its original id. The app sees every
// event of every chat exactly once and in order, gaps fetched before later events are released.
// The contract is client-lib/src/driver.rs's.
import * as encode from './encode.js';
import { Backoff, DEFAULT_RECONNECT, type ReconnectPolicy } from './backoff.js';
import { Cursors, type Fill } from './cursors.js';
import { decodeFrame, type Reply } from './decode.js';
import { ErrorCode } from './errors.js';
import { errorCodeName, isFatal, MagpieError } from './error.js';
import { Lifecycle, type CloseReason, type ConnectionState } from './lifecycle.js';
import { MAX_CLIENT_MSG_ID_BYTES, MAX_CONTENT_BYTES, MAX_HISTORY_LIMIT, MAX_MENTIONS, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, SUPPORTED_FEATURES } from './limits.js';
import { Outbox } from './outbox.js';
import { decodeSendOptions, encodeSendOptions, MemoryOutboxStore, type OutboxStore } from './outbox-store.js';
import { webSocketConnector, type Connector, type FrameConnection, type WebSocketConstructor } from './transport.js';
import type {
  Account, BroadcastAck, BroadcastList, ChatEvent, ChatInfo, ChatInfoPatch, ChatPreview, ChatState, ChatStatePatch, ChatSummary, CreateChatOptions,
  Device, Direction, ForwardAck, HistoryPage, Invite, JoinRequest, JoinResult, JoinTarget, ListChatsPage, MemberList, MentionPage, MessageState,
  MessageVersion, Peer, SendAck, SendOptions, UserInfo, UserReactions, Welcome,
  LastSeenVisibility, PresenceUpdate, Privacy, Receipt, ReceiptCounts, ReceiptList, Typing, TypingKind,
} from './types.js';

/** How the first connection signs in. Later connections always use the device token. */
export type Credentials =
  | { kind: 'register'; username: string; password: string; deviceName?: string }
  | { kind: 'login'; username: string; password: string; deviceName?: string }
  | { kind: 'token'; token: string };

/** What the client tells the app, in order. */
export type ClientEvent =
  /** The lifecycle moved (connecting, authenticating, syncing, live, waiting, closed). */
  | { type: 'state'; state: ConnectionState }
  /** A connection is up and signed in; a sync follows. `resumed`: not the client's first. */
  | { type: 'connected'; resumed: boolean; account: Account }
  /** The next event of a chat: per chat, every event exactly once, in sequence order. */
  | { type: 'event'; event: ChatEvent }
  /** This user's state of a chat changed on another device (or by ReorderPinned). Best effort:
   * after a reconnect, ListChats has every chat's state. */
  | { type: 'chatState'; chatId: bigint; state: ChatState }
  /** This user subscribed to (`member`) or left a channel from another device. Best effort. */
  | { type: 'membership'; chatId: bigint; member: boolean }
  /** This user deleted these messages for themselves (here or on another device). Best effort:
   * history pages mark them (`MessageState.hidden`). */
  | { type: 'messagesHidden'; chatId: bigint; seqs: bigint[] }
  /** A member's receipt cursors moved (§6.15): another member's (ticks, "read by"), or this
   * user's own from another device (unread counts). Best effort: after a reconnect ListChats has
   * the cursors. */
  | { type: 'receipt'; receipt: Receipt }
  /** A large chat's delivered/read counts for its newest message (owners and admins). */
  | { type: 'receiptCounts'; counts: ReceiptCounts }
  /** Watched users' presence changed, or chats' online counts (after `watchPresence`). Best
   * effort: watch again after a reconnect. */
  | { type: 'presence'; update: PresenceUpdate }
  /** Someone is typing (or stopped) in a chat; this user's own `userId` comes too (ignore it). */
  | { type: 'typing'; typing: Typing }
  /** This user's privacy settings changed on another device. */
  | { type: 'privacy'; privacy: Privacy }
  /** Everything missed while offline has been delivered (the server's counts). */
  | { type: 'syncDone'; chats: number; events: bigint }
  /** The connection broke; the client is reconnecting. Unacknowledged sends stay queued. */
  | { type: 'disconnected'; reason: string }
  /** The client stopped for good; nothing follows. */
  | { type: 'closed'; reason: CloseReason };

export interface ClientOptions {
  /** `ws://127.0.0.1:7600/ws` (plaintext only on the engine's host) or `wss://...`; a function
   * is asked again on every connection attempt. */
  url?: string | (() => string);
  /** The WebSocket constructor: the browser's by default; in Node 20 pass `ws`'s. */
  WebSocket?: WebSocketConstructor;
  /** Replaces `url`/`WebSocket` (tests use a fake transport). */
  connector?: Connector;
  credentials: Credentials;
  /** Sent in Hello. */
  clientName?: string;
  /** Last seq the app already holds per chat: sync resumes after them. */
  cursors?: Iterable<readonly [bigint, bigint]>;
  /** Where unacknowledged messages are kept (default: memory). Use one store per device. */
  outboxStore?: OutboxStore;
  /** Bound on each request's reply, and on connecting plus signing in. Default 10 s. */
  requestTimeoutMs?: number;
  /** A Ping goes out this often whatever the traffic; silence from the server for twice as
   * long means the connection is dead. Default 15 s. */
  keepaliveMs?: number;
  reconnect?: ReconnectPolicy;
  /** Uniform in [0, 1), for the backoff's jitter. */
  random?: () => number;
  /** Attached before anything can happen, so no event is missed. */
  onEvent?: (e: ClientEvent) => void;
  /** The protocol versions sent in Hello (default 1..1); only tests change them. */
  protocolVersion?: number;
  minProtocolVersion?: number;
}

/** A fresh client message id: 128 random bits in hex. */
export function newClientMsgId(): string {
  const b = new Uint8Array(16);
  globalThis.crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

const utf8Length = (s: string): number => new TextEncoder().encode(s).length;

type Call = { resolve: (r: Reply) => void; reject: (e: MagpieError) => void; timer: ReturnType<typeof setTimeout> | null };

/** A request in flight on the current connection (sends are tracked by the outbox). */
type Pending =
  | { kind: 'call'; call: Call }
  /** Success ends the client: the device token is revoked. */
  | { kind: 'logout'; call: Call }
  | { kind: 'sync' }
  | { kind: 'fill'; chatId: bigint }
  | { kind: 'keepalive' };

type End = { kind: 'lost'; reason: string } | { kind: 'fatal'; reason: CloseReason } | { kind: 'shutdown' };

/** One connection's state. */
class Link {
  conn: FrameConnection | null = null;
  readonly pending = new Map<bigint, Pending>();
  nextRequestId = 1n;
  lastHeard = Date.now();
  nextPing = 0;
  timer: ReturnType<typeof setTimeout> | null = null;
  ended: End | null = null;
  syncDone: { chats: number; events: bigint } | null = null;
  private done!: (end: End) => void;
  readonly finished = new Promise<End>((resolve) => (this.done = resolve));

  nextId(): bigint {
    return this.nextRequestId++;
  }

  end(end: End): void {
    if (this.ended) return;
    this.ended = end;
    if (this.timer) clearTimeout(this.timer);
    this.done(end);
  }
}

export class MagpieClient {
  private readonly connector: Connector;
  private readonly lifecycle: Lifecycle;
  private readonly cursorState: Cursors;
  private readonly outbox: Outbox;
  private readonly store: OutboxStore;
  private readonly listeners = new Set<(e: ClientEvent) => void>();
  private readonly requestTimeoutMs: number;
  private readonly keepaliveMs: number;
  private credentials: Credentials;
  private link: Link | null = null;
  /** App requests made while disconnected, sent once a connection is up. */
  private queued: Array<{ frame: (id: bigint) => Uint8Array; call: Call; logout: boolean }> = [];
  private accountValue: Account | null = null;
  private welcomeValue: Welcome | null = null;
  private tokenValue = '';
  private nextOrder = 0;
  private readonly loaded: Promise<void>;
  private started: Promise<Account> | null = null;
  private wake: (() => void) | null = null;
  private runner: Promise<void> | null = null;

  constructor(private readonly options: ClientOptions) {
    if (options.connector) this.connector = options.connector;
    else if (options.url) this.connector = webSocketConnector(options.url, options.WebSocket);
    else throw new MagpieError('invalid_input', 'ClientOptions needs `url` or `connector`');
    this.credentials = options.credentials;
    if (options.credentials.kind === 'token') this.tokenValue = options.credentials.token;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.keepaliveMs = Math.max(10, options.keepaliveMs ?? 15_000);
    const policy = options.reconnect ?? DEFAULT_RECONNECT;
    this.lifecycle = new Lifecycle(new Backoff(policy, options.random));
    this.lifecycle.onChange((state) => this.emit({ type: 'state', state }));
    this.cursorState = new Cursors(options.cursors ?? []);
    this.outbox = new Outbox(policy);
    this.store = options.outboxStore ?? new MemoryOutboxStore();
    if (options.onEvent) this.listeners.add(options.onEvent);
    // Messages left unacknowledged by an earlier client (a reload, a crash) go first.
    this.loaded = this.store.load().then((records) => {
      records.sort((a, b) => a.order - b.order);
      for (const r of records) {
        this.outbox.push(BigInt(r.chatId), r.clientMsgId, r.content, undefined, decodeSendOptions(r.options));
        this.nextOrder = Math.max(this.nextOrder, r.order + 1);
      }
    });
  }

  /**
   * Connects and signs in with the configured credentials, then keeps the connection up in the
   * background. Resolves with the account once signed in. With `register`/`login` credentials
   * one failure of that first attempt is final (a retry could create a second device); with a
   * `token` the client keeps retrying with backoff until it gets in or is refused (offline
   * start). Rejects with a MagpieError if the client stops first (e.g. `invalid_credentials`).
   */
  connect(): Promise<Account> {
    if (!this.started) {
      this.started = new Promise<Account>((resolve, reject) => {
        this.runner = this.run(resolve, reject);
      });
    }
    return this.started;
  }

  /** Subscribes to the client's events; returns the unsubscribe function. */
  on(listener: (e: ClientEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---------------------------------------------------------------- state

  get state(): ConnectionState {
    return this.lifecycle.state;
  }

  /** The signed-in user and device (null before the first sign-in). */
  get account(): Account | null {
    return this.accountValue;
  }

  /** The device token. Persist it and connect with `{ kind: 'token', token }` next time. */
  get token(): string {
    return this.tokenValue;
  }

  /** The server's Welcome on the current (or last) connection. */
  get welcome(): Welcome | null {
    return this.welcomeValue;
  }

  /** Per chat, the last seq handed to the app, sorted by chat. Persist them with the events and
   * pass them as `cursors` to resume without replay. */
  cursors(): Array<[bigint, bigint]> {
    return this.cursorState.snapshot();
  }

  cursor(chatId: bigint): bigint {
    return this.cursorState.get(chatId);
  }

  /** Messages sent but not yet acknowledged. */
  get pendingSends(): number {
    return this.outbox.size;
  }

  /**
   * Stops the client: closes the connection and fails whatever is still waiting with a `closed`
   * error. Unacknowledged messages stay in the outbox store, so a later client sends them.
   */
  async close(): Promise<void> {
    this.stop({ code: null, name: 'closed', message: 'closed by the app' });
    await this.runner;
  }

  // ---------------------------------------------------------------- messages

  /**
   * Sends a message with a fresh client message id. It is persisted in the outbox store before
   * it is first sent, and kept until acknowledged: resent with the same id after reconnects and
   * retryable errors, so it is posted exactly once. Resolves with the ack (the message is
   * durable) or rejects with a non-retryable error. May be called before `connect` resolves.
   */
  send(chatId: bigint, content: string, options: SendOptions = {}): Promise<SendAck> {
    return this.sendWithId(chatId, newClientMsgId(), content, options);
  }

  /** Like `send` with the app's own client message id (1..=64 bytes). A retry must repeat the
   * options too: the same id with other options is refused. */
  async sendWithId(chatId: bigint, clientMsgId: string, content: string, options: SendOptions = {}): Promise<SendAck> {
    const idLen = utf8Length(clientMsgId);
    if (idLen < 1 || idLen > MAX_CLIENT_MSG_ID_BYTES) throw new MagpieError('invalid_input', `client_msg_id must be 1..=${MAX_CLIENT_MSG_ID_BYTES} bytes`);
    const len = utf8Length(content);
    // With an attachment the text is a caption, and may be empty.
    const min = options.attachment ? 0 : 1;
    if (len < min || len > MAX_CONTENT_BYTES) throw new MagpieError('invalid_input', `content must be ${min}..=${MAX_CONTENT_BYTES} bytes`);
    if ((options.mentions?.length ?? 0) > MAX_MENTIONS) throw new MagpieError('invalid_input', `at most ${MAX_MENTIONS} mentions`);
    if (this.lifecycle.isClosed) throw this.closedError();
    await this.loaded;
    if (!this.outbox.has(clientMsgId)) {
      const stored = encodeSendOptions(options);
      await this.store.put({ clientMsgId, chatId: chatId.toString(), content, order: this.nextOrder++, ...(stored ? { options: stored } : {}) });
    }
    if (this.lifecycle.isClosed) throw this.closedError();
    const acked = new Promise<SendAck>((resolve, reject) => this.outbox.push(chatId, clientMsgId, content, { resolve, reject }, options));
    this.flushOutbox();
    return acked;
  }

  // ---------------------------------------------------------------- message features (§6.13)

  /** Replaces the text (and mentions) of one's own message; every version stays
   * (`getMessageVersions`). Editing to the current text changes nothing. */
  async editMessage(chatId: bigint, seq: bigint, content: string, mentions: readonly bigint[] = []): Promise<void> {
    if (utf8Length(content) > MAX_CONTENT_BYTES) throw new MagpieError('invalid_input', `content must be at most ${MAX_CONTENT_BYTES} bytes`);
    await this.expect('ok', (id) => encode.editMessage(id, chatId, seq, content, mentions));
  }

  /** Deletes 1..=100 messages: for everyone (their sender, or an admin of a group or channel;
   * erased from storage, tombstones stay), or for this user only, on all their devices. */
  async deleteMessages(chatId: bigint, seqs: readonly bigint[], forEveryone: boolean): Promise<void> {
    if (seqs.length < 1 || seqs.length > 100) throw new MagpieError('invalid_input', 'deleteMessages takes 1..=100 seqs');
    await this.expect('ok', (id) => encode.deleteMessages(id, chatId, seqs, forEveryone));
  }

  /** Adds or removes this user's reaction; resolves once the `reactionsChanged` event carrying it
   * is durable. */
  async react(chatId: bigint, seq: bigint, emoji: string, add: boolean): Promise<void> {
    const len = utf8Length(emoji);
    if (len < 1 || len > 32 || /[\s\p{Cc}]/u.test(emoji)) throw new MagpieError('invalid_input', 'emoji must be 1..=32 bytes without whitespace');
    await this.expect('ok', (id) => encode.react(id, chatId, seq, emoji, add));
  }

  /** Who reacted to a message, by ascending user id (with `emoji`: only with that one). */
  async listReactions(chatId: bigint, seq: bigint, opts: { emoji?: string; afterUserId?: bigint; limit?: number } = {}): Promise<{ users: UserReactions[]; hasMore: boolean }> {
    const limit = opts.limit ?? 0;
    if (limit < 0 || limit > 1000) throw new MagpieError('invalid_input', 'listReactions limit must be 0..=1000');
    const r = await this.expect('reactionList', (id) => encode.listReactions(id, chatId, seq, opts.emoji ?? '', opts.afterUserId ?? 0n, limit));
    return { users: r.users, hasMore: r.hasMore };
  }

  /** Pins or unpins a message (who may: the chat's `pin` setting; both people in a direct chat). */
  async pinMessage(chatId: bigint, seq: bigint, pinned: boolean): Promise<void> {
    await this.expect('ok', (id) => encode.pinMessage(id, chatId, seq, pinned));
  }

  /** The chat's pinned messages, most recently pinned first; each state's `event` is the message. */
  async listPins(chatId: bigint): Promise<MessageState[]> {
    return (await this.expect('pinList', (id) => encode.listPins(id, chatId))).messages;
  }

  /** Moves one's live location on, or (`stop`) ends it; `live_location_ended` once it is over. */
  async updateLiveLocation(chatId: bigint, seq: bigint, at: { latitude: number; longitude: number; accuracyM?: number; stop?: boolean }): Promise<void> {
    await this.expect('ok', (id) => encode.updateLiveLocation(id, chatId, seq, at.latitude, at.longitude, at.accuracyM ?? 0, at.stop ?? false));
  }

  /** Copies one message into 1..=20 chats, marked "forwarded". Retrying with the same
   * `clientMsgId` gets the same results and duplicates nothing. */
  async forwardMessage(fromChatId: bigint, seq: bigint, toChatIds: readonly bigint[], clientMsgId = newClientMsgId()): Promise<ForwardAck> {
    if (toChatIds.length < 1 || toChatIds.length > 20) throw new MagpieError('invalid_input', 'forwardMessage takes 1..=20 target chats');
    const idLen = utf8Length(clientMsgId);
    if (idLen < 1 || idLen > MAX_CLIENT_MSG_ID_BYTES) throw new MagpieError('invalid_input', `client_msg_id must be 1..=${MAX_CLIENT_MSG_ID_BYTES} bytes`);
    return (await this.expect('forwardAck', (id) => encode.forwardMessage(id, fromChatId, seq, toChatIds, clientMsgId))).ack;
  }

  /** Every version of a message, the original first. */
  async getMessageVersions(chatId: bigint, seq: bigint): Promise<MessageVersion[]> {
    return (await this.expect('versions', (id) => encode.getMessageVersions(id, chatId, seq))).versions;
  }

  /** Messages that mention this user (by id or @all), newest first, across their chats; continue
   * with the last event's message id as `beforeMessageId`. `limit` 0 = 50, at most 200. */
  async listMentions(opts: { beforeMessageId?: bigint; limit?: number } = {}): Promise<MentionPage> {
    const limit = opts.limit ?? 0;
    if (limit < 0 || limit > 200) throw new MagpieError('invalid_input', 'listMentions limit must be 0..=200');
    return (await this.expect('mentions', (id) => encode.listMentions(id, opts.beforeMessageId ?? 0n, limit))).page;
  }

  // ---------------------------------------------------------------- receipts, presence, typing (§6.15)

  /** Moves this user's delivered and read cursors in a chat (0 leaves one as it is; a lower
   * value is ignored; reading implies delivery). Resolves with the cursors after the request.
   * Never send more than the client holds (`receipt_out_of_range`). Coalesce: about once a
   * second per chat at most. */
  async markReceipts(chatId: bigint, deliveredSeq: bigint, readSeq: bigint): Promise<Receipt> {
    if (deliveredSeq < 0n || readSeq < 0n) throw new MagpieError('invalid_input', 'receipt seqs must not be negative');
    return (await this.expect('receipt', (id) => encode.markReceipts(id, chatId, deliveredSeq, readSeq))).receipt;
  }

  /** Marks everything up to `seq` as seen (and so delivered). */
  markRead(chatId: bigint, seq: bigint): Promise<Receipt> {
    return this.markReceipts(chatId, 0n, seq);
  }

  /** Marks everything up to `seq` as received on this device. */
  markDelivered(chatId: bigint, seq: bigint): Promise<Receipt> {
    return this.markReceipts(chatId, seq, 0n);
  }

  /** "Read by" / "delivered to" one message, derived from the members' cursors. */
  async getReceipts(chatId: bigint, seq: bigint): Promise<ReceiptList> {
    return (await this.expect('receiptList', (id) => encode.getReceipts(id, chatId, seq))).list;
  }

  /** Changes the settings given (at least one); resolves with all of them now. */
  async setPrivacy(patch: { readReceipts?: boolean; lastSeen?: LastSeenVisibility }): Promise<Privacy> {
    if (patch.readReceipts === undefined && patch.lastSeen === undefined) throw new MagpieError('invalid_input', 'setPrivacy needs readReceipts or lastSeen');
    return (await this.expect('privacy', (id) => encode.setPrivacy(id, patch))).privacy;
  }

  async getPrivacy(): Promise<Privacy> {
    return (await this.expect('privacy', (id) => encode.getPrivacy(id))).privacy;
  }

  /** `activity`: the user is interacting now (send at most every 30 s or so); `dnd`: sets or
   * clears do-not-disturb. */
  async setPresence(opts: { activity?: boolean; dnd?: boolean }): Promise<void> {
    if (!opts.activity && opts.dnd === undefined) throw new MagpieError('invalid_input', 'setPresence needs activity or dnd');
    await this.expect('ok', (id) => encode.setPresence(id, opts));
  }

  /** Replaces this connection's watch set (at most 256 users, 64 chats; empty lists stop
   * watching). Resolves with every listed user's presence now; changes follow as `presence`
   * events. Not kept across reconnects: call it again after each `connected`. */
  async watchPresence(userIds: readonly bigint[], chatIds: readonly bigint[] = []): Promise<PresenceUpdate> {
    if (userIds.length > 256 || chatIds.length > 64) throw new MagpieError('invalid_input', 'watchPresence takes at most 256 users and 64 chats');
    return (await this.expect('presence', (id) => encode.watchPresence(id, userIds, chatIds))).update;
  }

  /** Says this user is typing / recording / stopped in a chat. Repeat every 2–3 s while it
   * lasts; at most 5 per second per connection (burst 10), else `typing_rate_limited`. */
  async setTyping(chatId: bigint, kind: TypingKind): Promise<void> {
    await this.expect('ok', (id) => encode.setTyping(id, chatId, kind));
  }

  // ---------------------------------------------------------------- requests

  private call(frame: (id: bigint) => Uint8Array, logout = false): Promise<Reply> {
    if (this.lifecycle.isClosed) return Promise.reject(this.closedError());
    return new Promise<Reply>((resolve, reject) => {
      const call: Call = { resolve, reject, timer: null };
      call.timer = setTimeout(() => {
        this.queued = this.queued.filter((q) => q.call !== call);
        if (this.link) for (const [id, p] of this.link.pending) if ((p.kind === 'call' || p.kind === 'logout') && p.call === call) this.link.pending.delete(id);
        reject(new MagpieError('timeout', `no reply within ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
      const link = this.link;
      if (link?.conn && this.lifecycle.phase !== 'connecting' && this.lifecycle.phase !== 'authenticating' && !link.ended) {
        this.sendRequest(link, frame, call, logout);
      } else {
        this.queued.push({ frame, call, logout });
      }
    });
  }

  private async expect<T extends Reply['type']>(type: T, frame: (id: bigint) => Uint8Array, logout = false): Promise<Extract<Reply, { type: T }>> {
    const r = await this.call(frame, logout);
    if (r.type !== type) throw new MagpieError('unexpected', `expected ${type}, got ${r.type}`);
    return r as Extract<Reply, { type: T }>;
  }

  /** Revokes this device's token and stops the client (a `closed` event with `revoked` follows). */
  async logout(): Promise<void> {
    await this.expect('ok', (id) => encode.logout(id), true);
  }

  async listDevices(): Promise<Device[]> {
    return (await this.expect('devices', (id) => encode.listDevices(id))).devices;
  }

  /** Revokes one of the user's devices; its connections are closed with `revoked`. */
  async revokeDevice(deviceId: bigint): Promise<void> {
    await this.expect('ok', (id) => encode.revokeDevice(id, deviceId));
  }

  async lookupUser(username: string): Promise<UserInfo> {
    return (await this.expect('user', (id) => encode.lookupUser(id, username))).user;
  }

  /** Names for user ids (at most 1000 per call); ids that do not exist are left out. */
  async getUsers(userIds: readonly bigint[]): Promise<UserInfo[]> {
    return (await this.expect('users', (id) => encode.getUsers(id, userIds))).users;
  }

  /** The one direct chat with `peer` (a user id or a username), created if needed. */
  async createDirect(peer: Peer): Promise<ChatInfo> {
    const frame = typeof peer === 'bigint' ? (id: bigint) => encode.createDirect(id, peer, '') : (id: bigint) => encode.createDirect(id, 0n, peer);
    return (await this.expect('chat', frame)).chat;
  }

  /** A new group with the caller as owner and `memberIds` as members. Not idempotent. */
  async createGroup(title: string, memberIds: readonly bigint[]): Promise<ChatInfo> {
    return this.createChat({ title, memberIds });
  }

  /** A new group or channel (kind, description, public handle, settings); the caller owns it.
   * Not idempotent: a retry after a lost reply creates a second one. */
  async createChat(opts: CreateChatOptions): Promise<ChatInfo> {
    const { title, memberIds = [], ...rest } = opts;
    return (await this.expect('chat', (id) => encode.createGroup(id, title, memberIds, rest))).chat;
  }

  /** A page of members by ascending user id after `afterUserId` (0 = from the start); `limit`
   * 0 = the server's 200, at most 1000. In channels only admins may list subscribers. */
  async listMembers(chatId: bigint, opts: { afterUserId?: bigint; limit?: number; adminsOnly?: boolean } = {}): Promise<MemberList> {
    const limit = opts.limit ?? 0;
    if (limit < 0 || limit > 1000) throw new MagpieError('invalid_input', 'listMembers limit must be 0..=1000');
    return (await this.expect('memberList', (id) => encode.listMembers(id, chatId, opts.afterUserId ?? 0n, limit, opts.adminsOnly ?? false))).list;
  }

  /** Changes the chat's info or settings (only the fields given). The result arrives as a
   * `chatUpdated` event; a request that changes nothing appends none. */
  async updateChat(chatId: bigint, patch: ChatInfoPatch): Promise<void> {
    await this.expect('ok', (id) => encode.updateChat(id, chatId, patch));
  }

  /** Promotes a member to admin or demotes an admin (only the owner demotes, or an admin steps down). */
  async setRole(chatId: bigint, userId: bigint, role: 'member' | 'admin'): Promise<void> {
    await this.expect('ok', (id) => encode.setRole(id, chatId, userId, role));
  }

  /** The owner hands the chat to another member; the old owner stays an admin. */
  async transferOwnership(chatId: bigint, userId: bigint): Promise<void> {
    await this.expect('ok', (id) => encode.transferOwnership(id, chatId, userId));
  }

  /** `expiresMs` 0 = never, `maxUses` 0 = unlimited. */
  async createInvite(chatId: bigint, opts: { expiresMs?: number; maxUses?: number } = {}): Promise<Invite> {
    const maxUses = opts.maxUses ?? 0;
    if (!Number.isInteger(maxUses) || maxUses < 0 || maxUses > 0xffff_ffff) throw new MagpieError('invalid_input', 'maxUses must be a uint32');
    return (await this.expect('invite', (id) => encode.createInvite(id, chatId, opts.expiresMs ?? 0, maxUses))).invite;
  }

  async listInvites(chatId: bigint): Promise<Invite[]> {
    return (await this.expect('invites', (id) => encode.listInvites(id, chatId))).invites;
  }

  async revokeInvite(chatId: bigint, code: string): Promise<void> {
    await this.expect('ok', (id) => encode.revokeInvite(id, chatId, code));
  }

  /** What joining by an invite code or a public handle would join. */
  async previewChat(target: JoinTarget): Promise<ChatPreview> {
    return (await this.expect('preview', (id) => encode.previewChat(id, target))).preview;
  }

  /** Joins by invite code or handle: the chat, or `pending` when an admin must approve. */
  async joinChat(target: JoinTarget): Promise<JoinResult> {
    const r = await this.call((id) => encode.joinChat(id, target));
    if (r.type === 'chat') {
      this.cursorState.setLeft(r.chat.chatId, false);
      return { type: 'joined', chat: r.chat };
    }
    if (r.type === 'joinPending') return { type: 'pending', chatId: r.chatId };
    throw new MagpieError('unexpected', `expected chat or joinPending, got ${r.type}`);
  }

  async listJoinRequests(chatId: bigint): Promise<JoinRequest[]> {
    return (await this.expect('joinRequests', (id) => encode.listJoinRequests(id, chatId))).requests;
  }

  async resolveJoinRequest(chatId: bigint, userId: bigint, approve: boolean): Promise<void> {
    await this.expect('ok', (id) => encode.resolveJoinRequest(id, chatId, userId, approve));
  }

  /** Changes this user's own state of a chat (only the fields given); resolves with the new state. */
  async setChatState(chatId: bigint, patch: ChatStatePatch): Promise<ChatState> {
    return (await this.expect('chatState', (id) => encode.setChatState(id, chatId, patch))).state;
  }

  /** Orders exactly the pinned chats, first to last; each device gets `chatState` pushes. */
  async reorderPinned(chatIds: readonly bigint[]): Promise<void> {
    await this.expect('ok', (id) => encode.reorderPinned(id, chatIds));
  }

  /** Creates (`listId` 0 or absent) or replaces a broadcast list. */
  async saveBroadcastList(list: { listId?: bigint; name: string; recipientIds: readonly bigint[] }): Promise<BroadcastList> {
    return (await this.expect('broadcastList', (id) => encode.saveBroadcastList(id, list.listId ?? 0n, list.name, list.recipientIds))).list;
  }

  async deleteBroadcastList(listId: bigint): Promise<void> {
    await this.expect('ok', (id) => encode.deleteBroadcastList(id, listId));
  }

  async listBroadcastLists(): Promise<BroadcastList[]> {
    return (await this.expect('broadcastLists', (id) => encode.listBroadcastLists(id))).lists;
  }

  /** Sends `content` into each recipient's direct chat. Retrying with the same `clientMsgId`
   * gets the same results and duplicates nothing. */
  async sendBroadcast(listId: bigint, content: string, clientMsgId = newClientMsgId()): Promise<BroadcastAck> {
    const idLen = utf8Length(clientMsgId);
    if (idLen < 1 || idLen > MAX_CLIENT_MSG_ID_BYTES) throw new MagpieError('invalid_input', `client_msg_id must be 1..=${MAX_CLIENT_MSG_ID_BYTES} bytes`);
    const len = utf8Length(content);
    if (len < 1 || len > MAX_CONTENT_BYTES) throw new MagpieError('invalid_input', `content must be 1..=${MAX_CONTENT_BYTES} bytes`);
    return (await this.expect('broadcastAck', (id) => encode.sendBroadcast(id, listId, clientMsgId, content))).ack;
  }

  async addMembers(chatId: bigint, userIds: readonly bigint[]): Promise<void> {
    await this.expect('ok', (id) => encode.addMembers(id, chatId, userIds));
  }

  async removeMember(chatId: bigint, userId: bigint): Promise<void> {
    await this.expect('ok', (id) => encode.removeMember(id, chatId, userId));
  }

  /** Leaves a group or channel. As the owner, `successor` (a member) takes over; without one the
   * longest-serving admin does, and with neither the server answers `owner_must_transfer`. */
  async leaveChat(chatId: bigint, successor?: bigint): Promise<void> {
    await this.expect('ok', (id) => encode.leaveChat(id, chatId, successor ?? 0n));
    this.cursorState.setLeft(chatId, true);
  }

  async getChat(chatId: bigint): Promise<ChatInfo> {
    return (await this.expect('chat', (id) => encode.getChat(id, chatId))).chat;
  }

  /** Every chat of the user, in ascending chat id order (fetched a page at a time). */
  async listChats(): Promise<ChatSummary[]> {
    const all: ChatSummary[] = [];
    for (;;) {
      const after = all.length > 0 ? all[all.length - 1]!.chatId : 0n;
      const { chats, hasMore } = await this.listChatsPage(after, 0);
      all.push(...chats);
      if (!hasMore || chats.length === 0) return all;
    }
  }

  /** One page: chats with id > `afterChatId`, at most `limit` (0 = the server's 100). */
  async listChatsPage(afterChatId: bigint, limit: number): Promise<{ chats: ChatSummary[]; hasMore: boolean }> {
    const r = await this.expect('chats', (id) => encode.listChats(id, afterChatId, limit));
    return { chats: r.chats, hasMore: r.hasMore };
  }

  /**
   * One page of the chat list as people see it (`order: 'byActivity'`, the default here): the
   * first page starts with every pinned chat, then the rest by last activity, newest first;
   * archived chats only with `archived: true`. For the next page pass the last row as `before`.
   */
  async listChatsBy(page: ListChatsPage = {}): Promise<{ chats: ChatSummary[]; hasMore: boolean }> {
    const limit = page.limit ?? 0;
    if (limit < 0 || limit > 500) throw new MagpieError('invalid_input', 'listChats limit must be 0..=500');
    const r = await this.expect('chats', (id) =>
      encode.listChats(id, page.afterChatId ?? 0n, limit, page.order ?? 'byActivity', page.archived ?? false, page.before?.lastActivityMs ?? 0, page.before?.chatId ?? 0n),
    );
    return { chats: r.chats, hasMore: r.hasMore };
  }

  /**
   * A page of history, events ascending. `backward` reads the newest `limit` events before
   * `fromSeq` (0 = from the end); `forward` the oldest `limit` after it. `limit` 0..=500 (0 means
   * 50). This does not move the cursors: the event stream already delivers everything.
   */
  async history(chatId: bigint, fromSeq: bigint, direction: Direction, limit = 0): Promise<HistoryPage> {
    if (limit < 0 || limit > MAX_HISTORY_LIMIT) throw new MagpieError('invalid_input', `history limit must be at most ${MAX_HISTORY_LIMIT}`);
    return (await this.expect('page', (id) => encode.history(id, chatId, fromSeq, direction, limit))).page;
  }

  /** Round trip to the server. */
  async ping(): Promise<{ nonce: bigint; serverTimeMs: number }> {
    const nonce = BigInt(Math.floor(Math.random() * 2 ** 48));
    const r = await this.expect('pong', (id) => encode.ping(id, nonce));
    if (r.nonce !== nonce) throw new MagpieError('unexpected', `Pong echoed nonce ${r.nonce}, sent ${nonce}`);
    return { nonce, serverTimeMs: r.serverTimeMs };
  }

  // ---------------------------------------------------------------- the lifecycle loop

  private emit(e: ClientEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        console.error('magpie client: an event listener threw', err);
      }
    }
  }

  private closedError(): MagpieError {
    const s = this.lifecycle.state;
    if (s.phase === 'closed' && s.reason.code !== null) return new MagpieError('closed', s.reason.message, s.reason.code);
    return new MagpieError('closed', s.phase === 'closed' ? s.reason.message : 'client closed');
  }

  private stop(reason: CloseReason): void {
    if (this.lifecycle.isClosed) return;
    this.lifecycle.close(reason);
    const link = this.link;
    if (link) {
      this.endLink(link, { kind: 'shutdown' });
      this.failPending(link);
    }
    this.wake?.();
  }

  private async run(resolve: (a: Account) => void, reject: (e: MagpieError) => void): Promise<void> {
    let first = true;
    let signedIn = false;
    await this.loaded.catch((e) => console.error('magpie client: cannot load the outbox store', e));
    while (!this.lifecycle.isClosed) {
      this.lifecycle.connect();
      const link = new Link();
      this.link = link;
      let end: End;
      try {
        const account = await this.establish(link);
        if (!signedIn) {
          signedIn = true;
          resolve(account);
        }
        this.emit({ type: 'connected', resumed: !first, account });
        first = false;
        this.serve(link);
        end = await link.finished;
      } catch (e) {
        const err = e instanceof MagpieError ? e : new MagpieError('transport', String(e));
        link.end({ kind: 'lost', reason: err.message });
        link.conn?.close();
        if (this.lifecycle.isClosed) end = { kind: 'shutdown' };
        else if (isFatal(err) || (!signedIn && this.credentials.kind !== 'token')) {
          end = { kind: 'fatal', reason: { code: err.code ?? null, name: err.code !== undefined ? errorCodeName(err.code) : err.kind, message: err.message } };
        } else end = { kind: 'lost', reason: err.message };
      }
      this.forgetLink(link, end);
      if (end.kind === 'fatal') {
        if (end.reason.code === ErrorCode.Revoked || end.reason.code === ErrorCode.InvalidCredentials) this.tokenValue = '';
        this.lifecycle.close(end.reason);
        break;
      }
      if (end.kind === 'shutdown' || this.lifecycle.isClosed) break;
      this.emit({ type: 'disconnected', reason: end.reason });
      const waiting = this.lifecycle.lost(end.reason);
      await new Promise<void>((wake) => {
        const t = setTimeout(wake, waiting.delayMs);
        this.wake = () => {
          clearTimeout(t);
          wake();
        };
      });
      this.wake = null;
    }
    // Stopped for good.
    const s = this.lifecycle.state;
    const reason = s.phase === 'closed' ? s.reason : { code: null, name: 'closed', message: 'closed' };
    const error = this.closedError();
    if (!signedIn) reject(reason.code !== null ? new MagpieError(reason.code < 100 ? 'rejected' : 'server', reason.message, reason.code) : error);
    this.outbox.failAll(error);
    for (const q of this.queued) this.settle(q.call, error);
    this.queued = [];
    this.emit({ type: 'closed', reason });
  }

  private settle(call: Call, result: Reply | MagpieError): void {
    if (call.timer) clearTimeout(call.timer);
    if (result instanceof MagpieError) call.reject(result);
    else call.resolve(result);
  }

  /** Opens the transport, says Hello and signs in. */
  private async establish(link: Link): Promise<Account> {
    // Whichever comes first: signed in, the time is up, or the link ended (closed by the server
    // or the app, or the transport broke).
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new MagpieError('timeout', `no connection within ${this.requestTimeoutMs} ms`)), this.requestTimeoutMs);
    });
    const ended = link.finished.then((end): never => {
      throw this.endError(end);
    });
    const attempt = (async () => {
      let conn: FrameConnection;
      try {
        conn = await this.connector({
          onFrame: (frame) => this.onFrame(link, frame),
          onClose: (reason) => this.onTransportClosed(link, reason),
        });
      } catch (e) {
        throw new MagpieError('transport', e instanceof Error ? e.message : String(e));
      }
      link.conn = conn;
      if (link.ended) {
        conn.close();
        throw this.endError(link.ended);
      }
      const hello = await this.handshakeRequest(link, (id) =>
        encode.hello(id, this.options.protocolVersion ?? PROTOCOL_VERSION, this.options.minProtocolVersion ?? MIN_PROTOCOL_VERSION, SUPPORTED_FEATURES, this.options.clientName ?? 'magpie-client-ts/0.1.0'),
      );
      if (hello.type !== 'welcome') throw new MagpieError('unexpected', `expected welcome, got ${hello.type}`);
      this.welcomeValue = hello.welcome;
      this.lifecycle.welcomed();
      const creds: Credentials = this.tokenValue ? { kind: 'token', token: this.tokenValue } : this.credentials;
      const auth = await this.handshakeRequest(link, (id) =>
        creds.kind === 'token'
          ? encode.authenticate(id, creds.token)
          : creds.kind === 'register'
            ? encode.register(id, creds.username, creds.password, creds.deviceName ?? '')
            : encode.login(id, creds.username, creds.password, creds.deviceName ?? ''),
      );
      if (auth.type !== 'authenticated') throw new MagpieError('unexpected', `expected authenticated, got ${auth.type}`);
      if (creds.kind !== 'token') {
        if (!auth.token) throw new MagpieError('unexpected', 'Authenticated without a device token');
        this.tokenValue = auth.token;
      }
      this.accountValue = auth.account;
      this.lifecycle.authenticated();
      return auth.account;
    })();
    try {
      return await Promise.race([attempt, timeout, ended]);
    } finally {
      clearTimeout(timer);
      // Settled either way; the losers' errors are not news.
      attempt.catch(() => {});
      ended.catch(() => {});
    }
  }

  private endError(end: End): MagpieError {
    if (end.kind === 'fatal') return new MagpieError(end.reason.code !== null && end.reason.code < 100 ? 'rejected' : 'server', end.reason.message, end.reason.code ?? undefined);
    if (end.kind === 'shutdown') return this.closedError();
    return new MagpieError('transport', end.reason);
  }

  /** A request during Hello/sign-in: its reply, or the reason the connection ended. */
  private handshakeRequest(link: Link, frame: (id: bigint) => Uint8Array): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const id = link.nextId();
      link.pending.set(id, { kind: 'call', call: { resolve, reject, timer: null } });
      this.write(link, frame(id));
    });
  }

  private write(link: Link, frame: Uint8Array): void {
    if (link.ended || !link.conn) return;
    try {
      link.conn.send(frame);
    } catch (e) {
      this.endLink(link, { kind: 'lost', reason: `send failed: ${e instanceof Error ? e.message : String(e)}` });
    }
  }

  private sendRequest(link: Link, frame: (id: bigint) => Uint8Array, call: Call, logout: boolean): void {
    const id = link.nextId();
    link.pending.set(id, logout ? { kind: 'logout', call } : { kind: 'call', call });
    this.write(link, frame(id));
  }

  /** Signed in: Sync first (no live events come before it, and resends follow it), then the
   * requests queued while offline and the outbox, then the keepalive. */
  private serve(link: Link): void {
    const syncId = link.nextId();
    link.pending.set(syncId, { kind: 'sync' });
    this.write(link, encode.sync(syncId, this.cursorState.forSync()));
    const queued = this.queued;
    this.queued = [];
    for (const q of queued) this.sendRequest(link, q.frame, q.call, q.logout);
    link.lastHeard = Date.now();
    link.nextPing = link.lastHeard + this.keepaliveMs;
    this.flushOutbox();
  }

  /** Sends what the outbox has due and sets the one timer (ping, dead peer, retry). */
  private flushOutbox(): void {
    const link = this.link;
    if (!link?.conn || link.ended || this.lifecycle.phase === 'connecting' || this.lifecycle.phase === 'authenticating') return;
    for (const s of this.outbox.takeDue(Date.now(), () => link.nextId())) {
      this.write(link, encode.sendMessage(s.requestId, s.chatId, s.clientMsgId, s.content, s.options));
    }
    this.schedule(link);
  }

  private schedule(link: Link): void {
    if (link.ended) return;
    if (link.timer) clearTimeout(link.timer);
    const deadAt = link.lastHeard + 2 * this.keepaliveMs;
    let at = Math.min(link.nextPing, deadAt);
    const retry = this.outbox.nextRetryAt();
    if (retry !== null) at = Math.min(at, retry);
    link.timer = setTimeout(() => this.tick(link), Math.max(0, at - Date.now()));
  }

  private tick(link: Link): void {
    link.timer = null;
    if (link.ended) return;
    const now = Date.now();
    if (now >= link.lastHeard + 2 * this.keepaliveMs) {
      this.endLink(link, { kind: 'lost', reason: 'no answer to keepalive ping' });
      return;
    }
    if (now >= link.nextPing) {
      // Whatever the traffic: the server closes connections it has not heard from.
      const id = link.nextId();
      link.pending.set(id, { kind: 'keepalive' });
      this.write(link, encode.ping(id, id));
      link.nextPing = now + this.keepaliveMs;
    }
    this.flushOutbox();
  }

  private endLink(link: Link, end: End): void {
    if (link.ended) return;
    link.end(end);
    link.conn?.close();
  }

  private onTransportClosed(link: Link, reason: string): void {
    this.endLink(link, { kind: 'lost', reason });
    this.failPending(link);
  }

  private failPending(link: Link): void {
    const end = link.ended ?? { kind: 'lost', reason: 'connection lost' };
    const error = end.kind === 'lost' ? new MagpieError('transport', `connection lost before the reply: ${end.reason}`) : this.endError(end);
    for (const p of link.pending.values()) if (p.kind === 'call' || p.kind === 'logout') this.settle(p.call, error);
    link.pending.clear();
  }

  /** Clears what belonged to the connection that just ended. */
  private forgetLink(link: Link, end: End): void {
    if (!link.ended) link.end(end);
    this.failPending(link);
    this.outbox.onDisconnect();
    this.cursorState.resetGaps();
    if (this.link === link) this.link = null;
  }

  // ---------------------------------------------------------------- inbound frames

  private onFrame(link: Link, bytes: Uint8Array): void {
    if (link.ended) return;
    link.lastHeard = Date.now();
    const inbound = decodeFrame(bytes);
    if (inbound instanceof MagpieError) {
      console.warn(`magpie client: dropping a frame that failed verification: ${inbound.message}`);
      return;
    }
    switch (inbound.kind) {
      case 'close': {
        const error = new MagpieError('rejected', inbound.reason || 'closed by the server', inbound.code);
        const end: End = error.retryable
          ? { kind: 'lost', reason: error.message }
          : { kind: 'fatal', reason: { code: inbound.code, name: errorCodeName(inbound.code), message: error.message } };
        this.endLink(link, end);
        this.failPending(link);
        return;
      }
      case 'deliver': {
        if (inbound.event instanceof MagpieError) {
          // Skipped: its seq becomes a gap, which the next event's fill recovers.
          console.warn(`magpie client: dropping a delivered event that failed verification: ${inbound.event.message}`);
          return;
        }
        const ready: ChatEvent[] = [];
        const fill = this.cursorState.onEvent(inbound.event, ready);
        this.handOver(ready);
        if (fill) this.requestFill(link, fill);
        return;
      }
      case 'reply':
        this.onReply(link, inbound.requestId, inbound.result);
        return;
      case 'chatState':
        this.emit({ type: 'chatState', chatId: inbound.chatId, state: inbound.state });
        return;
      case 'membership':
        this.cursorState.setLeft(inbound.chatId, !inbound.member);
        this.emit({ type: 'membership', chatId: inbound.chatId, member: inbound.member });
        return;
      case 'messagesHidden':
        this.emit({ type: 'messagesHidden', chatId: inbound.chatId, seqs: inbound.seqs });
        return;
      case 'receipt':
        this.emit({ type: 'receipt', receipt: inbound.receipt });
        return;
      case 'receiptCounts':
        this.emit({ type: 'receiptCounts', counts: inbound.counts });
        return;
      case 'presence':
        this.emit({ type: 'presence', update: inbound.update });
        return;
      case 'typing':
        this.emit({ type: 'typing', typing: inbound.typing });
        return;
      case 'privacy':
        this.emit({ type: 'privacy', privacy: inbound.privacy });
        return;
    }
  }

  private onReply(link: Link, requestId: bigint, result: Reply | MagpieError): void {
    if (this.outbox.owns(requestId)) {
      const ack = result instanceof MagpieError ? result : result.type === 'ack' ? result.ack : new MagpieError('unexpected', `expected ack, got ${result.type}`);
      const { settled } = this.outbox.onReply(requestId, ack, Date.now());
      if (settled !== null) this.store.delete(settled).catch((e) => console.error('magpie client: cannot delete from the outbox store', e));
      this.schedule(link);
      return;
    }
    const p = link.pending.get(requestId);
    if (!p) return; // a reply nobody waits for (timed out)
    link.pending.delete(requestId);
    switch (p.kind) {
      case 'call':
        this.settle(p.call, result);
        return;
      case 'logout':
        this.settle(p.call, result);
        if (!(result instanceof MagpieError)) {
          this.endLink(link, { kind: 'fatal', reason: { code: ErrorCode.Revoked, name: 'revoked', message: 'logged out' } });
        }
        return;
      case 'keepalive':
        return;
      case 'sync':
        if (result instanceof MagpieError || result.type !== 'syncDone') {
          // Without a sync the connection delivers nothing; start over on a new one.
          this.endLink(link, { kind: 'lost', reason: `sync failed: ${result instanceof MagpieError ? result.message : result.type}` });
          return;
        }
        link.syncDone = { chats: result.chats, events: result.events };
        this.maybeFinishSync(link);
        return;
      case 'fill': {
        const ready: ChatEvent[] = [];
        const next =
          !(result instanceof MagpieError) && result.type === 'page'
            ? this.cursorState.onFill(p.chatId, result.page.events, ready)
            : this.cursorState.onFillFailed(p.chatId, ready);
        this.handOver(ready);
        if (next) this.requestFill(link, next);
        this.maybeFinishSync(link);
        return;
      }
    }
  }

  private requestFill(link: Link, fill: Fill): void {
    const id = link.nextId();
    link.pending.set(id, { kind: 'fill', chatId: fill.chatId });
    this.write(link, encode.history(id, fill.chatId, fill.fromSeq, 'forward', fill.limit));
  }

  /** Emits events now in order, noting when this user joins or leaves a chat (a chat the user
   * left is not listed in the next Sync). */
  private handOver(ready: ChatEvent[]): void {
    const me = this.accountValue?.userId;
    for (const event of ready) {
      const k = event.kind;
      if (me !== undefined) {
        if (k.type === 'memberRemoved' && k.userId === me) this.cursorState.setLeft(event.chatId, true);
        else if ((k.type === 'chatCreated' && k.members.some((m) => m.userId === me)) || (k.type === 'membersAdded' && k.userIds.includes(me))) {
          this.cursorState.setLeft(event.chatId, false);
        }
      }
      this.emit({ type: 'event', event });
    }
  }

  private maybeFinishSync(link: Link): void {
    if (link.syncDone && this.cursorState.fillsInFlight() === 0 && this.lifecycle.phase === 'syncing') {
      const { chats, events } = link.syncDone;
      link.syncDone = null;
      // The connection has proved itself: the next break starts from the short delay.
      this.lifecycle.synced();
      this.emit({ type: 'syncDone', chats, events });
    }
  }
}
