// Builds the frames a client sends: plain FlatBuffers (no file identifier, no size prefix), root
// `Frame`, both `body_type` and `body` set (PROTOCOL.md §2, §3). Empty strings are left out, as
// the Rust encoder does.
import * as flatbuffers from 'flatbuffers';
import * as fb from './generated/magpie/wire/fb.js';
import type { ChatInfoPatch, ChatOrder, ChatSettings, ChatStatePatch, Contact, CreateChatOptions, Direction, JoinTarget, LastSeenVisibility, Location, SendOptions, TypingKind } from './types.js';
import { MUTED_FOREVER } from './types.js';

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

const I64_MAX = 2n ** 63n - 1n;

const who = (w: ChatSettings['post']): fb.Who => (w === 'members' ? fb.Who.Members : fb.Who.Admins);

/** A ChatSettings table with every field written (so the server never has to guess a default). */
function settingsTable(b: Builder, s: ChatSettings): flatbuffers.Offset {
  fb.ChatSettings.startChatSettings(b);
  b.forceDefaults(true);
  fb.ChatSettings.addPost(b, who(s.post));
  fb.ChatSettings.addAddMembers(b, who(s.addMembers));
  fb.ChatSettings.addChangeInfo(b, who(s.changeInfo));
  fb.ChatSettings.addPin(b, who(s.pin));
  fb.ChatSettings.addHistory(b, s.history === 'sinceJoined' ? fb.HistoryVisibility.SinceJoined : fb.HistoryVisibility.Everything);
  fb.ChatSettings.addForwarding(b, s.forwarding);
  fb.ChatSettings.addApproveJoins(b, s.approveJoins);
  b.forceDefaults(false);
  return fb.ChatSettings.endChatSettings(b);
}

/** Unix ms as int64; `MUTED_FOREVER` (or more) as i64::MAX. */
export function msToI64(ms: number): bigint {
  if (!Number.isFinite(ms) || ms >= MUTED_FOREVER) return I64_MAX;
  return BigInt(Math.max(0, Math.trunc(ms)));
}

/** CreateGroup: a group or (kind 'channel') a channel. */
export function createGroup(requestId: bigint, title: string, memberIds: readonly bigint[], opts: Omit<CreateChatOptions, 'title' | 'memberIds'> = {}): Uint8Array {
  return frame(requestId, fb.Body.CreateGroup, (b) => {
    const t = str(b, title);
    const m = ids(b, memberIds);
    const d = str(b, opts.description ?? '');
    const h = str(b, opts.handle ?? '');
    const st = opts.settings ? settingsTable(b, opts.settings) : 0;
    fb.CreateGroup.startCreateGroup(b);
    if (t) fb.CreateGroup.addTitle(b, t);
    fb.CreateGroup.addMemberIds(b, m);
    if (opts.kind === 'channel') fb.CreateGroup.addKind(b, fb.ChatKind.Channel);
    if (d) fb.CreateGroup.addDescription(b, d);
    if (h) fb.CreateGroup.addHandle(b, h);
    if (st) fb.CreateGroup.addSettings(b, st);
    return fb.CreateGroup.endCreateGroup(b);
  });
}

export function addMembers(requestId: bigint, chatId: bigint, userIds: readonly bigint[]): Uint8Array {
  return frame(requestId, fb.Body.AddMembers, (b) => fb.AddMembers.createAddMembers(b, chatId, ids(b, userIds)));
}

export function removeMember(requestId: bigint, chatId: bigint, userId: bigint): Uint8Array {
  return frame(requestId, fb.Body.RemoveMember, (b) => fb.RemoveMember.createRemoveMember(b, chatId, userId));
}

/** `successor` 0 = the server picks (the longest-serving admin) when the caller is the owner. */
export function leaveChat(requestId: bigint, chatId: bigint, successor = 0n): Uint8Array {
  return frame(requestId, fb.Body.LeaveChat, (b) => fb.LeaveChat.createLeaveChat(b, chatId, successor));
}

