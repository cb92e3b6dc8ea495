// Reads the frames the server sends into owned values (PROTOCOL.md §4.1, §6). Every read goes
// through a bounds-checked buffer (checked-buffer.ts); nested events are read as buffers of
// their own. Never throws: a bad frame or event comes back as a `decode` MagpieError.
import * as fb from './generated/magpie/wire/fb.js';
import { checkedBuffer, MalformedBuffer } from './checked-buffer.js';
import { ErrorCode } from './errors.js';
import { MagpieError } from './error.js';
import { MAX_SERVER_FRAME_BYTES } from './limits.js';
import type {
  Account, Attachment, BroadcastAck, BroadcastList, ChatEvent, ChatInfo, ChatKind, ChatPreview, ChatSettings, ChatState, ChatSummary, Contact, Device,
  EventKind, ForwardAck, ForwardRef, HistoryPage, Invite, JoinedVia, JoinRequest, Location, Member, MemberList, MentionPage, MessageReactions,
  MessageState, MessageVersion, ReactionCount, ReplyRef, Role, SendAck, UserInfo, UserReactions, Welcome, Who,
  LastSeenVisibility, MemberReceipt, PresenceStatus, PresenceUpdate, Privacy, Receipt, ReceiptCounts, ReceiptList, Typing, TypingKind,
} from './types.js';
import { DEFAULT_SETTINGS, MUTED_FOREVER } from './types.js';

/** A reply to one request, by kind. */
export type Reply =
  | { type: 'welcome'; welcome: Welcome }
  | { type: 'ok' }
  | { type: 'pong'; nonce: bigint; serverTimeMs: number }
  | { type: 'authenticated'; account: Account; token: string }
  | { type: 'devices'; devices: Device[] }
  | { type: 'user'; user: UserInfo }
  | { type: 'users'; users: UserInfo[] }
  | { type: 'chat'; chat: ChatInfo }
  | { type: 'chats'; chats: ChatSummary[]; hasMore: boolean }
  | { type: 'ack'; ack: SendAck }
  | { type: 'syncDone'; chats: number; events: bigint }
  | { type: 'page'; page: HistoryPage }
  | { type: 'memberList'; list: MemberList }
  | { type: 'invite'; invite: Invite }
  | { type: 'invites'; chatId: bigint; invites: Invite[] }
  | { type: 'preview'; preview: ChatPreview }
  | { type: 'joinPending'; chatId: bigint }
  | { type: 'joinRequests'; chatId: bigint; requests: JoinRequest[] }
  | { type: 'chatState'; chatId: bigint; state: ChatState }
  | { type: 'broadcastList'; list: BroadcastList }
  | { type: 'broadcastLists'; lists: BroadcastList[] }
  | { type: 'broadcastAck'; ack: BroadcastAck }
  | { type: 'reactionList'; chatId: bigint; seq: bigint; users: UserReactions[]; hasMore: boolean }
  | { type: 'pinList'; chatId: bigint; messages: MessageState[] }
  | { type: 'forwardAck'; ack: ForwardAck }
  | { type: 'versions'; chatId: bigint; seq: bigint; versions: MessageVersion[] }
  | { type: 'mentions'; page: MentionPage }
  | { type: 'receipt'; receipt: Receipt }
  | { type: 'receiptList'; list: ReceiptList }
  | { type: 'privacy'; privacy: Privacy }
  | { type: 'presence'; update: PresenceUpdate };

/** One frame from the server. */
export type Inbound =
  | { kind: 'reply'; requestId: bigint; result: Reply | MagpieError }
  | { kind: 'deliver'; event: ChatEvent | MagpieError }
  /** Pushed (request id 0): this user's state of a chat changed on another device. */
  | { kind: 'chatState'; chatId: bigint; state: ChatState }
  /** Pushed (request id 0): this user joined (`member`) or left a channel as a subscriber. */
  | { kind: 'membership'; chatId: bigint; member: boolean }
  /** Pushed (request id 0): this user deleted these messages for themselves (on any device). */
  | { kind: 'messagesHidden'; chatId: bigint; seqs: bigint[] }
  /** Pushed (request id 0): a member's receipt cursors moved (§6.15). */
  | { kind: 'receipt'; receipt: Receipt }
  /** Pushed (request id 0) to a large chat's owner and admins. */
  | { kind: 'receiptCounts'; counts: ReceiptCounts }
  /** Pushed (request id 0): watched users' presence, chats' online counts. */
  | { kind: 'presence'; update: PresenceUpdate }
  /** Pushed (request id 0): someone is typing, recording, or stopped. */
  | { kind: 'typing'; typing: Typing }
  /** Pushed (request id 0): this user's privacy settings changed (on another device). */
  | { kind: 'privacy'; privacy: Privacy }
  | { kind: 'close'; code: number; reason: string };

