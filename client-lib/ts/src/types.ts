// Owned, typed values the client hands to the app. Ids and sequence numbers are uint64 on the
// wire and stay `bigint` here (message ids use all 64 bits); times are numbers (ms since epoch).

export type ChatKind = 'direct' | 'group' | 'channel' | { unknown: number };
export type Role = 'member' | 'admin' | 'owner' | { unknown: number };

export interface Member {
  userId: bigint;
  role: Role;
  /** First seq of the chat this member receives (the event that added them). */
  sinceSeq: bigint;
}

/** Who may do something a chat's settings control (the owner always may). An unknown value
 * reads as `admins`, the narrower choice. */
export type Who = 'members' | 'admins';
/** What a new member may read of the history from before they joined. */
export type HistoryVisibility = 'everything' | 'sinceJoined';
/** How members joined (`MembersAdded.via`). */
export type JoinedVia = 'added' | 'inviteLink' | 'handle' | 'approved' | { unknown: number };

/** A chat's settings (PROTOCOL.md §6.9); `DEFAULT_SETTINGS` has a new chat's. */
export interface ChatSettings {
  post: Who;
  /** Also who may create invite links. */
  addMembers: Who;
  changeInfo: Who;
  pin: Who;
  history: HistoryVisibility;
  forwarding: boolean;
  approveJoins: boolean;
}

/** What a new chat gets when CreateGroup has no settings. */
export const DEFAULT_SETTINGS: Readonly<ChatSettings> = Object.freeze({
  post: 'members', addMembers: 'admins', changeInfo: 'admins', pin: 'admins', history: 'everything', forwarding: true, approveJoins: false,
});

/** `mutedUntilMs` for "muted until unmuted" (i64::MAX on the wire). */
export const MUTED_FOREVER = Number.MAX_SAFE_INTEGER;

/** One user's own state of one chat, the same on all their devices. */
export interface ChatState {
  /** 0 = not muted; `MUTED_FOREVER` = for good; else Unix ms. */
  mutedUntilMs: number;
  /** 0 = not pinned; pinned chats sort by rank, highest first. */
  pinRank: bigint;
  archived: boolean;
  markedUnread: boolean;
}

/** A change to one's chat state: only the fields given are sent. */
export interface ChatStatePatch {
  mutedUntilMs?: number;
  pinned?: boolean;
  archived?: boolean;
  markedUnread?: boolean;
}

/** What `UpdateChat` changes: only the fields given (an empty handle removes it). */
export interface ChatInfoPatch {
  title?: string;
  description?: string;
  avatarRef?: string;
  handle?: string;
  settings?: ChatSettings;
}

/** `createChat` options. */
export interface CreateChatOptions {
  /** 'group' (default) or 'channel'. */
  kind?: 'group' | 'channel';
  title: string;
  memberIds?: readonly bigint[];
  description?: string;
  /** Public handle, 5..=32 of [a-z0-9_]. */
  handle?: string;
  /** Absent = the defaults. */
  settings?: ChatSettings;
}

// ---------------------------------------------------------------- message features (§6.13)

/** A place. A live location (`liveUntilMs` > 0) moves with `updateLiveLocation` until then. */
export interface Location {
  /** -90..=90 */
  latitude: number;
  /** -180..=180 */
  longitude: number;
  /** 0 = unknown. */
  accuracyM: number;
  /** 0..=256 bytes, e.g. a place's name. */
  label: string;
  /** 0 = a fixed place; else Unix ms, at most 8 hours ahead when sent. */
  liveUntilMs: number;
}

/** A contact card. */
export interface Contact {
  /** 1..=128 bytes. */
  name: string;
  /** At most 8, each 1..=32 bytes. */
  phones: string[];
  /** At most 8, each 1..=254 bytes. */
  emails: string[];
  /** The Magpie user the card is for (0n = none). */
  userId: bigint;
}

/** What a message carries besides its text. `unknown`: a kind newer than this build (media). */
export type Attachment =
  | { type: 'location'; location: Location }
  | { type: 'contact'; contact: Contact }
  | { type: 'unknown'; attachmentType: number };

/** The quoted message of a reply, as it was when the reply was sent (erased, `deleted`, when the
 * original is deleted for everyone). */