export function getChat(requestId: bigint, chatId: bigint): Uint8Array {
  return frame(requestId, fb.Body.GetChat, (b) => fb.GetChat.createGetChat(b, chatId));
}

export function listChats(
  requestId: bigint,
  afterChatId: bigint,
  limit: number,
  order: ChatOrder = 'byId',
  archived = false,
  beforeMs = 0,
  beforeChatId = 0n,
): Uint8Array {
  const o = order === 'byActivity' ? fb.ChatOrder.ByActivity : fb.ChatOrder.ById;
  return frame(requestId, fb.Body.ListChats, (b) => fb.ListChats.createListChats(b, afterChatId, limit, o, archived, BigInt(Math.trunc(beforeMs)), beforeChatId));
}

export function listMembers(requestId: bigint, chatId: bigint, afterUserId: bigint, limit: number, adminsOnly: boolean): Uint8Array {
  return frame(requestId, fb.Body.ListMembers, (b) => fb.ListMembers.createListMembers(b, chatId, afterUserId, limit, adminsOnly));
}

/** UpdateChat field bits (PROTOCOL.md §6.9). */
export const UPDATE_TITLE = 1;
export const UPDATE_DESCRIPTION = 2;
export const UPDATE_AVATAR = 4;
export const UPDATE_HANDLE = 8;
export const UPDATE_SETTINGS = 16;

export function updateChat(requestId: bigint, chatId: bigint, patch: ChatInfoPatch): Uint8Array {
  return frame(requestId, fb.Body.UpdateChat, (b) => {
    let fields = 0;
    const t = patch.title !== undefined ? ((fields |= UPDATE_TITLE), str(b, patch.title)) : 0;
    const d = patch.description !== undefined ? ((fields |= UPDATE_DESCRIPTION), str(b, patch.description)) : 0;
    const a = patch.avatarRef !== undefined ? ((fields |= UPDATE_AVATAR), str(b, patch.avatarRef)) : 0;
    const h = patch.handle !== undefined ? ((fields |= UPDATE_HANDLE), str(b, patch.handle)) : 0;
    const st = patch.settings !== undefined ? ((fields |= UPDATE_SETTINGS), settingsTable(b, patch.settings)) : 0;
    fb.UpdateChat.startUpdateChat(b);
    fb.UpdateChat.addChatId(b, chatId);
    fb.UpdateChat.addFields(b, fields);
    if (t) fb.UpdateChat.addTitle(b, t);
    if (d) fb.UpdateChat.addDescription(b, d);
    if (a) fb.UpdateChat.addAvatarRef(b, a);
    if (h) fb.UpdateChat.addHandle(b, h);
    if (st) fb.UpdateChat.addSettings(b, st);
    return fb.UpdateChat.endUpdateChat(b);
  });
}

export function setRole(requestId: bigint, chatId: bigint, userId: bigint, role: 'member' | 'admin'): Uint8Array {
  return frame(requestId, fb.Body.SetRole, (b) => fb.SetRole.createSetRole(b, chatId, userId, role === 'admin' ? fb.Role.Admin : fb.Role.Member));
}

export function transferOwnership(requestId: bigint, chatId: bigint, userId: bigint): Uint8Array {
  return frame(requestId, fb.Body.TransferOwnership, (b) => fb.TransferOwnership.createTransferOwnership(b, chatId, userId));
}

/** `expiresMs` 0 = never; `maxUses` 0 = unlimited. */
export function createInvite(requestId: bigint, chatId: bigint, expiresMs: number, maxUses: number): Uint8Array {
  return frame(requestId, fb.Body.CreateInvite, (b) => fb.CreateInvite.createCreateInvite(b, chatId, expiresMs > 0 ? msToI64(expiresMs) : 0n, maxUses));
}

export function listInvites(requestId: bigint, chatId: bigint): Uint8Array {
  return frame(requestId, fb.Body.ListInvites, (b) => fb.ListInvites.createListInvites(b, chatId));
}