function malformed(what: string, code: number = ErrorCode.MalformedFrame): MagpieError {
  return new MagpieError('decode', what, code);
}

function asDecodeError(e: unknown): MagpieError {
  if (e instanceof MagpieError) return e;
  if (e instanceof MalformedBuffer) return malformed(e.message, e.invalidUtf8 ? ErrorCode.InvalidUtf8 : ErrorCode.MalformedFrame);
  return malformed(e instanceof globalThis.Error ? e.message : String(e));
}

const text = (s: string | null): string => s ?? '';
const ms = (v: bigint): number => Number(v);

function chatKind(k: number): ChatKind {
  return k === fb.ChatKind.Direct ? 'direct' : k === fb.ChatKind.Group ? 'group' : k === fb.ChatKind.Channel ? 'channel' : { unknown: k };
}

function role(r: number): Role {
  return r === fb.Role.Member ? 'member' : r === fb.Role.Admin ? 'admin' : r === fb.Role.Owner ? 'owner' : { unknown: r };
}

function via(v: number): JoinedVia {
  switch (v) {
    case fb.JoinedVia.Added:
      return 'added';
    case fb.JoinedVia.InviteLink:
      return 'inviteLink';
    case fb.JoinedVia.Handle:
      return 'handle';
    case fb.JoinedVia.Approved:
      return 'approved';
    default:
      return { unknown: v };
  }
}

// An unknown `Who` reads as the narrower `admins`.
const who = (w: number): Who => (w === fb.Who.Members ? 'members' : 'admins');

/** Absent settings are the defaults (the schema's). */
function settings(st: fb.ChatSettings | null): ChatSettings {
  if (!st) return { ...DEFAULT_SETTINGS };
  return {
    post: who(st.post()), addMembers: who(st.addMembers()), changeInfo: who(st.changeInfo()), pin: who(st.pin()),
    history: st.history() === fb.HistoryVisibility.SinceJoined ? 'sinceJoined' : 'everything',
    forwarding: st.forwarding(), approveJoins: st.approveJoins(),
  };
}

const I64_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function chatState(st: fb.ChatState | null): ChatState {
  if (!st) return { mutedUntilMs: 0, pinRank: 0n, archived: false, markedUnread: false };
  const m = st.mutedUntilMs();
  return { mutedUntilMs: m <= 0n ? 0 : m >= I64_SAFE ? MUTED_FOREVER : Number(m), pinRank: st.pinRank(), archived: st.archived(), markedUnread: st.markedUnread() };
}

function receipt(r: fb.ReceiptChanged): Receipt {
  return { chatId: r.chatId(), userId: r.userId(), deliveredSeq: r.deliveredSeq(), readSeq: r.readSeq(), readHidden: r.readHidden() };
}

function lastSeen(v: number): LastSeenVisibility {
  // An unknown value reads as the narrowest.
  return v === fb.LastSeenVisibility.Everyone ? 'everyone' : v === fb.LastSeenVisibility.SharedChats ? 'sharedChats' : 'nobody';
}

function privacy(p: fb.Privacy): Privacy {
  return { readReceipts: p.readReceipts(), lastSeen: lastSeen(p.lastSeen()) };
}

const STATUS: Record<number, PresenceStatus> = {
  [fb.PresenceStatus.Unknown]: 'unknown', [fb.PresenceStatus.Offline]: 'offline', [fb.PresenceStatus.Online]: 'online',
  [fb.PresenceStatus.Active]: 'active', [fb.PresenceStatus.Idle]: 'idle', [fb.PresenceStatus.Away]: 'away',
  [fb.PresenceStatus.DoNotDisturb]: 'doNotDisturb',
};

