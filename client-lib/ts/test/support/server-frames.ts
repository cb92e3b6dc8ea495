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

/** What a message event may carry besides its text. */
export interface MessageExtra {
  replyTo?: { seq: bigint; messageId: bigint; senderId: bigint; preview: string; deleted?: boolean };
  forwarded?: { originalSenderId: bigint; originalTimeMs: bigint; fromChatId?: bigint; fromTitle?: string };
  mentions?: bigint[];
  mentionAll?: boolean;
  location?: LocationSpec;
  contact?: { name: string; phones?: string[]; emails?: string[]; userId?: bigint };
  deleted?: boolean;
}

export interface LocationSpec {
  latitude: number;
  longitude: number;
  accuracyM?: number;
  label?: string;
  liveUntilMs?: bigint;
}

const location = (b: B, l: LocationSpec) => fb.Location.createLocation(b, l.latitude, l.longitude, l.accuracyM ?? 0, s(b, l.label ?? ''), l.liveUntilMs ?? 0n);
const strings = (b: B, v: string[]) => v.map((x) => b.createString(x));

export function messageEvent(h: EventSpec, content: string, clientMsgId = `m-${h.chatId}-${h.seq}`, messageId = 1000n + h.seq, x: MessageExtra = {}): Uint8Array {
  return event(h, fb.EventBody.MessageBody, (b) => {
    const id = s(b, clientMsgId);
    const c = s(b, content);
    const r = x.replyTo ? fb.ReplyRef.createReplyRef(b, x.replyTo.seq, x.replyTo.messageId, x.replyTo.senderId, s(b, x.replyTo.preview), x.replyTo.deleted ?? false) : 0;
    const f = x.forwarded ? fb.ForwardRef.createForwardRef(b, x.forwarded.originalSenderId, x.forwarded.originalTimeMs, x.forwarded.fromChatId ?? 0n, s(b, x.forwarded.fromTitle ?? '')) : 0;
    const m = x.mentions ? fb.MessageBody.createMentionsVector(b, x.mentions) : 0;
    let att = 0;
    let type = fb.Attachment.NONE;
    if (x.location) {
      att = location(b, x.location);
      type = fb.Attachment.Location;
    } else if (x.contact) {
      const n = s(b, x.contact.name);
      const p = fb.Contact.createPhonesVector(b, strings(b, x.contact.phones ?? []));
      const e = fb.Contact.createEmailsVector(b, strings(b, x.contact.emails ?? []));
      att = fb.Contact.createContact(b, n, p, e, x.contact.userId ?? 0n);
      type = fb.Attachment.Contact;
    }
    fb.MessageBody.startMessageBody(b);
    fb.MessageBody.addMessageId(b, messageId);
    if (id) fb.MessageBody.addClientMsgId(b, id);
    if (c) fb.MessageBody.addContent(b, c);
    if (r) fb.MessageBody.addReplyTo(b, r);
    if (f) fb.MessageBody.addForwarded(b, f);
    if (m) fb.MessageBody.addMentions(b, m);
    if (x.mentionAll) fb.MessageBody.addMentionAll(b, true);
    if (att) {
      fb.MessageBody.addAttachmentType(b, type);
      fb.MessageBody.addAttachment(b, att);
    }
    if (x.deleted) fb.MessageBody.addDeleted(b, true);
    return fb.MessageBody.endMessageBody(b);
  });
}

export function messageEditedEvent(h: EventSpec, targetSeq: bigint, content: string, mentions: bigint[] = []): Uint8Array {
  return event(h, fb.EventBody.MessageEdited, (b) => fb.MessageEdited.createMessageEdited(b, targetSeq, s(b, content), fb.MessageEdited.createMentionsVector(b, mentions)));
}

export function messagesDeletedEvent(h: EventSpec, seqs: bigint[]): Uint8Array {
  return event(h, fb.EventBody.MessagesDeleted, (b) => fb.MessagesDeleted.createMessagesDeleted(b, fb.MessagesDeleted.createSeqsVector(b, seqs)));
}