export function revokeInvite(requestId: bigint, chatId: bigint, code: string): Uint8Array {
  return frame(requestId, fb.Body.RevokeInvite, (b) => fb.RevokeInvite.createRevokeInvite(b, chatId, str(b, code)));
}

function target(b: Builder, t: JoinTarget): [flatbuffers.Offset, flatbuffers.Offset] {
  return 'inviteCode' in t ? [str(b, t.inviteCode), 0] : [0, str(b, t.handle)];
}

export function previewChat(requestId: bigint, t: JoinTarget): Uint8Array {
  return frame(requestId, fb.Body.PreviewChat, (b) => {
    const [code, handle] = target(b, t);
    return fb.PreviewChat.createPreviewChat(b, code, handle);
  });
}

export function joinChat(requestId: bigint, t: JoinTarget): Uint8Array {
  return frame(requestId, fb.Body.JoinChat, (b) => {
    const [code, handle] = target(b, t);
    return fb.JoinChat.createJoinChat(b, code, handle);
  });
}

export function listJoinRequests(requestId: bigint, chatId: bigint): Uint8Array {
  return frame(requestId, fb.Body.ListJoinRequests, (b) => fb.ListJoinRequests.createListJoinRequests(b, chatId));
}

export function resolveJoinRequest(requestId: bigint, chatId: bigint, userId: bigint, approve: boolean): Uint8Array {
  return frame(requestId, fb.Body.ResolveJoinRequest, (b) => fb.ResolveJoinRequest.createResolveJoinRequest(b, chatId, userId, approve));
}

/** SetChatState field bits (PROTOCOL.md §6.10). */
export const STATE_MUTED = 1;
export const STATE_PINNED = 2;
export const STATE_ARCHIVED = 4;
export const STATE_MARKED_UNREAD = 8;

export function setChatState(requestId: bigint, chatId: bigint, patch: ChatStatePatch): Uint8Array {
  let fields = 0;
  if (patch.mutedUntilMs !== undefined) fields |= STATE_MUTED;
  if (patch.pinned !== undefined) fields |= STATE_PINNED;
  if (patch.archived !== undefined) fields |= STATE_ARCHIVED;
  if (patch.markedUnread !== undefined) fields |= STATE_MARKED_UNREAD;
  const muted = patch.mutedUntilMs === undefined || patch.mutedUntilMs <= 0 ? 0n : msToI64(patch.mutedUntilMs);
  return frame(requestId, fb.Body.SetChatState, (b) =>
    fb.SetChatState.createSetChatState(b, chatId, fields, muted, patch.pinned ?? false, patch.archived ?? false, patch.markedUnread ?? false),
  );
}

export function reorderPinned(requestId: bigint, chatIds: readonly bigint[]): Uint8Array {
  return frame(requestId, fb.Body.ReorderPinned, (b) => fb.ReorderPinned.createReorderPinned(b, ids(b, chatIds)));
}

/** `listId` 0 creates a list; another id replaces that list. */
export function saveBroadcastList(requestId: bigint, listId: bigint, name: string, recipientIds: readonly bigint[]): Uint8Array {
  return frame(requestId, fb.Body.SaveBroadcastList, (b) => {
    const n = str(b, name);
    const r = ids(b, recipientIds);
    return fb.SaveBroadcastList.createSaveBroadcastList(b, listId, n, r);
  });
}

export function deleteBroadcastList(requestId: bigint, listId: bigint): Uint8Array {
  return frame(requestId, fb.Body.DeleteBroadcastList, (b) => fb.DeleteBroadcastList.createDeleteBroadcastList(b, listId));
}

export function listBroadcastLists(requestId: bigint): Uint8Array {
  return frame(requestId, fb.Body.ListBroadcastLists, (b) => {
    fb.ListBroadcastLists.startListBroadcastLists(b);
    return fb.ListBroadcastLists.endListBroadcastLists(b);
  });
}

export function sendBroadcast(requestId: bigint, listId: bigint, clientMsgId: string, content: string): Uint8Array {
  return frame(requestId, fb.Body.SendBroadcast, (b) => {
    const id = str(b, clientMsgId);
    const c = str(b, content);
    return fb.SendBroadcast.createSendBroadcast(b, listId, id, c);
  });
}

