// Protocol constants (docs/PROTOCOL.md §4, §5.2), the same as wire/src/limits.rs.

export const PROTOCOL_VERSION = 1;
export const MIN_PROTOCOL_VERSION = 1;
/** Feature bits this client supports (none in version 1). */
export const SUPPORTED_FEATURES = 0n;
/** Largest frame the server accepts from a client. */
export const MAX_CLIENT_FRAME_BYTES = 81_920;
/** Largest frame a client accepts from the server. */
export const MAX_SERVER_FRAME_BYTES = 4 * 1024 * 1024;
export const MAX_CONTENT_BYTES = 65_536;
export const MAX_CLIENT_MSG_ID_BYTES = 64;
export const MAX_HISTORY_LIMIT = 500;
/** Members one message may mention (SendMessage.mentions). */
export const MAX_MENTIONS = 50;