export interface ReactionsSpec {
  seq: bigint;
  counts: Array<[string, number]>;
  toggles?: Array<[bigint, string, boolean]>;
}

const counts = (b: B, c: Array<[string, number]>) => c.map(([e, n]) => fb.ReactionCount.createReactionCount(b, b.createString(e), n));

export function reactionsChangedEvent(h: EventSpec, messages: ReactionsSpec[]): Uint8Array {
  return event(h, fb.EventBody.ReactionsChanged, (b) => {
    const rows = messages.map((m) => {
      const c = fb.MessageReactions.createCountsVector(b, counts(b, m.counts));
      const t = fb.MessageReactions.createTogglesVector(b, (m.toggles ?? []).map(([u, e, a]) => fb.ReactionToggle.createReactionToggle(b, u, b.createString(e), a)));
      return fb.MessageReactions.createMessageReactions(b, m.seq, c, t);
    });
    return fb.ReactionsChanged.createReactionsChanged(b, fb.ReactionsChanged.createMessagesVector(b, rows));
  });
}

export function messagePinnedEvent(h: EventSpec, targetSeq: bigint, pinned: boolean): Uint8Array {
  return event(h, fb.EventBody.MessagePinned, (b) => fb.MessagePinned.createMessagePinned(b, targetSeq, pinned));
}

export function liveLocationUpdatedEvent(h: EventSpec, targetSeq: bigint, latitude: number, longitude: number, accuracyM: number, stopped: boolean): Uint8Array {
  return event(h, fb.EventBody.LiveLocationUpdated, (b) => fb.LiveLocationUpdated.createLiveLocationUpdated(b, targetSeq, latitude, longitude, accuracyM, stopped));
}

export interface StateSpec {
  seq: bigint;
  event?: Uint8Array;
  editCount?: number;
  content?: string;
  editedMs?: bigint;
  deleted?: boolean;
  reactions?: Array<[string, number]>;
  myReactions?: string[];
  pinned?: boolean;
  location?: LocationSpec;
  hidden?: boolean;
  chatId?: bigint;
}

function stateTable(b: B, st: StateSpec): flatbuffers.Offset {
  const e = st.event ? fb.MessageState.createEventVector(b, st.event) : 0;
  const c = s(b, st.content ?? '');
  const r = st.reactions ? fb.MessageState.createReactionsVector(b, counts(b, st.reactions)) : 0;
  const my = st.myReactions ? fb.MessageState.createMyReactionsVector(b, strings(b, st.myReactions)) : 0;
  const l = st.location ? location(b, st.location) : 0;
  fb.MessageState.startMessageState(b);
  fb.MessageState.addSeq(b, st.seq);
  if (e) fb.MessageState.addEvent(b, e);
  fb.MessageState.addEditCount(b, st.editCount ?? 0);
  if (c) fb.MessageState.addContent(b, c);
  fb.MessageState.addEditedMs(b, st.editedMs ?? 0n);
  fb.MessageState.addDeleted(b, st.deleted ?? false);
  if (r) fb.MessageState.addReactions(b, r);
  if (my) fb.MessageState.addMyReactions(b, my);
  fb.MessageState.addPinned(b, st.pinned ?? false);
  if (l) fb.MessageState.addLocation(b, l);
  fb.MessageState.addHidden(b, st.hidden ?? false);
  fb.MessageState.addChatId(b, st.chatId ?? 0n);
  return fb.MessageState.endMessageState(b);
}

export const pinList = (rid: bigint, chatId: bigint, states: StateSpec[]) =>
  frame(rid, fb.Body.PinList, (b) => fb.PinList.createPinList(b, chatId, fb.PinList.createMessagesVector(b, states.map((st) => stateTable(b, st)))));