function presence(p: fb.PresenceChanged): PresenceUpdate {
  const users = [];
  for (let i = 0; i < p.usersLength(); i++) {
    const u = p.users(i);
    if (!u) throw malformed('missing user presence');
    users.push({ userId: u.userId(), status: STATUS[u.status()] ?? 'unknown', lastSeenMs: ms(u.lastSeenMs()) });
  }
  const chats = [];
  for (let i = 0; i < p.chatsLength(); i++) {
    const c = p.chats(i);
    if (!c) throw malformed('missing chat online count');
    chats.push({ chatId: c.chatId(), online: c.online(), memberCount: c.memberCount() });
  }
  return { users, chats };
}

function typingKind(k: number): TypingKind | null {
  return k === fb.TypingKind.Stopped ? 'stopped' : k === fb.TypingKind.Typing ? 'typing' : k === fb.TypingKind.RecordingVoice ? 'recordingVoice' : null;
}

function members(len: number, at: (i: number) => fb.Member | null): Member[] {
  const out: Member[] = [];
  for (let i = 0; i < len; i++) {
    const m = at(i);
    if (!m) throw malformed('missing member');
    out.push({ userId: m.userId(), role: role(m.role()), sinceSeq: m.sinceSeq() });
  }
  return out;
}

function u64s(len: number, at: (i: number) => bigint | null): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i < len; i++) out.push(at(i)!);
  return out;
}

function chatInfo(c: fb.ChatInfo): ChatInfo {
  return {
    chatId: c.chatId(), kind: chatKind(c.kind()), title: text(c.title()), members: members(c.membersLength(), (i) => c.members(i)),
    lastSeq: c.lastSeq(), createdMs: ms(c.createdMs()), memberCount: c.memberCount(), membersComplete: c.membersComplete(),
    myRole: role(c.myRole()), description: text(c.description()), avatarRef: text(c.avatarRef()), handle: text(c.handle()),
    settings: settings(c.settings()), pendingRequests: c.pendingRequests(),
  };
}

function invite(i: fb.Invite | null): Invite {
  if (!i) throw malformed('missing invite');
  return {
    code: text(i.code()), chatId: i.chatId(), createdBy: i.createdBy(), createdMs: ms(i.createdMs()), expiresMs: ms(i.expiresMs()),
    maxUses: i.maxUses(), uses: i.uses(), revoked: i.revoked(),
  };
}

function broadcastList(l: fb.BroadcastList | null): BroadcastList {
  if (!l) throw malformed('missing broadcast list');
  return { listId: l.listId(), name: text(l.name()), recipientIds: u64s(l.recipientIdsLength(), (i) => l.recipientIds(i)) };
}

function strings(len: number, at: (i: number) => string | null): string[] {
  const out: string[] = [];
  for (let i = 0; i < len; i++) out.push(text(at(i)));
  return out;
}

function location(l: fb.Location | null): Location | null {
  if (!l) return null;
  return { latitude: l.latitude(), longitude: l.longitude(), accuracyM: l.accuracyM(), label: text(l.label()), liveUntilMs: ms(l.liveUntilMs()) };
}

function contact(c: fb.Contact): Contact {
  return { name: text(c.name()), phones: strings(c.phonesLength(), (i) => c.phones(i)), emails: strings(c.emailsLength(), (i) => c.emails(i)), userId: c.userId() };
}

function attachment(m: fb.MessageBody): Attachment | null {
  const type = m.attachmentType();
  switch (type) {
    case fb.Attachment.NONE:
      return null;
    case fb.Attachment.Location: {
      const l = location(m.attachment(new fb.Location()) as fb.Location | null);
      if (!l) throw malformed('location attachment without body');
      return { type: 'location', location: l };
    }
    case fb.Attachment.Contact: {
      const c = m.attachment(new fb.Contact()) as fb.Contact | null;
      if (!c) throw malformed('contact attachment without body');
      return { type: 'contact', contact: contact(c) };
    }
    default:
      // A kind added after this build (the media issue's): the message still shows its caption.
      return { type: 'unknown', attachmentType: type };
  }
}

function replyRef(r: fb.ReplyRef | null): ReplyRef | null {
  return r ? { seq: r.seq(), messageId: r.messageId(), senderId: r.senderId(), preview: text(r.preview()), deleted: r.deleted() } : null;
}

function forwardRef(f: fb.ForwardRef | null): ForwardRef | null {
  return f ? { originalSenderId: f.originalSenderId(), originalTimeMs: ms(f.originalTimeMs()), fromChatId: f.fromChatId(), fromTitle: text(f.fromTitle()) } : null;
}

