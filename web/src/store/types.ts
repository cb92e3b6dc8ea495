// The store's rows: plain, structured-clonable objects (ids as decimal strings, seqs as numbers:
// a chat's seq stays far below 2^53), so they go to IndexedDB and to the UI as they are.

export type ChatKindName = 'direct' | 'group' | 'channel' | 'unknown';
export type RoleName = 'member' | 'admin' | 'owner';

/** A chat's settings, as plain values (the client's ChatSettings). */
export interface SettingsRow {
  post: 'members' | 'admins';
  addMembers: 'members' | 'admins';
  changeInfo: 'members' | 'admins';
  pin: 'members' | 'admins';
  history: 'everything' | 'sinceJoined';
  forwarding: boolean;
  approveJoins: boolean;
}

export interface ChatRow {
  id: string;
  kind: ChatKindName;
  title: string;
  /** Current members' user ids (folded from the chat's events; in a channel only the owner and
   * admins are log members). */
  members: string[];
  /** Admins, not counting the owner. */
  admins: string[];
  /** '' while not known. */
  owner: string;
  /** This user's role (from the server's ChatInfo/ChatSummary, kept up to date by events). */
  myRole: RoleName;
  /** Exact count from the server (subscribers included), adjusted by membership events. */
  memberCount: number;
  description: string;
  avatarRef: string;
  handle: string;
  settings: SettingsRow;
  /** Join requests waiting (admins only). */
  pendingRequests: number;
  /** This user's own state of the chat, the same on all their devices. */
  mutedUntil: number;
  /** Decimal u64; '0' = not pinned. Pinned chats sort by rank, highest first. */
  pinRank: string;
  archived: boolean;
  markedUnread: boolean;
  lastSeq: number;
  /** Time of the newest event (ms): the chat list is ordered by it. */
  lastActivity: number;
  lastPreview: string;
  lastSenderId: string;
  /** Seq of the message the preview shows (0 = unknown), so its edit or deletion updates it. */
  lastMessageSeq: number;
  /** Messages from others after `readSeq`, counted on this device. */
  unread: number;
  readSeq: number;
  /** This user's delivered cursor as the server last confirmed it (§6.15). */
  deliveredSeq?: number;
  /** Direct chats: the other member's cursors (ticks); `peerReadSeq` 0 while hidden. */
  peerDeliveredSeq?: number;
  peerReadSeq?: number;
  /** This user is no longer a member. */
  left: boolean;
}

export type MessageState = 'sending' | 'sent' | 'failed';

/** The message a reply quotes, as it was when the reply was sent. */
export interface QuoteRow {
  seq: number;
  senderId: string;
  preview: string;
  /** The original was deleted for everyone: the quote is erased. */
  deleted: boolean;
}

/** Where a forwarded copy came from. */
export interface ForwardRow {
  senderId: string;
  timeMs: number;
  /** A channel's id and title, else '' (other chats are not named). */
  fromChatId: string;
  fromTitle: string;
}

export interface PlaceRow {
  latitude: number;
  longitude: number;
  accuracyM: number;
  label: string;
  /** 0 = a fixed place; else live until then (ms), or until stopped (then the stop's time). */
  liveUntilMs: number;
}

export interface ContactRow {
  name: string;
  phones: string[];
  emails: string[];
  /** '' = not a Magpie user. */
  userId: string;
}

export interface ReactionRow {
  emoji: string;
  count: number;
  /** This user is among them. */
  mine: boolean;
}

export interface MessageRow {
  chatId: string;
  /** The chat's seq; pending messages have none yet (they sort after every confirmed one). */
  seq: number;
  clientMsgId: string;
  senderId: string;
  timeMs: number;
  content: string;
  state: MessageState;
  /** Set on events that are not messages (member changes) shown as a notice line. */
  notice?: string;
  /** The users a notice is about (names resolved by the UI). */
  subjects?: string[];
  // Message features (PROTOCOL.md §6.13). Absent means none, so rows cached by older builds and
  // rows of plain messages look alike; message-rows.ts keeps them canonical.
  replyTo?: QuoteRow;
  forwarded?: ForwardRow;
  mentions?: string[];
  mentionAll?: boolean;
  place?: PlaceRow;
  contact?: ContactRow;
  /** Deleted for everyone: a tombstone, everything else erased. */
  deleted?: boolean;
  /** When it was last edited (absent = never). */
  editedMs?: number;
  /** Highest count first. */
  reactions?: ReactionRow[];
  pinned?: boolean;
  /** Deleted for this user only. */
  hidden?: boolean;
}

export type Connection = 'offline' | 'connecting' | 'syncing' | 'live';

/** Someone typing (or recording) in a chat, until `until` (ms) unless refreshed. */
export interface TypingRow {
  kind: 'typing' | 'recordingVoice';
  until: number;
}

/** A watched user's presence as shown. */
export interface PresenceRow {
  status: 'unknown' | 'offline' | 'online' | 'active' | 'idle' | 'away' | 'doNotDisturb';
  lastSeenMs: number;
}

/** A message of mine in a direct chat: sent, delivered to the other person, read by them. */
export type Tick = 'sent' | 'delivered' | 'read';