export const reactionList = (rid: bigint, chatId: bigint, seq: bigint, users: Array<[bigint, string[]]>, hasMore = false) =>
  frame(rid, fb.Body.ReactionList, (b) => {
    const rows = users.map(([u, e]) => fb.UserReactions.createUserReactions(b, u, fb.UserReactions.createEmojisVector(b, strings(b, e))));
    return fb.ReactionList.createReactionList(b, chatId, seq, fb.ReactionList.createUsersVector(b, rows), hasMore);
  });

export const forwardAck = (rid: bigint, clientMsgId: string, results: Array<[bigint, bigint, bigint, number]>) =>
  frame(rid, fb.Body.ForwardAck, (b) => {
    const id = s(b, clientMsgId);
    const rows = results.map(([c, m, q, e]) => fb.ForwardResult.createForwardResult(b, c, m, q, e));
    return fb.ForwardAck.createForwardAck(b, id, fb.ForwardAck.createResultsVector(b, rows));
  });

export const messageVersions = (rid: bigint, chatId: bigint, seq: bigint, versions: Array<[bigint, string, bigint]>) =>
  frame(rid, fb.Body.MessageVersions, (b) => {
    const rows = versions.map(([q, c, t]) => fb.MessageVersion.createMessageVersion(b, q, s(b, c), t));
    return fb.MessageVersions.createMessageVersions(b, chatId, seq, fb.MessageVersions.createVersionsVector(b, rows));
  });

export const mentionList = (rid: bigint, events: Uint8Array[], states: StateSpec[], hasMore = false) =>
  frame(rid, fb.Body.MentionList, (b) => {
    const blobs = events.map((e) => fb.EventBlob.createEventBlob(b, fb.EventBlob.createEventVector(b, e)));
    const ev = fb.MentionList.createEventsVector(b, blobs);
    const st = fb.MentionList.createStatesVector(b, states.map((x) => stateTable(b, x)));
    return fb.MentionList.createMentionList(b, ev, st, hasMore);
  });

export const messagesHidden = (chatId: bigint, seqs: bigint[]) =>
  frame(0n, fb.Body.MessagesHidden, (b) => fb.MessagesHidden.createMessagesHidden(b, chatId, fb.MessagesHidden.createSeqsVector(b, seqs)));

/** Settings as the server writes them (every field, so defaults are not implied). */
export interface SettingsSpec {
  post?: fb.Who;
  addMembers?: fb.Who;
  changeInfo?: fb.Who;
  pin?: fb.Who;
  history?: fb.HistoryVisibility;
  forwarding?: boolean;
  approveJoins?: boolean;
}

function settings(b: B, st: SettingsSpec): flatbuffers.Offset {
  return fb.ChatSettings.createChatSettings(
    b, st.post ?? fb.Who.Members, st.addMembers ?? fb.Who.Admins, st.changeInfo ?? fb.Who.Admins, st.pin ?? fb.Who.Admins,
    st.history ?? fb.HistoryVisibility.Everything, st.forwarding ?? true, st.approveJoins ?? false,
  );
}

function memberVector(b: B, members: Array<[bigint, fb.Role] | [bigint, fb.Role, bigint]>): flatbuffers.Offset[] {
  return members.map(([id, role, since]) => fb.Member.createMember(b, id, role, since ?? 1n));
}

export function chatCreatedEvent(
  h: EventSpec, kind: fb.ChatKind, title: string, members: Array<[bigint, fb.Role]>,
  extra: { description?: string; handle?: string; settings?: SettingsSpec } = {},
): Uint8Array {
  return event(h, fb.EventBody.ChatCreated, (b) => {
    const t = s(b, title);
    const v = fb.ChatCreated.createMembersVector(b, memberVector(b, members));
    const d = s(b, extra.description ?? '');
    const hd = s(b, extra.handle ?? '');
    const st = extra.settings ? settings(b, extra.settings) : 0;
    fb.ChatCreated.startChatCreated(b);
    fb.ChatCreated.addKind(b, kind);
    if (t) fb.ChatCreated.addTitle(b, t);
    fb.ChatCreated.addMembers(b, v);
    if (d) fb.ChatCreated.addDescription(b, d);
    if (hd) fb.ChatCreated.addHandle(b, hd);
    if (st) fb.ChatCreated.addSettings(b, st);
    return fb.ChatCreated.endChatCreated(b);
  });
}