function reactionCounts(len: number, at: (i: number) => fb.ReactionCount | null): ReactionCount[] {
  const out: ReactionCount[] = [];
  for (let i = 0; i < len; i++) {
    const r = at(i);
    if (!r) throw malformed('missing reaction count');
    out.push({ emoji: text(r.emoji()), count: r.count() });
  }
  return out;
}

function messageReactions(m: fb.MessageReactions | null): MessageReactions {
  if (!m) throw malformed('missing message reactions');
  const toggles = [];
  for (let i = 0; i < m.togglesLength(); i++) {
    const t = m.toggles(i);
    if (!t) throw malformed('missing reaction toggle');
    toggles.push({ userId: t.userId(), emoji: text(t.emoji()), added: t.added() });
  }
  return { seq: m.seq(), counts: reactionCounts(m.countsLength(), (i) => m.counts(i)), toggles };
}

function messageState(st: fb.MessageState | null): MessageState {
  if (!st) throw malformed('missing message state');
  const bytes = st.eventArray();
  return {
    seq: st.seq(), event: bytes && bytes.length > 0 ? event(bytes) : null, editCount: st.editCount(), content: text(st.content()),
    editedMs: ms(st.editedMs()), deleted: st.deleted(), reactions: reactionCounts(st.reactionsLength(), (i) => st.reactions(i)),
    myReactions: strings(st.myReactionsLength(), (i) => st.myReactions(i)), pinned: st.pinned(), location: location(st.location()), hidden: st.hidden(),
    chatId: st.chatId(),
  };
}

function states(len: number, at: (i: number) => fb.MessageState | null): MessageState[] {
  const out: MessageState[] = [];
  for (let i = 0; i < len; i++) out.push(messageState(at(i)));
  return out;
}

function events(len: number, at: (i: number) => fb.EventBlob | null): ChatEvent[] {
  const out: ChatEvent[] = [];
  for (let i = 0; i < len; i++) {
    const blob = at(i);
    if (!blob) throw malformed('missing event blob');
    out.push(event(blob.eventArray()));
  }
  return out;
}

/** Verifies and decodes one event as stored and delivered (the bytes nested in `Deliver`,
 * `HistoryPage` and `ChatSummary`). */