export interface ReplyRef {
  seq: bigint;
  messageId: bigint;
  senderId: bigint;
  /** Its first 100 characters (a place's label, a contact's name). */
  preview: string;
  deleted: boolean;
}

/** Where a forwarded copy came from: its first author and time; the chat only for a channel. */
export interface ForwardRef {
  originalSenderId: bigint;
  originalTimeMs: number;
  /** A channel's id, else 0n. */
  fromChatId: bigint;
  fromTitle: string;
}

/** One message's total of one reaction. */
export interface ReactionCount {
  emoji: string;
  count: number;
}

/** Who changed what (in chats of at most 256 members). */
export interface ReactionToggle {
  userId: bigint;
  emoji: string;
  added: boolean;
}

/** One message's reactions after a `reactionsChanged` event. */
export interface MessageReactions {
  seq: bigint;
  /** The totals, highest count first. */
  counts: ReactionCount[];
  toggles: ReactionToggle[];
}

/** What later events made of a message: beside it in history pages, pins and mentions. Applying
 * the events after the message in order reaches the same state. */
export interface MessageState {
  seq: bigint;
  /** The message itself (pins and mentions; null in history pages, which carry the events). */
  event: ChatEvent | null;
  editCount: number;
  /** The current text, when `editCount` > 0. */
  content: string;
  editedMs: number;
  deleted: boolean;
  /** Totals, highest count first. */
  reactions: ReactionCount[];
  /** The viewer's own. */
  myReactions: string[];
  pinned: boolean;
  /** A live location's current place (null if none). */
  location: Location | null;
  /** Deleted for the viewer only. */
  hidden: boolean;
  /** The message's chat (a mentions page spans chats). */
  chatId: bigint;
}

/** What a message may carry besides its text (`sendMessage` options). */
export interface SendOptions {
  /** The message this replies to (same chat). */
  replyToSeq?: bigint;
  /** Members mentioned (at most 50; the server drops non-members). */
  mentions?: readonly bigint[];
  /** @all: groups only (admins only above 100 members). */
  mentionAll?: boolean;
  /** A place or a contact card; the text becomes its caption and may be empty. */
  attachment?: { type: 'location'; location: Location } | { type: 'contact'; contact: Contact };
}

/** One user's reactions to a message. */
export interface UserReactions {
  userId: bigint;
  emojis: string[];
}

/** One target's outcome of a forward. */
export interface ForwardResult {
  chatId: bigint;
  messageId: bigint;
  seq: bigint;
  /** 0 = sent (durable); else that target's error code. */
  errorCode: number;
}

export interface ForwardAck {
  clientMsgId: string;
  results: ForwardResult[];
}

/** One version of a message; `seq` names the event that holds it (the message, or an edit). */
export interface MessageVersion {
  seq: bigint;
  content: string;
  timeMs: number;
}

/** A page of messages that mention the caller, newest first, across chats. */
export interface MentionPage {
  events: ChatEvent[];
  states: MessageState[];
  hasMore: boolean;
}

/** A message event's body. */
export interface MessageKind {
  type: 'message';
  messageId: bigint;
  clientMsgId: string;
  /** Empty in a tombstone; with an attachment, its caption. */
  content: string;
  replyTo: ReplyRef | null;
  forwarded: ForwardRef | null;
  mentions: bigint[];
  mentionAll: boolean;
  attachment: Attachment | null;
  /** A tombstone: deleted for everyone, everything else erased. */
  deleted: boolean;
}