export function membersAddedEvent(h: EventSpec, userIds: bigint[], via: fb.JoinedVia = fb.JoinedVia.Added): Uint8Array {
  return event(h, fb.EventBody.MembersAdded, (b) => fb.MembersAdded.createMembersAdded(b, fb.MembersAdded.createUserIdsVector(b, userIds), via));
}

export function chatUpdatedEvent(h: EventSpec, info: { title: string; description?: string; avatarRef?: string; handle?: string; settings?: SettingsSpec }): Uint8Array {
  return event(h, fb.EventBody.ChatUpdated, (b) => {
    const t = s(b, info.title);
    const d = s(b, info.description ?? '');
    const a = s(b, info.avatarRef ?? '');
    const hd = s(b, info.handle ?? '');
    const st = settings(b, info.settings ?? {});
    fb.ChatUpdated.startChatUpdated(b);
    if (t) fb.ChatUpdated.addTitle(b, t);
    if (d) fb.ChatUpdated.addDescription(b, d);
    if (a) fb.ChatUpdated.addAvatarRef(b, a);
    if (hd) fb.ChatUpdated.addHandle(b, hd);
    fb.ChatUpdated.addSettings(b, st);
    return fb.ChatUpdated.endChatUpdated(b);
  });
}

export function roleChangedEvent(h: EventSpec, userId: bigint, role: fb.Role): Uint8Array {
  return event(h, fb.EventBody.RoleChanged, (b) => fb.RoleChanged.createRoleChanged(b, userId, role));
}

export function ownerChangedEvent(h: EventSpec, previousOwner: bigint, newOwner: bigint): Uint8Array {
  return event(h, fb.EventBody.OwnerChanged, (b) => fb.OwnerChanged.createOwnerChanged(b, previousOwner, newOwner));
}

export interface ChatInfoSpec {
  chatId: bigint;
  kind?: fb.ChatKind;
  title?: string;
  members?: Array<[bigint, fb.Role] | [bigint, fb.Role, bigint]>;
  lastSeq?: bigint;
  createdMs?: bigint;
  memberCount?: number;
  membersComplete?: boolean;
  myRole?: fb.Role;
  description?: string;
  avatarRef?: string;
  handle?: string;
  settings?: SettingsSpec;
  pendingRequests?: number;
}

export const chatInfo = (rid: bigint, c: ChatInfoSpec) =>
  frame(rid, fb.Body.ChatInfo, (b) => {
    const t = s(b, c.title ?? '');
    const m = fb.ChatInfo.createMembersVector(b, memberVector(b, c.members ?? []));
    const d = s(b, c.description ?? '');
    const a = s(b, c.avatarRef ?? '');
    const hd = s(b, c.handle ?? '');
    const st = c.settings ? settings(b, c.settings) : 0;
    fb.ChatInfo.startChatInfo(b);
    fb.ChatInfo.addChatId(b, c.chatId);
    fb.ChatInfo.addKind(b, c.kind ?? fb.ChatKind.Group);
    if (t) fb.ChatInfo.addTitle(b, t);
    fb.ChatInfo.addMembers(b, m);
    fb.ChatInfo.addLastSeq(b, c.lastSeq ?? 1n);
    fb.ChatInfo.addCreatedMs(b, c.createdMs ?? 1_700_000_000_000n);
    fb.ChatInfo.addMemberCount(b, c.memberCount ?? (c.members?.length ?? 0));
    fb.ChatInfo.addMembersComplete(b, c.membersComplete ?? true);
    fb.ChatInfo.addMyRole(b, c.myRole ?? fb.Role.Member);
    if (d) fb.ChatInfo.addDescription(b, d);
    if (a) fb.ChatInfo.addAvatarRef(b, a);
    if (hd) fb.ChatInfo.addHandle(b, hd);
    if (st) fb.ChatInfo.addSettings(b, st);
    fb.ChatInfo.addPendingRequests(b, c.pendingRequests ?? 0);
    return fb.ChatInfo.endChatInfo(b);
  });