export function decodeEvent(bytes: Uint8Array): ChatEvent | MagpieError {
  try {
    if (bytes.length < 8) throw malformed('event too short');
    const e = fb.Event.getRootAsEvent(checkedBuffer(bytes));
    let kind: EventKind;
    const type = e.bodyType();
    switch (type) {
      case fb.EventBody.MessageBody: {
        const m = e.body(new fb.MessageBody()) as fb.MessageBody | null;
        if (!m) throw malformed('message event without body');
        kind = {
          type: 'message', messageId: m.messageId(), clientMsgId: text(m.clientMsgId()), content: text(m.content()), replyTo: replyRef(m.replyTo()),
          forwarded: forwardRef(m.forwarded()), mentions: u64s(m.mentionsLength(), (i) => m.mentions(i)), mentionAll: m.mentionAll(),
          attachment: attachment(m), deleted: m.deleted(),
        };
        break;
      }
      case fb.EventBody.ChatCreated: {
        const c = e.body(new fb.ChatCreated()) as fb.ChatCreated | null;
        if (!c) throw malformed('chat created event without body');
        kind = {
          type: 'chatCreated', chatKind: chatKind(c.kind()), title: text(c.title()), members: members(c.membersLength(), (i) => c.members(i)),
          description: text(c.description()), handle: text(c.handle()), settings: settings(c.settings()),
        };
        break;
      }
      case fb.EventBody.MembersAdded: {
        const m = e.body(new fb.MembersAdded()) as fb.MembersAdded | null;
        if (!m) throw malformed('members added event without body');
        kind = { type: 'membersAdded', userIds: u64s(m.userIdsLength(), (i) => m.userIds(i)), via: via(m.via()) };
        break;
      }
      case fb.EventBody.MemberRemoved: {
        const m = e.body(new fb.MemberRemoved()) as fb.MemberRemoved | null;
        if (!m) throw malformed('member removed event without body');
        kind = { type: 'memberRemoved', userId: m.userId(), left: m.left() };
        break;
      }
      case fb.EventBody.ChatUpdated: {
        const u = e.body(new fb.ChatUpdated()) as fb.ChatUpdated | null;
        if (!u) throw malformed('chat updated event without body');
        kind = { type: 'chatUpdated', title: text(u.title()), description: text(u.description()), avatarRef: text(u.avatarRef()), handle: text(u.handle()), settings: settings(u.settings()) };
        break;
      }
      case fb.EventBody.RoleChanged: {
        const r = e.body(new fb.RoleChanged()) as fb.RoleChanged | null;
        if (!r) throw malformed('role changed event without body');
        kind = { type: 'roleChanged', userId: r.userId(), role: role(r.role()) };
        break;
      }
      case fb.EventBody.OwnerChanged: {
        const o = e.body(new fb.OwnerChanged()) as fb.OwnerChanged | null;
        if (!o) throw malformed('owner changed event without body');
        kind = { type: 'ownerChanged', previousOwner: o.previousOwner(), newOwner: o.newOwner() };
        break;
      }
      case fb.EventBody.MessageEdited: {
        const m = e.body(new fb.MessageEdited()) as fb.MessageEdited | null;
        if (!m) throw malformed('message edited event without body');
        kind = { type: 'messageEdited', targetSeq: m.targetSeq(), content: text(m.content()), mentions: u64s(m.mentionsLength(), (i) => m.mentions(i)) };
        break;
      }
      case fb.EventBody.MessagesDeleted: {
        const m = e.body(new fb.MessagesDeleted()) as fb.MessagesDeleted | null;
        if (!m) throw malformed('messages deleted event without body');
        kind = { type: 'messagesDeleted', seqs: u64s(m.seqsLength(), (i) => m.seqs(i)) };
        break;
      }
      case fb.EventBody.ReactionsChanged: {
        const r = e.body(new fb.ReactionsChanged()) as fb.ReactionsChanged | null;
        if (!r) throw malformed('reactions changed event without body');
        const messages: MessageReactions[] = [];
        for (let i = 0; i < r.messagesLength(); i++) messages.push(messageReactions(r.messages(i)));
        kind = { type: 'reactionsChanged', messages };
        break;
      }
      case fb.EventBody.MessagePinned: {
        const p = e.body(new fb.MessagePinned()) as fb.MessagePinned | null;
        if (!p) throw malformed('message pinned event without body');
        kind = { type: 'messagePinned', targetSeq: p.targetSeq(), pinned: p.pinned() };
        break;
      }
      case fb.EventBody.LiveLocationUpdated: {
        const l = e.body(new fb.LiveLocationUpdated()) as fb.LiveLocationUpdated | null;
        if (!l) throw malformed('live location updated event without body');
        kind = { type: 'liveLocationUpdated', targetSeq: l.targetSeq(), latitude: l.latitude(), longitude: l.longitude(), accuracyM: l.accuracyM(), stopped: l.stopped() };
        break;
      }
      case fb.EventBody.NONE:
        // Every event has a body; one without is a broken event, not a new kind.
        throw malformed('event without body');
      default:
        kind = { type: 'unknown', bodyType: type };
    }
    const seq = e.seq();
    // Sequence numbers start at 1; a 0 would be silently swallowed as a duplicate.
    if (seq === 0n) throw malformed('event with seq 0');
    return { chatId: e.chatId(), seq, senderId: e.senderId(), senderDeviceId: e.senderDeviceId(), timeMs: ms(e.timeMs()), kind };
  } catch (err) {
    return asDecodeError(err);
  }
}

function event(bytes: Uint8Array | null): ChatEvent {
  if (!bytes) throw malformed('missing nested event');
  const e = decodeEvent(bytes);
  if (e instanceof MagpieError) throw e;
  return e;
}

function body<T>(f: fb.Frame, obj: T): T {
  const b = f.body(obj) as T | null;
  if (!b) throw malformed('frame without body');
  return b;
}

