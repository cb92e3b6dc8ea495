// Owned, typed values the client hands to the app. Ids and sequence numbers are uint64 on the
// wire and stay `bigint` here (message ids use all 64 bits); times are numbers (ms since epoch).

export type ChatKind = 'direct' | 'group' | { unknown: number };
export type Role = 'member' | 'admin' | { unknown: number };

export interface Member {
  userId: bigint;
  role: Role;
}

/** What happened. New kinds are added to the protocol over time: keep a default branch. */
export type EventKind =
  | { type: 'message'; messageId: bigint; clientMsgId: string; content: string }
  | { type: 'chatCreated'; chatKind: ChatKind; title: string; members: Member[] }
  | { type: 'membersAdded'; userIds: bigint[] }
  /** `left`: the user removed themselves. */
  | { type: 'memberRemoved'; userId: bigint; left: boolean }
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
}

export interface ChatSummary {
  chatId: bigint;
  kind: ChatKind;
  title: string;
  lastSeq: bigint;
  memberCount: number;
  /** The chat's latest message, if it has one among its last 64 events. */
  lastMessage: ChatEvent | null;
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