export interface SummarySpec {
  chatId: bigint;
  kind?: fb.ChatKind;
  title?: string;
  lastSeq?: bigint;
  memberCount?: number;
  lastMessage?: Uint8Array;
  lastActivityMs?: bigint;
  state?: { mutedUntilMs?: bigint; pinRank?: bigint; archived?: boolean; markedUnread?: boolean };
  myRole?: fb.Role;
  unreadCount?: number;
  unreadMentions?: number;
  handle?: string;
  readSeq?: bigint;
  deliveredSeq?: bigint;
  peerDeliveredSeq?: bigint;
  peerReadSeq?: bigint;
}

export const chatList = (rid: bigint, chats: SummarySpec[], hasMore = false) =>
  frame(rid, fb.Body.ChatList, (b) => {
    const rows = chats.map((c) => {
      const t = s(b, c.title ?? '');
      const lm = c.lastMessage ? fb.ChatSummary.createLastMessageVector(b, c.lastMessage) : 0;
      const hd = s(b, c.handle ?? '');
      const st = c.state
        ? fb.ChatState.createChatState(b, c.state.mutedUntilMs ?? 0n, c.state.pinRank ?? 0n, c.state.archived ?? false, c.state.markedUnread ?? false)
        : 0;
      fb.ChatSummary.startChatSummary(b);
      fb.ChatSummary.addChatId(b, c.chatId);
      fb.ChatSummary.addKind(b, c.kind ?? fb.ChatKind.Group);
      if (t) fb.ChatSummary.addTitle(b, t);
      fb.ChatSummary.addLastSeq(b, c.lastSeq ?? 1n);
      fb.ChatSummary.addMemberCount(b, c.memberCount ?? 2);
      if (lm) fb.ChatSummary.addLastMessage(b, lm);
      fb.ChatSummary.addLastActivityMs(b, c.lastActivityMs ?? 0n);
      if (st) fb.ChatSummary.addState(b, st);
      fb.ChatSummary.addMyRole(b, c.myRole ?? fb.Role.Member);
      fb.ChatSummary.addUnreadCount(b, c.unreadCount ?? 0);
      fb.ChatSummary.addUnreadMentions(b, c.unreadMentions ?? 0);
      if (hd) fb.ChatSummary.addHandle(b, hd);
      fb.ChatSummary.addReadSeq(b, c.readSeq ?? 0n);
      fb.ChatSummary.addDeliveredSeq(b, c.deliveredSeq ?? 0n);
      fb.ChatSummary.addPeerDeliveredSeq(b, c.peerDeliveredSeq ?? 0n);
      fb.ChatSummary.addPeerReadSeq(b, c.peerReadSeq ?? 0n);
      return fb.ChatSummary.endChatSummary(b);
    });
    return fb.ChatList.createChatList(b, fb.ChatList.createChatsVector(b, rows), hasMore);
  });

export const memberList = (rid: bigint, chatId: bigint, members: Array<[bigint, fb.Role, bigint]>, hasMore = false) =>
  frame(rid, fb.Body.MemberList, (b) => fb.MemberList.createMemberList(b, chatId, fb.MemberList.createMembersVector(b, memberVector(b, members)), hasMore));

export interface InviteSpec {
  code: string;
  chatId: bigint;
  createdBy?: bigint;
  createdMs?: bigint;
  expiresMs?: bigint;
  maxUses?: number;
  uses?: number;
  revoked?: boolean;
}