function reply(f: fb.Frame, type: fb.Body): Reply | MagpieError {
  switch (type) {
    case fb.Body.Welcome: {
      const w = body(f, new fb.Welcome());
      return {
        type: 'welcome',
        welcome: {
          protocolVersion: w.protocolVersion(), features: w.features(), serverName: text(w.serverName()),
          maxContentBytes: w.maxContentBytes(), maxFrameBytes: w.maxFrameBytes(), serverTimeMs: ms(w.serverTimeMs()), nodeId: w.nodeId(),
        },
      };
    }
    case fb.Body.Error: {
      const e = body(f, new fb.Error());
      return MagpieError.server(e.code(), text(e.message()), e.retryAfterMs());
    }
    case fb.Body.Ok:
      return { type: 'ok' };
    case fb.Body.Pong: {
      const p = body(f, new fb.Pong());
      return { type: 'pong', nonce: p.nonce(), serverTimeMs: ms(p.serverTimeMs()) };
    }
    case fb.Body.Authenticated: {
      const a = body(f, new fb.Authenticated());
      return { type: 'authenticated', account: { userId: a.userId(), deviceId: a.deviceId(), username: text(a.username()) }, token: text(a.token()) };
    }
    case fb.Body.DeviceList: {
      const l = body(f, new fb.DeviceList());
      const devices: Device[] = [];
      for (let i = 0; i < l.devicesLength(); i++) {
        const d = l.devices(i);
        if (!d) throw malformed('missing device');
        devices.push({ deviceId: d.deviceId(), name: text(d.name()), createdMs: ms(d.createdMs()), current: d.current() });
      }
      return { type: 'devices', devices };
    }
    case fb.Body.UserInfo: {
      const u = body(f, new fb.UserInfo());
      return { type: 'user', user: { userId: u.userId(), username: text(u.username()) } };
    }
    case fb.Body.UserList: {
      const l = body(f, new fb.UserList());
      const users: UserInfo[] = [];
      for (let i = 0; i < l.usersLength(); i++) {
        const u = l.users(i);
        if (!u) throw malformed('missing user');
        users.push({ userId: u.userId(), username: text(u.username()) });
      }
      return { type: 'users', users };
    }
    case fb.Body.ChatInfo: {
      return { type: 'chat', chat: chatInfo(body(f, new fb.ChatInfo())) };
    }
    case fb.Body.ChatList: {
      const l = body(f, new fb.ChatList());
      const chats: ChatSummary[] = [];
      for (let i = 0; i < l.chatsLength(); i++) {
        const c = l.chats(i);
        if (!c) throw malformed('missing chat summary');
        const last = c.lastMessageArray();
        chats.push({
          chatId: c.chatId(), kind: chatKind(c.kind()), title: text(c.title()), lastSeq: c.lastSeq(), memberCount: c.memberCount(),
          lastMessage: last && last.length > 0 ? event(last) : null,
          lastActivityMs: ms(c.lastActivityMs()), state: chatState(c.state()), myRole: role(c.myRole()),
          unreadCount: c.unreadCount(), unreadMentions: c.unreadMentions(), avatarRef: text(c.avatarRef()), handle: text(c.handle()),
          readSeq: c.readSeq(), deliveredSeq: c.deliveredSeq(), peerDeliveredSeq: c.peerDeliveredSeq(), peerReadSeq: c.peerReadSeq(),
        });
      }
      return { type: 'chats', chats, hasMore: l.hasMore() };
    }
    case fb.Body.SendAck: {
      const a = body(f, new fb.SendAck());
      return {
        type: 'ack',
        ack: { chatId: a.chatId(), clientMsgId: text(a.clientMsgId()), messageId: a.messageId(), seq: a.seq(), timeMs: ms(a.timeMs()) },
      };
    }
    case fb.Body.SyncDone: {
      const s = body(f, new fb.SyncDone());
      return { type: 'syncDone', chats: s.chats(), events: s.events() };
    }
    case fb.Body.HistoryPage: {
      const p = body(f, new fb.HistoryPage());
      return {
        type: 'page',
        page: { chatId: p.chatId(), events: events(p.eventsLength(), (i) => p.events(i)), hasMore: p.hasMore(), states: states(p.statesLength(), (i) => p.states(i)) },
      };
    }
    case fb.Body.MemberList: {
      const l = body(f, new fb.MemberList());
      return { type: 'memberList', list: { chatId: l.chatId(), members: members(l.membersLength(), (i) => l.members(i)), hasMore: l.hasMore() } };
    }
    case fb.Body.Invite:
      return { type: 'invite', invite: invite(body(f, new fb.Invite())) };
    case fb.Body.InviteList: {
      const l = body(f, new fb.InviteList());
      const invites: Invite[] = [];
      for (let i = 0; i < l.invitesLength(); i++) invites.push(invite(l.invites(i)));
      return { type: 'invites', chatId: l.chatId(), invites };
    }
    case fb.Body.ChatPreview: {
      const p = body(f, new fb.ChatPreview());
      return {
        type: 'preview',
        preview: {
          chatId: p.chatId(), kind: chatKind(p.kind()), title: text(p.title()), description: text(p.description()), avatarRef: text(p.avatarRef()),
          handle: text(p.handle()), memberCount: p.memberCount(), approveJoins: p.approveJoins(), isMember: p.isMember(),
        },
      };
    }
    case fb.Body.JoinPending:
      return { type: 'joinPending', chatId: body(f, new fb.JoinPending()).chatId() };
    case fb.Body.JoinRequestList: {
      const l = body(f, new fb.JoinRequestList());
      const requests: JoinRequest[] = [];
      for (let i = 0; i < l.requestsLength(); i++) {
        const r = l.requests(i);
        if (!r) throw malformed('missing join request');
        requests.push({ userId: r.userId(), timeMs: ms(r.timeMs()) });
      }
      return { type: 'joinRequests', chatId: l.chatId(), requests };
    }
    case fb.Body.ChatStateChanged: {
      const c = body(f, new fb.ChatStateChanged());
      return { type: 'chatState', chatId: c.chatId(), state: chatState(c.state()) };
    }
    case fb.Body.BroadcastList:
      return { type: 'broadcastList', list: broadcastList(body(f, new fb.BroadcastList())) };
    case fb.Body.BroadcastLists: {
      const l = body(f, new fb.BroadcastLists());
      const lists: BroadcastList[] = [];
      for (let i = 0; i < l.listsLength(); i++) lists.push(broadcastList(l.lists(i)));
      return { type: 'broadcastLists', lists };
    }
    case fb.Body.BroadcastAck: {
      const a = body(f, new fb.BroadcastAck());
      const results = [];
      for (let i = 0; i < a.resultsLength(); i++) {
        const r = a.results(i);
        if (!r) throw malformed('missing broadcast result');
        results.push({ userId: r.userId(), chatId: r.chatId(), messageId: r.messageId(), seq: r.seq(), errorCode: r.errorCode() });
      }
      return { type: 'broadcastAck', ack: { listId: a.listId(), clientMsgId: text(a.clientMsgId()), timeMs: ms(a.timeMs()), results } };
    }
    case fb.Body.ReactionList: {
      const l = body(f, new fb.ReactionList());
      const users: UserReactions[] = [];
      for (let i = 0; i < l.usersLength(); i++) {
        const u = l.users(i);
        if (!u) throw malformed('missing user reactions');
        users.push({ userId: u.userId(), emojis: strings(u.emojisLength(), (j) => u.emojis(j)) });
      }
      return { type: 'reactionList', chatId: l.chatId(), seq: l.seq(), users, hasMore: l.hasMore() };
    }
    case fb.Body.PinList: {
      const l = body(f, new fb.PinList());
      return { type: 'pinList', chatId: l.chatId(), messages: states(l.messagesLength(), (i) => l.messages(i)) };
    }
    case fb.Body.ForwardAck: {
      const a = body(f, new fb.ForwardAck());
      const results = [];
      for (let i = 0; i < a.resultsLength(); i++) {
        const r = a.results(i);
        if (!r) throw malformed('missing forward result');
        results.push({ chatId: r.chatId(), messageId: r.messageId(), seq: r.seq(), errorCode: r.errorCode() });
      }
      return { type: 'forwardAck', ack: { clientMsgId: text(a.clientMsgId()), results } };
    }
    case fb.Body.MessageVersions: {
      const v = body(f, new fb.MessageVersions());
      const versions: MessageVersion[] = [];
      for (let i = 0; i < v.versionsLength(); i++) {
        const x = v.versions(i);
        if (!x) throw malformed('missing message version');
        versions.push({ seq: x.seq(), content: text(x.content()), timeMs: ms(x.timeMs()) });
      }
      return { type: 'versions', chatId: v.chatId(), seq: v.seq(), versions };
    }
    case fb.Body.MentionList: {
      const l = body(f, new fb.MentionList());
      return { type: 'mentions', page: { events: events(l.eventsLength(), (i) => l.events(i)), states: states(l.statesLength(), (i) => l.states(i)), hasMore: l.hasMore() } };
    }
    case fb.Body.ReceiptChanged:
      return { type: 'receipt', receipt: receipt(body(f, new fb.ReceiptChanged())) };
    case fb.Body.ReceiptList: {
      const l = body(f, new fb.ReceiptList());
      const receipts: MemberReceipt[] = [];
      for (let i = 0; i < l.receiptsLength(); i++) {
        const r = l.receipts(i);
        if (!r) throw malformed('missing member receipt');
        receipts.push({ userId: r.userId(), deliveredSeq: r.deliveredSeq(), readSeq: r.readSeq(), readHidden: r.readHidden() });
      }
      return {
        type: 'receiptList',
        list: { chatId: l.chatId(), seq: l.seq(), deliveredCount: l.deliveredCount(), readCount: l.readCount(), memberCount: l.memberCount(), receipts },
      };
    }
    case fb.Body.Privacy:
      return { type: 'privacy', privacy: privacy(body(f, new fb.Privacy())) };
    case fb.Body.PresenceChanged:
      return { type: 'presence', update: presence(body(f, new fb.PresenceChanged())) };
    default:
      // A reply type added after this build (or a client-only type): the caller gets an error.
      return new MagpieError('unexpected', `reply of unknown body type ${type}`);
  }
}

