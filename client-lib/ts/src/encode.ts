// Builds the frames a client sends: plain FlatBuffers (no file identifier, no size prefix), root
// `Frame`, both `body_type` and `body` set (PROTOCOL.md §2, §3). Empty strings are left out, as
// the Rust encoder does.
import * as flatbuffers from 'flatbuffers';
import * as fb from './generated/magpie/wire/fb.js';
import type { Direction } from './types.js';

type Builder = flatbuffers.Builder;

function frame(requestId: bigint, type: fb.Body, body: (b: Builder) => flatbuffers.Offset): Uint8Array {
  const b = new flatbuffers.Builder(128);
  const bodyOffset = body(b);
  fb.Frame.startFrame(b);
  fb.Frame.addRequestId(b, requestId);
  fb.Frame.addBodyType(b, type);
  fb.Frame.addBody(b, bodyOffset);
  b.finish(fb.Frame.endFrame(b));
  return b.asUint8Array().slice();
}

function str(b: Builder, s: string): flatbuffers.Offset {
  return s === '' ? 0 : b.createString(s);
}

function ids(b: Builder, values: readonly bigint[]): flatbuffers.Offset {
  b.startVector(8, values.length, 8);
  for (let i = values.length - 1; i >= 0; i--) b.addInt64(values[i]!);
  return b.endVector();
}

export function hello(requestId: bigint, protocolVersion: number, minProtocolVersion: number, features: bigint, clientName: string): Uint8Array {
  return frame(requestId, fb.Body.Hello, (b) => {
    const name = str(b, clientName);
    fb.Hello.startHello(b);
    fb.Hello.addProtocolVersion(b, protocolVersion);
    fb.Hello.addMinProtocolVersion(b, minProtocolVersion);
    fb.Hello.addFeatures(b, features);
    if (name) fb.Hello.addClientName(b, name);
    return fb.Hello.endHello(b);
  });
}

export function ping(requestId: bigint, nonce: bigint): Uint8Array {
  return frame(requestId, fb.Body.Ping, (b) => fb.Ping.createPing(b, nonce));
}

function credentials(type: fb.Body.Register | fb.Body.Login) {
  return (requestId: bigint, username: string, password: string, deviceName: string): Uint8Array =>
    frame(requestId, type, (b) => {
      const u = str(b, username);
      const p = str(b, password);
      const d = str(b, deviceName);
      return type === fb.Body.Register ? fb.Register.createRegister(b, u, p, d) : fb.Login.createLogin(b, u, p, d);
    });
}

export const register = credentials(fb.Body.Register);
export const login = credentials(fb.Body.Login);

export function authenticate(requestId: bigint, token: string): Uint8Array {
  return frame(requestId, fb.Body.Authenticate, (b) => fb.Authenticate.createAuthenticate(b, str(b, token)));
}

export function logout(requestId: bigint): Uint8Array {
  return frame(requestId, fb.Body.Logout, (b) => {
    fb.Logout.startLogout(b);
    return fb.Logout.endLogout(b);
  });
}

export function listDevices(requestId: bigint): Uint8Array {
  return frame(requestId, fb.Body.ListDevices, (b) => {
    fb.ListDevices.startListDevices(b);
    return fb.ListDevices.endListDevices(b);
  });
}

export function revokeDevice(requestId: bigint, deviceId: bigint): Uint8Array {
  return frame(requestId, fb.Body.RevokeDevice, (b) => fb.RevokeDevice.createRevokeDevice(b, deviceId));
}

export function lookupUser(requestId: bigint, username: string): Uint8Array {
  return frame(requestId, fb.Body.LookupUser, (b) => fb.LookupUser.createLookupUser(b, str(b, username)));
}

export function getUsers(requestId: bigint, userIds: readonly bigint[]): Uint8Array {
  return frame(requestId, fb.Body.GetUsers, (b) => fb.GetUsers.createGetUsers(b, ids(b, userIds)));
}

export function createDirect(requestId: bigint, peerUserId: bigint, peerUsername: string): Uint8Array {
  return frame(requestId, fb.Body.CreateDirect, (b) => fb.CreateDirect.createCreateDirect(b, peerUserId, str(b, peerUsername)));
}

export function createGroup(requestId: bigint, title: string, memberIds: readonly bigint[]): Uint8Array {
  return frame(requestId, fb.Body.CreateGroup, (b) => {
    const t = str(b, title);
    const m = ids(b, memberIds);
    return fb.CreateGroup.createCreateGroup(b, t, m);
  });
}

export function addMembers(requestId: bigint, chatId: bigint, userIds: readonly bigint[]): Uint8Array {
  return frame(requestId, fb.Body.AddMembers, (b) => fb.AddMembers.createAddMembers(b, chatId, ids(b, userIds)));
}

export function removeMember(requestId: bigint, chatId: bigint, userId: bigint): Uint8Array {
  return frame(requestId, fb.Body.RemoveMember, (b) => fb.RemoveMember.createRemoveMember(b, chatId, userId));
}

export function leaveChat(requestId: bigint, chatId: bigint): Uint8Array {
  return frame(requestId, fb.Body.LeaveChat, (b) => fb.LeaveChat.createLeaveChat(b, chatId));
}

export function getChat(requestId: bigint, chatId: bigint): Uint8Array {
  return frame(requestId, fb.Body.GetChat, (b) => fb.GetChat.createGetChat(b, chatId));
}

export function listChats(requestId: bigint, afterChatId: bigint, limit: number): Uint8Array {
  return frame(requestId, fb.Body.ListChats, (b) => fb.ListChats.createListChats(b, afterChatId, limit));
}

export function sendMessage(requestId: bigint, chatId: bigint, clientMsgId: string, content: string): Uint8Array {
  return frame(requestId, fb.Body.SendMessage, (b) => {
    const id = str(b, clientMsgId);
    const c = str(b, content);
    return fb.SendMessage.createSendMessage(b, chatId, id, c);
  });
}

/** `cursors`: (chat id, last seq held) pairs. */
export function sync(requestId: bigint, cursors: ReadonlyArray<readonly [bigint, bigint]>): Uint8Array {
  return frame(requestId, fb.Body.Sync, (b) => {
    fb.Sync.startCursorsVector(b, cursors.length);
    for (let i = cursors.length - 1; i >= 0; i--) fb.ChatCursor.createChatCursor(b, cursors[i]![0], cursors[i]![1]);
    return fb.Sync.createSync(b, b.endVector());
  });
}

export function history(requestId: bigint, chatId: bigint, fromSeq: bigint, direction: Direction, limit: number): Uint8Array {
  const dir = direction === 'forward' ? fb.Direction.Forward : fb.Direction.Backward;
  return frame(requestId, fb.Body.History, (b) => fb.History.createHistory(b, chatId, fromSeq, dir, limit));
}