/** What happened. New kinds are added to the protocol over time: keep a default branch. */
export type EventKind =
  | MessageKind
  | { type: 'chatCreated'; chatKind: ChatKind; title: string; members: Member[]; description: string; handle: string; settings: ChatSettings }
  | { type: 'membersAdded'; userIds: bigint[]; via: JoinedVia }
  /** `left`: the user removed themselves. */
  | { type: 'memberRemoved'; userId: bigint; left: boolean }
  /** The chat's whole new info after an `UpdateChat`. */
  | { type: 'chatUpdated'; title: string; description: string; avatarRef: string; handle: string; settings: ChatSettings }
  | { type: 'roleChanged'; userId: bigint; role: Role }
  /** `previousOwner` is now an admin (or leaving, when a `memberRemoved` of them follows). */
  | { type: 'ownerChanged'; previousOwner: bigint; newOwner: bigint }
  /** The message at `targetSeq` now reads `content` (its sender edited it). */
  | { type: 'messageEdited'; targetSeq: bigint; content: string; mentions: bigint[] }
  /** These messages were deleted for everyone: their stored events are tombstones now, and
   * replies quoting them quote nothing. Ascending. */
  | { type: 'messagesDeleted'; seqs: bigint[] }
  /** Reactions changed, coalesced: every message whose reactions changed since the last one. */
  | { type: 'reactionsChanged'; messages: MessageReactions[] }
  | { type: 'messagePinned'; targetSeq: bigint; pinned: boolean }
  | { type: 'liveLocationUpdated'; targetSeq: bigint; latitude: number; longitude: number; accuracyM: number; stopped: boolean }
  /** A kind this build does not know; it still occupies its sequence number. */
  | { type: 'unknown'; bodyType: number };

/** One entry of a chat's log. */
export interface ChatEvent {
  chatId: bigint;
  /** 1, 2, 3, ... per chat, without gaps. */
  seq: bigint;
  senderId: bigint;
  senderDeviceId: bigint;
  timeMs: number;
  kind: EventKind;
}

export interface Welcome {
  protocolVersion: number;
  features: bigint;
  serverName: string;
  maxContentBytes: number;
  maxFrameBytes: number;
  serverTimeMs: number;
  nodeId: bigint;
}

/** Who the client is signed in as. */
export interface Account {
  userId: bigint;
  deviceId: bigint;
  username: string;
}

export interface Device {
  deviceId: bigint;
  name: string;
  createdMs: number;
  /** The device of this client's connection. */
  current: boolean;
}

export interface UserInfo {
  userId: bigint;
  username: string;
}

export interface ChatInfo {
  chatId: bigint;
  kind: ChatKind;
  title: string;
  members: Member[];
  lastSeq: bigint;
  createdMs: number;
  /** Exact, even when `members` is not complete. */
  memberCount: number;
  /** Whether `members` (at most 100: owner and admins first) is everyone. */
  membersComplete: boolean;
  myRole: Role;
  description: string;
  avatarRef: string;
  handle: string;
  settings: ChatSettings;
  /** Join requests waiting (admins only; 0 for others). */
  pendingRequests: number;
}

/** A page of a chat's members by ascending user id. */
export interface MemberList {
  chatId: bigint;
  members: Member[];
  hasMore: boolean;
}

export interface Invite {
  code: string;
  chatId: bigint;
  createdBy: bigint;
  createdMs: number;
  /** 0 = never. */
  expiresMs: number;
  /** 0 = unlimited. */
  maxUses: number;
  uses: number;
  revoked: boolean;
}

/** What a person deciding to join sees. */
export interface ChatPreview {
  chatId: bigint;
  kind: ChatKind;
  title: string;
  description: string;
  avatarRef: string;
  handle: string;
  memberCount: number;
  approveJoins: boolean;
  isMember: boolean;
}

/** `joinChat`'s outcome: joined (the chat), or a request waiting for an admin. */
export type JoinResult = { type: 'joined'; chat: ChatInfo } | { type: 'pending'; chatId: bigint };

/** Where to join: an invite link's code or a public handle. */
export type JoinTarget = { inviteCode: string } | { handle: string };

export interface JoinRequest {
  userId: bigint;
  timeMs: number;
}

export interface BroadcastList {
  listId: bigint;
  name: string;
  recipientIds: bigint[];
}

export interface BroadcastResult {
  userId: bigint;
  /** 0 if it failed. */
  chatId: bigint;
  messageId: bigint;
  seq: bigint;
  /** 0 = sent (durable); else an error code. */
  errorCode: number;
}

export interface BroadcastAck {
  listId: bigint;
  clientMsgId: string;
  timeMs: number;
  results: BroadcastResult[];
}

