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

/** What happened. New kinds are added to the protocol over time: keep a default branch. */
export type EventKind =
  | { type: 'message'; messageId: bigint; clientMsgId: string; content: string }
  | { type: 'chatCreated'; chatKind: ChatKind; title: string; members: Member[]; description: string; handle: string; settings: ChatSettings }
  | { type: 'membersAdded'; userIds: bigint[]; via: JoinedVia }
  /** `left`: the user removed themselves. */
  | { type: 'memberRemoved'; userId: bigint; left: boolean }
  /** The chat's whole new info after an `UpdateChat`. */
  | { type: 'chatUpdated'; title: string; description: string; avatarRef: string; handle: string; settings: ChatSettings }
  | { type: 'roleChanged'; userId: bigint; role: Role }
  /** `previousOwner` is now an admin (or leaving, when a `memberRemoved` of them follows). */
  | { type: 'ownerChanged'; previousOwner: bigint; newOwner: bigint }
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
