// @magpie/client: the TypeScript twin of client-lib. See README.md.
export { MagpieClient, newClientMsgId, type ClientEvent, type ClientOptions, type Credentials } from './client.js';
export { MagpieError, errorCodeInfo, errorCodeName, isFatal, type ErrorKind } from './error.js';
export { ERROR_CODES, ErrorCode, type ErrorCodeInfo } from './errors.js';
export { Lifecycle, InvalidTransition, type CloseReason, type ConnectionState, type Phase } from './lifecycle.js';
export { Backoff, DEFAULT_RECONNECT, baseDelay, jitteredDelay, type ReconnectPolicy } from './backoff.js';
export { Cursors, MAX_HELD_PER_CHAT, MAX_SYNC_CURSORS, type Fill } from './cursors.js';
export { Outbox, type AckWaiter, type DueSend } from './outbox.js';
export { MemoryOutboxStore, decodeSendOptions, encodeSendOptions, type OutboxRecord, type OutboxStore } from './outbox-store.js';
export { IndexedDbOutboxStore } from './indexeddb-outbox-store.js';
export { webSocketConnector, type Connector, type ConnectionHandlers, type FrameConnection, type WebSocketConstructor, type WebSocketLike } from './transport.js';
export { decodeEvent, decodeFrame, type Inbound, type Reply } from './decode.js';
export * as encode from './encode.js';
export * from './limits.js';
export type * from './types.js';
export { DEFAULT_SETTINGS, MUTED_FOREVER } from './types.js';