export interface ChatSummary {
  chatId: bigint;
  kind: ChatKind;
  title: string;
  lastSeq: bigint;
  memberCount: number;
  /** The chat's latest message, if it has one among its last 64 events. */
  lastMessage: ChatEvent | null;
  /** The last message's time, else the chat's creation (0 from a server without it). */
  lastActivityMs: number;
  /** The caller's own state of this chat. */
  state: ChatState;
  myRole: Role;
  /** From server-side read cursors; 0 until the server has them. */
  unreadCount: number;
  unreadMentions: number;
  avatarRef: string;
  handle: string;
  /** The caller's receipt cursors (§6.15): the highest seq seen / received on any device. */
  readSeq: bigint;
  deliveredSeq: bigint;
  /** Direct chats: the other member's cursors (`peerReadSeq` 0 when hidden); 0 elsewhere. */
  peerDeliveredSeq: bigint;
  peerReadSeq: bigint;
}

// ---------------------------------------------------------------- receipts, presence, typing (§6.15)

/** One member's receipt cursors in one chat (`ReceiptChanged`): the answer to `markReceipts`
 * (the caller's own) or a push (another device of the caller, or another member). */
export interface Receipt {
  chatId: bigint;
  userId: bigint;
  deliveredSeq: bigint;
  /** 0 when `readHidden`. */
  readSeq: bigint;
  /** The viewer may not see this member's read cursor (either of them turned read receipts off). */
  readHidden: boolean;
}

/** Large chats (> 256 members): how many members have the newest message delivered and read. */
export interface ReceiptCounts {
  chatId: bigint;
  seq: bigint;
  deliveredCount: number;
  readCount: number;
  memberCount: number;
}

export interface MemberReceipt {
  userId: bigint;
  deliveredSeq: bigint;
  readSeq: bigint;
  readHidden: boolean;
}

/** "Read by" / "delivered to" one message (`GetReceipts`). */
export interface ReceiptList {
  chatId: bigint;
  seq: bigint;
  /** Members other than the caller with the message delivered. */
  deliveredCount: number;
  /** Of those, with a visible read cursor at or past it. */
  readCount: number;
  memberCount: number;
  /** Chats of at most 256 members: every other member with it delivered, by user id; else empty. */
  receipts: MemberReceipt[];
}

export type LastSeenVisibility = 'everyone' | 'sharedChats' | 'nobody';

export interface Privacy {
  readReceipts: boolean;
  lastSeen: LastSeenVisibility;
}

export type PresenceStatus = 'unknown' | 'offline' | 'online' | 'active' | 'idle' | 'away' | 'doNotDisturb';

export interface UserPresence {
  userId: bigint;
  status: PresenceStatus;
  /** When the last connection closed; 0 while online, never recorded, or hidden. */
  lastSeenMs: number;
}

export interface ChatOnline {
  chatId: bigint;
  online: number;
  memberCount: number;
}

export interface PresenceUpdate {
  users: UserPresence[];
  chats: ChatOnline[];
}

export type TypingKind = 'stopped' | 'typing' | 'recordingVoice';

export interface Typing {
  chatId: bigint;
  /** The typist (may be this user, from another device or this one: ignore it then). */
  userId: bigint;
  kind: TypingKind;
  /** Show the indicator this long after this push (3000), unless refreshed or stopped. */
  expiresInMs: number;
}

/** ListChats order: by chat id, or as a chat list shows them (pinned first, then by activity). */
export type ChatOrder = 'byId' | 'byActivity';

/** One ListChats page request. */
export interface ListChatsPage {
  order?: ChatOrder;
  /** byId: chats with id > this. */
  afterChatId?: bigint;
  /** byActivity: only archived chats (else archived ones are left out). */
  archived?: boolean;
  /** byActivity: continue after this row's (lastActivityMs, chatId); absent for the first page. */
  before?: { lastActivityMs: number; chatId: bigint };
  /** 0 = the server's 100, at most 500. */
  limit?: number;
}

/** A page of a chat's history, always in ascending `seq` order. */
export interface HistoryPage {
  chatId: bigint;
  events: ChatEvent[];
  hasMore: boolean;
  /** The page's messages that changed since they were sent (ascending seq). */
  states: MessageState[];
}

/** The server's promise that a message is durable, with its place in the chat. */
export interface SendAck {
  chatId: bigint;
  clientMsgId: string;
  messageId: bigint;
  seq: bigint;
  timeMs: number;
}

export type Direction = 'backward' | 'forward';

/** The other side of a direct chat: a user id or a username. */
export type Peer = bigint | string;