/** Decodes one server frame, or says why it cannot be read. */
export function decodeFrame(bytes: Uint8Array): Inbound | MagpieError {
  try {
    if (bytes.length > MAX_SERVER_FRAME_BYTES) throw malformed(`frame of ${bytes.length} bytes`, ErrorCode.FrameTooLarge);
    if (bytes.length < 8) throw malformed('frame too short');
    const f = fb.Frame.getRootAsFrame(checkedBuffer(bytes));
    const type = f.bodyType();
    const requestId = f.requestId();
    if (type === fb.Body.Close) {
      const c = body(f, new fb.Close());
      return { kind: 'close', code: c.code(), reason: text(c.reason()) };
    }
    if (type === fb.Body.Deliver) {
      const d = body(f, new fb.Deliver());
      const bytes = d.eventArray();
      return { kind: 'deliver', event: bytes ? decodeEvent(bytes) : malformed('deliver without event') };
    }
    if (requestId === 0n && type === fb.Body.ChatStateChanged) {
      const c = body(f, new fb.ChatStateChanged());
      return { kind: 'chatState', chatId: c.chatId(), state: chatState(c.state()) };
    }
    if (requestId === 0n && type === fb.Body.MembershipChanged) {
      const m = body(f, new fb.MembershipChanged());
      return { kind: 'membership', chatId: m.chatId(), member: m.member() };
    }
    if (requestId === 0n && type === fb.Body.MessagesHidden) {
      const m = body(f, new fb.MessagesHidden());
      return { kind: 'messagesHidden', chatId: m.chatId(), seqs: u64s(m.seqsLength(), (i) => m.seqs(i)) };
    }
    if (requestId === 0n && type === fb.Body.ReceiptChanged) return { kind: 'receipt', receipt: receipt(body(f, new fb.ReceiptChanged())) };
    if (requestId === 0n && type === fb.Body.ReceiptCounts) {
      const c = body(f, new fb.ReceiptCounts());
      return { kind: 'receiptCounts', counts: { chatId: c.chatId(), seq: c.seq(), deliveredCount: c.deliveredCount(), readCount: c.readCount(), memberCount: c.memberCount() } };
    }
    if (requestId === 0n && type === fb.Body.PresenceChanged) return { kind: 'presence', update: presence(body(f, new fb.PresenceChanged())) };
    if (requestId === 0n && type === fb.Body.Privacy) return { kind: 'privacy', privacy: privacy(body(f, new fb.Privacy())) };
    if (type === fb.Body.TypingChanged) {
      // Always a push (any request id: a datagram's is never an answer).
      const t = body(f, new fb.TypingChanged());
      const kind = typingKind(t.kind());
      if (kind === null) throw malformed(`typing kind ${t.kind()}`);
      return { kind: 'typing', typing: { chatId: t.chatId(), userId: t.userId(), kind, expiresInMs: t.expiresInMs() } };
    }
    if (requestId === 0n) throw malformed(`server frame of type ${type} without a request id`);
    let result: Reply | MagpieError;
    try {
      result = reply(f, type);
    } catch (e) {
      // The frame's envelope is fine: its request gets the decode error.
      result = asDecodeError(e);
    }
    return { kind: 'reply', requestId, result };
  } catch (e) {
    return asDecodeError(e);
  }
}
