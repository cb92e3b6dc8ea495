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
  /** Messages from others after `readSeq`, counted on this device. */
  unread: number;
  readSeq: number;
  /** This user is no longer a member. */
  left: boolean;
}

export type MessageState = 'sending' | 'sent' | 'failed';

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
}

export type Connection = 'offline' | 'connecting' | 'syncing' | 'live';