function inviteTable(b: B, i: InviteSpec): flatbuffers.Offset {
  return fb.Invite.createInvite(b, s(b, i.code), i.chatId, i.createdBy ?? 1n, i.createdMs ?? 1_700_000_000_000n, i.expiresMs ?? 0n, i.maxUses ?? 0, i.uses ?? 0, i.revoked ?? false);
}

export const invite = (rid: bigint, i: InviteSpec) => frame(rid, fb.Body.Invite, (b) => inviteTable(b, i));

export const inviteList = (rid: bigint, chatId: bigint, invites: InviteSpec[]) =>
  frame(rid, fb.Body.InviteList, (b) => {
    const rows = invites.map((i) => inviteTable(b, i));
    return fb.InviteList.createInviteList(b, chatId, fb.InviteList.createInvitesVector(b, rows));
  });

export const chatPreview = (rid: bigint, p: { chatId: bigint; kind: fb.ChatKind; title: string; description?: string; handle?: string; memberCount: number; approveJoins?: boolean; isMember?: boolean }) =>
  frame(rid, fb.Body.ChatPreview, (b) =>
    fb.ChatPreview.createChatPreview(b, p.chatId, p.kind, s(b, p.title), s(b, p.description ?? ''), 0, s(b, p.handle ?? ''), p.memberCount, p.approveJoins ?? false, p.isMember ?? false),
  );

export const joinPending = (rid: bigint, chatId: bigint) => frame(rid, fb.Body.JoinPending, (b) => fb.JoinPending.createJoinPending(b, chatId));

export const joinRequestList = (rid: bigint, chatId: bigint, requests: Array<[bigint, bigint]>) =>
  frame(rid, fb.Body.JoinRequestList, (b) => {
    const rows = requests.map(([u, t]) => fb.JoinRequest.createJoinRequest(b, u, t));
    return fb.JoinRequestList.createJoinRequestList(b, chatId, fb.JoinRequestList.createRequestsVector(b, rows));
  });

export const chatStateChanged = (rid: bigint, chatId: bigint, st: { mutedUntilMs?: bigint; pinRank?: bigint; archived?: boolean; markedUnread?: boolean }) =>
  frame(rid, fb.Body.ChatStateChanged, (b) => {
    const state = fb.ChatState.createChatState(b, st.mutedUntilMs ?? 0n, st.pinRank ?? 0n, st.archived ?? false, st.markedUnread ?? false);
    fb.ChatStateChanged.startChatStateChanged(b);
    fb.ChatStateChanged.addChatId(b, chatId);
    fb.ChatStateChanged.addState(b, state);
    return fb.ChatStateChanged.endChatStateChanged(b);
  });

export const membershipChanged = (chatId: bigint, member: boolean) =>
  frame(0n, fb.Body.MembershipChanged, (b) => fb.MembershipChanged.createMembershipChanged(b, chatId, member));

function listTable(b: B, l: { listId: bigint; name: string; recipientIds: bigint[] }): flatbuffers.Offset {
  const n = s(b, l.name);
  const r = fb.BroadcastList.createRecipientIdsVector(b, l.recipientIds);
  return fb.BroadcastList.createBroadcastList(b, l.listId, n, r);
}

export const broadcastList = (rid: bigint, l: { listId: bigint; name: string; recipientIds: bigint[] }) => frame(rid, fb.Body.BroadcastList, (b) => listTable(b, l));

export const broadcastLists = (rid: bigint, lists: Array<{ listId: bigint; name: string; recipientIds: bigint[] }>) =>
  frame(rid, fb.Body.BroadcastLists, (b) => {
    const rows = lists.map((l) => listTable(b, l));
    return fb.BroadcastLists.createBroadcastLists(b, fb.BroadcastLists.createListsVector(b, rows));
  });

