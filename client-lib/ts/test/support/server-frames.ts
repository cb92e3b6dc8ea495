// Frames as the server builds them, for tests that play the server (fake transport).
import * as flatbuffers from 'flatbuffers';
import * as fb from '../../src/generated/magpie/wire/fb.js';

type B = flatbuffers.Builder;

function frame(requestId: bigint, type: fb.Body, body: (b: B) => flatbuffers.Offset): Uint8Array {
  const b = new flatbuffers.Builder(256);
  const off = body(b);
  b.finish(fb.Frame.createFrame(b, requestId, type, off));
  return b.asUint8Array().slice();
}

const s = (b: B, v: string) => (v ? b.createString(v) : 0);

export interface EventSpec {
  chatId: bigint;
  seq: bigint;
  senderId?: bigint;
  senderDeviceId?: bigint;
  timeMs?: bigint;
}

function event(h: EventSpec, type: fb.EventBody, body: (b: B) => flatbuffers.Offset): Uint8Array {
  const b = new flatbuffers.Builder(128);
  const off = body(b);
  b.finish(fb.Event.createEvent(b, h.chatId, h.seq, h.senderId ?? 1n, h.senderDeviceId ?? 1n, h.timeMs ?? 1_700_000_000_000n, type, off));
  return b.asUint8Array().slice();
}

export function messageEvent(h: EventSpec, content: string, clientMsgId = `m-${h.chatId}-${h.seq}`, messageId = 1000n + h.seq): Uint8Array {
  return event(h, fb.EventBody.MessageBody, (b) => fb.MessageBody.createMessageBody(b, messageId, s(b, clientMsgId), s(b, content)));
}

export function chatCreatedEvent(h: EventSpec, kind: fb.ChatKind, title: string, members: Array<[bigint, fb.Role]>): Uint8Array {
  return event(h, fb.EventBody.ChatCreated, (b) => {
    const t = s(b, title);
    const ms = members.map(([id, role]) => fb.Member.createMember(b, id, role));
    const v = fb.ChatCreated.createMembersVector(b, ms);
    return fb.ChatCreated.createChatCreated(b, kind, t, v);
  });
}

export function membersAddedEvent(h: EventSpec, userIds: bigint[]): Uint8Array {
  return event(h, fb.EventBody.MembersAdded, (b) => fb.MembersAdded.createMembersAdded(b, fb.MembersAdded.createUserIdsVector(b, userIds)));
}

export function memberRemovedEvent(h: EventSpec, userId: bigint, left: boolean): Uint8Array {
  return event(h, fb.EventBody.MemberRemoved, (b) => fb.MemberRemoved.createMemberRemoved(b, userId, left));
}

export const welcome = (rid: bigint, nodeId = 77n) =>
  frame(rid, fb.Body.Welcome, (b) => {
    const name = s(b, 'magpie/0.1.0');
    return fb.Welcome.createWelcome(b, 1, 0n, name, 65_536, 81_920, 1_700_000_000_000n, nodeId);
  });

export const authenticated = (rid: bigint, userId: bigint, deviceId: bigint, username: string, token = '') =>
  frame(rid, fb.Body.Authenticated, (b) => {
    const u = s(b, username);
    const t = s(b, token);
    return fb.Authenticated.createAuthenticated(b, userId, deviceId, u, t);
  });

export const syncDone = (rid: bigint, chats = 0, events = 0n) => frame(rid, fb.Body.SyncDone, (b) => fb.SyncDone.createSyncDone(b, chats, events));

export const ok = (rid: bigint) =>
  frame(rid, fb.Body.Ok, (b) => {
    fb.Ok.startOk(b);
    return fb.Ok.endOk(b);
  });

export const pong = (rid: bigint, nonce: bigint) => frame(rid, fb.Body.Pong, (b) => fb.Pong.createPong(b, nonce, 1n));

export const error = (rid: bigint, code: number, message = '', retryAfterMs = 0) =>
  frame(rid, fb.Body.Error, (b) => fb.Error.createError(b, code, s(b, message), retryAfterMs));

export const close = (code: number, reason = '') => frame(0n, fb.Body.Close, (b) => fb.Close.createClose(b, code, s(b, reason)));

export const deliver = (eventBytes: Uint8Array) =>
  frame(0n, fb.Body.Deliver, (b) => fb.Deliver.createDeliver(b, fb.Deliver.createEventVector(b, eventBytes)));

export const sendAck = (rid: bigint, chatId: bigint, clientMsgId: string, seq: bigint, messageId = 5000n + seq) =>
  frame(rid, fb.Body.SendAck, (b) => fb.SendAck.createSendAck(b, chatId, s(b, clientMsgId), messageId, seq, 1_700_000_000_000n));

export const historyPage = (rid: bigint, chatId: bigint, events: Uint8Array[], hasMore = false) =>
  frame(rid, fb.Body.HistoryPage, (b) => {
    const blobs = events.map((e) => fb.EventBlob.createEventBlob(b, fb.EventBlob.createEventVector(b, e)));
    return fb.HistoryPage.createHistoryPage(b, chatId, fb.HistoryPage.createEventsVector(b, blobs), hasMore);
  });

/** A client frame, read back: its request id, body type and body table. */
export function readClientFrame(bytes: Uint8Array): { requestId: bigint; type: fb.Body; frame: fb.Frame } {
  const f = fb.Frame.getRootAsFrame(new flatbuffers.ByteBuffer(bytes));
  return { requestId: f.requestId(), type: f.bodyType(), frame: f };
}