function location(b: Builder, l: Location): flatbuffers.Offset {
  return fb.Location.createLocation(b, l.latitude, l.longitude, l.accuracyM, str(b, l.label), msToI64(l.liveUntilMs));
}

function strings(b: Builder, values: readonly string[]): flatbuffers.Offset {
  const offsets = values.map((v) => b.createString(v));
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]!);
  return b.endVector();
}

function contact(b: Builder, c: Contact): flatbuffers.Offset {
  const name = str(b, c.name);
  const phones = c.phones.length > 0 ? strings(b, c.phones) : 0;
  const emails = c.emails.length > 0 ? strings(b, c.emails) : 0;
  return fb.Contact.createContact(b, name, phones, emails, c.userId);
}

/** SendMessage: text, and optionally a reply, mentions, @all and a place or contact card. */
export function sendMessage(requestId: bigint, chatId: bigint, clientMsgId: string, content: string, options: SendOptions = {}): Uint8Array {
  return frame(requestId, fb.Body.SendMessage, (b) => {
    const id = str(b, clientMsgId);
    const c = str(b, content);
    const mentions = options.mentions && options.mentions.length > 0 ? ids(b, options.mentions) : 0;
    const a = options.attachment;
    const attachment = !a ? 0 : a.type === 'location' ? location(b, a.location) : contact(b, a.contact);
    const type = !a ? fb.Attachment.NONE : a.type === 'location' ? fb.Attachment.Location : fb.Attachment.Contact;
    return fb.SendMessage.createSendMessage(b, chatId, id, c, options.replyToSeq ?? 0n, mentions, options.mentionAll ?? false, type, attachment);
  });
}

export function editMessage(requestId: bigint, chatId: bigint, seq: bigint, content: string, mentions: readonly bigint[]): Uint8Array {
  return frame(requestId, fb.Body.EditMessage, (b) => {
    const c = str(b, content);
    const m = mentions.length > 0 ? ids(b, mentions) : 0;
    return fb.EditMessage.createEditMessage(b, chatId, seq, c, m);
  });
}

export function deleteMessages(requestId: bigint, chatId: bigint, seqs: readonly bigint[], forEveryone: boolean): Uint8Array {
  return frame(requestId, fb.Body.DeleteMessages, (b) => fb.DeleteMessages.createDeleteMessages(b, chatId, ids(b, seqs), forEveryone));
}

export function react(requestId: bigint, chatId: bigint, seq: bigint, emoji: string, add: boolean): Uint8Array {
  return frame(requestId, fb.Body.React, (b) => fb.React.createReact(b, chatId, seq, str(b, emoji), add));
}

export function listReactions(requestId: bigint, chatId: bigint, seq: bigint, emoji: string, afterUserId: bigint, limit: number): Uint8Array {
  return frame(requestId, fb.Body.ListReactions, (b) => fb.ListReactions.createListReactions(b, chatId, seq, str(b, emoji), afterUserId, limit));
}

export function pinMessage(requestId: bigint, chatId: bigint, seq: bigint, pinned: boolean): Uint8Array {
  return frame(requestId, fb.Body.PinMessage, (b) => fb.PinMessage.createPinMessage(b, chatId, seq, pinned));
}

export function listPins(requestId: bigint, chatId: bigint): Uint8Array {
  return frame(requestId, fb.Body.ListPins, (b) => fb.ListPins.createListPins(b, chatId));
}

export function updateLiveLocation(requestId: bigint, chatId: bigint, seq: bigint, latitude: number, longitude: number, accuracyM: number, stop: boolean): Uint8Array {
  return frame(requestId, fb.Body.UpdateLiveLocation, (b) => fb.UpdateLiveLocation.createUpdateLiveLocation(b, chatId, seq, latitude, longitude, accuracyM, stop));
}

