// Reads the frames the server sends into owned values (PROTOCOL.md §4.1, §6). Every read goes
// through a bounds-checked buffer (checked-buffer.ts); nested events are read as buffers of
// their own. Never throws: a bad frame or event comes back as a `decode` MagpieError.
import * as fb from './generated/magpie/wire/fb.js';
import { checkedBuffer, MalformedBuffer } from './checked-buffer.js';
import { ErrorCode } from './errors.js';
import { MagpieError } from './error.js';
import { MAX_SERVER_FRAME_BYTES } from './limits.js';
import type {
  Account, ChatEvent, ChatInfo, ChatKind, ChatSummary, Device, EventKind, HistoryPage, Member, Role, SendAck, UserInfo, Welcome,
} from './types.js';

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
  | { type: 'page'; page: HistoryPage };

/** One frame from the server. */
export type Inbound =
  | { kind: 'reply'; requestId: bigint; result: Reply | MagpieError }
  | { kind: 'deliver'; event: ChatEvent | MagpieError }
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
  return k === fb.ChatKind.Direct ? 'direct' : k === fb.ChatKind.Group ? 'group' : { unknown: k };
}

function role(r: number): Role {
  return r === fb.Role.Member ? 'member' : r === fb.Role.Admin ? 'admin' : { unknown: r };
}

function members(len: number, at: (i: number) => fb.Member | null): Member[] {
  const out: Member[] = [];
  for (let i = 0; i < len; i++) {
    const m = at(i);
    if (!m) throw malformed('missing member');
    out.push({ userId: m.userId(), role: role(m.role()) });
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
        kind = { type: 'message', messageId: m.messageId(), clientMsgId: text(m.clientMsgId()), content: text(m.content()) };
        break;
      }
      case fb.EventBody.ChatCreated: {
        const c = e.body(new fb.ChatCreated()) as fb.ChatCreated | null;
        if (!c) throw malformed('chat created event without body');
        kind = { type: 'chatCreated', chatKind: chatKind(c.kind()), title: text(c.title()), members: members(c.membersLength(), (i) => c.members(i)) };
        break;
      }
      case fb.EventBody.MembersAdded: {
        const m = e.body(new fb.MembersAdded()) as fb.MembersAdded | null;
        if (!m) throw malformed('members added event without body');
        const userIds: bigint[] = [];
        for (let i = 0; i < m.userIdsLength(); i++) userIds.push(m.userIds(i)!);
        kind = { type: 'membersAdded', userIds };
        break;
      }
      case fb.EventBody.MemberRemoved: {
        const m = e.body(new fb.MemberRemoved()) as fb.MemberRemoved | null;
        if (!m) throw malformed('member removed event without body');
        kind = { type: 'memberRemoved', userId: m.userId(), left: m.left() };
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
      const c = body(f, new fb.ChatInfo());
      return {
        type: 'chat',
        chat: {
          chatId: c.chatId(), kind: chatKind(c.kind()), title: text(c.title()), members: members(c.membersLength(), (i) => c.members(i)),
          lastSeq: c.lastSeq(), createdMs: ms(c.createdMs()),
        },
      };
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
      const events: ChatEvent[] = [];
      for (let i = 0; i < p.eventsLength(); i++) {
        const blob = p.events(i);
        if (!blob) throw malformed('missing event blob');
        events.push(event(blob.eventArray()));
      }
      return { type: 'page', page: { chatId: p.chatId(), events, hasMore: p.hasMore() } };
    }
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
