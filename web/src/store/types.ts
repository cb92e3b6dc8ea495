// The store's rows: plain, structured-clonable objects (ids as decimal strings, seqs as numbers:
// a chat's seq stays far below 2^53), so they go to IndexedDB and to the UI as they are.

export type ChatKindName = 'direct' | 'group' | 'unknown';

export interface ChatRow {
  id: string;
  kind: ChatKindName;
  title: string;
  /** Current members' user ids (folded from the chat's events). */
  members: string[];
  admins: string[];
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