export function forwardMessage(requestId: bigint, fromChatId: bigint, seq: bigint, toChatIds: readonly bigint[], clientMsgId: string): Uint8Array {
  return frame(requestId, fb.Body.ForwardMessage, (b) => {
    const to = ids(b, toChatIds);
    return fb.ForwardMessage.createForwardMessage(b, fromChatId, seq, to, str(b, clientMsgId));
  });
}

export function getMessageVersions(requestId: bigint, chatId: bigint, seq: bigint): Uint8Array {
  return frame(requestId, fb.Body.GetMessageVersions, (b) => fb.GetMessageVersions.createGetMessageVersions(b, chatId, seq));
}

export function listMentions(requestId: bigint, beforeMessageId: bigint, limit: number): Uint8Array {
  return frame(requestId, fb.Body.ListMentions, (b) => fb.ListMentions.createListMentions(b, beforeMessageId, limit));
}

// ---------------------------------------------------------------- receipts, presence, typing (§6.15)

/** 0 leaves that cursor as it is. */
export function markReceipts(requestId: bigint, chatId: bigint, deliveredSeq: bigint, readSeq: bigint): Uint8Array {
  return frame(requestId, fb.Body.MarkReceipts, (b) => fb.MarkReceipts.createMarkReceipts(b, chatId, deliveredSeq, readSeq));
}

export function getReceipts(requestId: bigint, chatId: bigint, seq: bigint): Uint8Array {
  return frame(requestId, fb.Body.GetReceipts, (b) => fb.GetReceipts.createGetReceipts(b, chatId, seq));
}

export const LAST_SEEN: Record<LastSeenVisibility, fb.LastSeenVisibility> = {
  everyone: fb.LastSeenVisibility.Everyone,
  sharedChats: fb.LastSeenVisibility.SharedChats,
  nobody: fb.LastSeenVisibility.Nobody,
};

/** Only the settings given are changed (`fields` names them). */
export function setPrivacy(requestId: bigint, patch: { readReceipts?: boolean; lastSeen?: LastSeenVisibility }): Uint8Array {
  const fields = (patch.readReceipts !== undefined ? 1 : 0) | (patch.lastSeen !== undefined ? 2 : 0);
  return frame(requestId, fb.Body.SetPrivacy, (b) =>
    fb.SetPrivacy.createSetPrivacy(b, fields, patch.readReceipts ?? true, patch.lastSeen !== undefined ? LAST_SEEN[patch.lastSeen] : fb.LastSeenVisibility.Everyone),
  );
}

export function getPrivacy(requestId: bigint): Uint8Array {
  return frame(requestId, fb.Body.GetPrivacy, (b) => fb.GetPrivacy.createGetPrivacy(b));
}

/** `activity`: the user is interacting now (bit 1); `dnd`: sets or clears do-not-disturb (bit 2). */
export function setPresence(requestId: bigint, opts: { activity?: boolean; dnd?: boolean }): Uint8Array {
  const fields = (opts.activity ? 1 : 0) | (opts.dnd !== undefined ? 2 : 0);
  return frame(requestId, fb.Body.SetPresence, (b) => fb.SetPresence.createSetPresence(b, fields, opts.dnd ?? false));
}

export function watchPresence(requestId: bigint, userIds: readonly bigint[], chatIds: readonly bigint[]): Uint8Array {
  return frame(requestId, fb.Body.WatchPresence, (b) => {
    const u = ids(b, userIds);
    const c = ids(b, chatIds);
    return fb.WatchPresence.createWatchPresence(b, u, c);
  });
}

export const TYPING_KIND: Record<TypingKind, fb.TypingKind> = {
  stopped: fb.TypingKind.Stopped,
  typing: fb.TypingKind.Typing,
  recordingVoice: fb.TypingKind.RecordingVoice,
};

export function setTyping(requestId: bigint, chatId: bigint, kind: TypingKind): Uint8Array {
  return frame(requestId, fb.Body.SetTyping, (b) => fb.SetTyping.createSetTyping(b, chatId, TYPING_KIND[kind]));
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