export const broadcastAck = (rid: bigint, listId: bigint, clientMsgId: string, results: Array<[bigint, bigint, bigint, bigint, number]>) =>
  frame(rid, fb.Body.BroadcastAck, (b) => {
    const id = s(b, clientMsgId);
    const rows = results.map(([u, c, m, q, e]) => fb.BroadcastResult.createBroadcastResult(b, u, c, m, q, e));
    return fb.BroadcastAck.createBroadcastAck(b, listId, id, 1_700_000_000_000n, fb.BroadcastAck.createResultsVector(b, rows));
  });

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

export const historyPage = (rid: bigint, chatId: bigint, events: Uint8Array[], hasMore = false, states: StateSpec[] = []) =>
  frame(rid, fb.Body.HistoryPage, (b) => {
    const blobs = events.map((e) => fb.EventBlob.createEventBlob(b, fb.EventBlob.createEventVector(b, e)));
    const ev = fb.HistoryPage.createEventsVector(b, blobs);
    const st = states.length > 0 ? fb.HistoryPage.createStatesVector(b, states.map((x) => stateTable(b, x))) : 0;
    return fb.HistoryPage.createHistoryPage(b, chatId, ev, hasMore, st);
  });

/** A client frame, read back: its request id, body type and body table. */
export function readClientFrame(bytes: Uint8Array): { requestId: bigint; type: fb.Body; frame: fb.Frame } {
  const f = fb.Frame.getRootAsFrame(new flatbuffers.ByteBuffer(bytes));
  return { requestId: f.requestId(), type: f.bodyType(), frame: f };
}

// ------------------------------------------------------------------ receipts, presence, typing (§6.15)

export const receiptChanged = (rid: bigint, chatId: bigint, userId: bigint, deliveredSeq: bigint, readSeq: bigint, readHidden = false) =>
  frame(rid, fb.Body.ReceiptChanged, (b) => fb.ReceiptChanged.createReceiptChanged(b, chatId, userId, deliveredSeq, readSeq, readHidden));

export const receiptCounts = (chatId: bigint, seq: bigint, delivered: number, read: number, members: number) =>
  frame(0n, fb.Body.ReceiptCounts, (b) => fb.ReceiptCounts.createReceiptCounts(b, chatId, seq, delivered, read, members));

export const receiptList = (rid: bigint, chatId: bigint, seq: bigint, counts: [number, number, number], receipts: Array<[bigint, bigint, bigint, boolean]>) =>
  frame(rid, fb.Body.ReceiptList, (b) => {
    const rows = receipts.map(([u, d, r, h]) => fb.MemberReceipt.createMemberReceipt(b, u, d, r, h));
    return fb.ReceiptList.createReceiptList(b, chatId, seq, counts[0], counts[1], counts[2], fb.ReceiptList.createReceiptsVector(b, rows));
  });

export const privacy = (rid: bigint, readReceipts: boolean, lastSeen: fb.LastSeenVisibility) =>
  frame(rid, fb.Body.Privacy, (b) => fb.Privacy.createPrivacy(b, readReceipts, lastSeen));

export const presenceChanged = (rid: bigint, users: Array<[bigint, fb.PresenceStatus, bigint]>, chats: Array<[bigint, number, number]> = []) =>
  frame(rid, fb.Body.PresenceChanged, (b) => {
    const u = users.map(([id, st, ls]) => fb.UserPresence.createUserPresence(b, id, st, ls));
    const c = chats.map(([id, on, m]) => fb.ChatOnline.createChatOnline(b, id, on, m));
    return fb.PresenceChanged.createPresenceChanged(b, fb.PresenceChanged.createUsersVector(b, u), fb.PresenceChanged.createChatsVector(b, c));
  });

export const typingChanged = (chatId: bigint, userId: bigint, kind: number, expiresInMs = 3000, rid = 0n) =>
  frame(rid, fb.Body.TypingChanged, (b) => fb.TypingChanged.createTypingChanged(b, chatId, userId, kind, expiresInMs));
