// Conversations (PROTOCOL.md §6.9–6.11): every new request's encoding, every new reply and event
// decoded, and the pushes (ChatStateChanged, MembershipChanged) reaching the app.
import { describe, expect, it } from 'vitest';
import { MagpieClient, type ClientEvent } from '../../src/client.js';
import { decodeEvent, decodeFrame } from '../../src/decode.js';
import * as encode from '../../src/encode.js';
import { MagpieError } from '../../src/error.js';
import { ErrorCode } from '../../src/errors.js';
import * as fb from '../../src/generated/magpie/wire/fb.js';
import { DEFAULT_SETTINGS, MUTED_FOREVER, type ChatSettings } from '../../src/types.js';
import { FakeServer, type FakeConnection } from '../support/fake-transport.js';
import * as sf from '../support/server-frames.js';

const H = { chatId: 7n, seq: 3n, senderId: 11n, senderDeviceId: 12n, timeMs: 1_700_000_000_000n };
const I64_MAX = 2n ** 63n - 1n;
const body = <T>(bytes: Uint8Array, obj: T): T => sf.readClientFrame(bytes).frame.body(obj) as T;
const reply = (bytes: Uint8Array) => {
  const r = decodeFrame(bytes);
  if (r instanceof MagpieError || r.kind !== 'reply') throw new Error(`not a reply: ${String(r)}`);
  return r.result;
};
const u64s = (n: number, at: (i: number) => bigint | null) => Array.from({ length: n }, (_, i) => at(i));

const CUSTOM: ChatSettings = { post: 'admins', addMembers: 'members', changeInfo: 'members', pin: 'members', history: 'sinceJoined', forwarding: false, approveJoins: true };

describe('conversation requests', () => {
  it('CreateGroup carries kind, description, handle and every settings field', () => {
    const g = body(encode.createGroup(1n, 'News', [4n, 5n], { kind: 'channel', description: 'daily', handle: 'daily_news', settings: CUSTOM }), new fb.CreateGroup());
    expect([g.title(), u64s(g.memberIdsLength(), (i) => g.memberIds(i)), g.kind(), g.description(), g.handle()]).toEqual(['News', [4n, 5n], fb.ChatKind.Channel, 'daily', 'daily_news']);
    const s = g.settings()!;
    expect([s.post(), s.addMembers(), s.changeInfo(), s.pin(), s.history(), s.forwarding(), s.approveJoins()]).toEqual([
      fb.Who.Admins, fb.Who.Members, fb.Who.Members, fb.Who.Members, fb.HistoryVisibility.SinceJoined, false, true,
    ]);
    // Defaults, written out: a settings table with the schema's defaults still reads back as them.
    const d = body(encode.createGroup(1n, 'G', [], { settings: DEFAULT_SETTINGS }), new fb.CreateGroup()).settings()!;
    expect([d.post(), d.addMembers(), d.forwarding(), d.approveJoins()]).toEqual([fb.Who.Members, fb.Who.Admins, true, false]);
    const plain = body(encode.createGroup(1n, 'G', []), new fb.CreateGroup());
    expect([plain.kind(), plain.settings(), plain.handle()]).toEqual([fb.ChatKind.Group, null, null]);
  });

  it('LeaveChat with a successor, ListMembers, SetRole, TransferOwnership', () => {
    const l = body(encode.leaveChat(1n, 9n, 4n), new fb.LeaveChat());
    expect([l.chatId(), l.successor()]).toEqual([9n, 4n]);
    expect(body(encode.leaveChat(1n, 9n), new fb.LeaveChat()).successor()).toBe(0n);
    const m = body(encode.listMembers(1n, 9n, 40n, 300, true), new fb.ListMembers());
    expect([m.chatId(), m.afterUserId(), m.limit(), m.adminsOnly()]).toEqual([9n, 40n, 300, true]);
    const r = body(encode.setRole(1n, 9n, 4n, 'admin'), new fb.SetRole());
    expect([r.chatId(), r.userId(), r.role()]).toEqual([9n, 4n, fb.Role.Admin]);
    expect(body(encode.setRole(1n, 9n, 4n, 'member'), new fb.SetRole()).role()).toBe(fb.Role.Member);
    const t = body(encode.transferOwnership(1n, 9n, 4n), new fb.TransferOwnership());
    expect([t.chatId(), t.userId()]).toEqual([9n, 4n]);
  });

  it('UpdateChat names exactly the fields given', () => {
    const u = body(encode.updateChat(1n, 9n, { title: 'New', handle: '' }), new fb.UpdateChat());
    expect([u.chatId(), u.fields(), u.title(), u.handle(), u.settings()]).toEqual([9n, encode.UPDATE_TITLE | encode.UPDATE_HANDLE, 'New', null, null]);
    const all = body(encode.updateChat(1n, 9n, { title: 'T', description: 'D', avatarRef: 'A', handle: 'hand_le', settings: CUSTOM }), new fb.UpdateChat());
    expect([all.fields(), all.description(), all.avatarRef(), all.handle(), all.settings()!.approveJoins()]).toEqual([31, 'D', 'A', 'hand_le', true]);
  });

  it('invites, preview and join by code or handle, join requests', () => {
    const c = body(encode.createInvite(1n, 9n, 1_800_000_000_000, 5), new fb.CreateInvite());
    expect([c.chatId(), c.expiresMs(), c.maxUses()]).toEqual([9n, 1_800_000_000_000n, 5]);
    expect(body(encode.createInvite(1n, 9n, 0, 0), new fb.CreateInvite()).expiresMs()).toBe(0n);
    expect(body(encode.listInvites(1n, 9n), new fb.ListInvites()).chatId()).toBe(9n);
    const rv = body(encode.revokeInvite(1n, 9n, 'abc'), new fb.RevokeInvite());
    expect([rv.chatId(), rv.code()]).toEqual([9n, 'abc']);
    const p = body(encode.previewChat(1n, { inviteCode: 'abc' }), new fb.PreviewChat());
    expect([p.inviteCode(), p.handle()]).toEqual(['abc', null]);
    const j = body(encode.joinChat(1n, { handle: 'daily_news' }), new fb.JoinChat());
    expect([j.inviteCode(), j.handle()]).toEqual([null, 'daily_news']);
    expect(body(encode.listJoinRequests(1n, 9n), new fb.ListJoinRequests()).chatId()).toBe(9n);
    const rs = body(encode.resolveJoinRequest(1n, 9n, 4n, true), new fb.ResolveJoinRequest());
    expect([rs.chatId(), rs.userId(), rs.approve()]).toEqual([9n, 4n, true]);
  });

  it('SetChatState names its fields; muted for good is i64::MAX; ReorderPinned; ListChats by activity', () => {
    const s = body(encode.setChatState(1n, 9n, { pinned: true, archived: false }), new fb.SetChatState());
    expect([s.chatId(), s.fields(), s.pinned(), s.archived()]).toEqual([9n, encode.STATE_PINNED | encode.STATE_ARCHIVED, true, false]);
    const m = body(encode.setChatState(1n, 9n, { mutedUntilMs: MUTED_FOREVER }), new fb.SetChatState());
    expect([m.fields(), m.mutedUntilMs()]).toEqual([encode.STATE_MUTED, I64_MAX]);
    expect(body(encode.setChatState(1n, 9n, { mutedUntilMs: 0, markedUnread: true }), new fb.SetChatState()).fields()).toBe(encode.STATE_MUTED | encode.STATE_MARKED_UNREAD);
    expect(body(encode.setChatState(1n, 9n, { mutedUntilMs: 1_800_000_000_000 }), new fb.SetChatState()).mutedUntilMs()).toBe(1_800_000_000_000n);
    const r = body(encode.reorderPinned(1n, [3n, 1n, 2n]), new fb.ReorderPinned());
    expect(u64s(r.chatIdsLength(), (i) => r.chatIds(i))).toEqual([3n, 1n, 2n]);
    const l = body(encode.listChats(1n, 0n, 50, 'byActivity', true, 1_700_000_000_123, 8n), new fb.ListChats());
    expect([l.order(), l.archived(), l.beforeMs(), l.beforeChatId(), l.limit()]).toEqual([fb.ChatOrder.ByActivity, true, 1_700_000_000_123n, 8n, 50]);
    expect(body(encode.listChats(1n, 4n, 0), new fb.ListChats()).order()).toBe(fb.ChatOrder.ById);
  });

  it('broadcast lists', () => {
    const s = body(encode.saveBroadcastList(1n, 0n, 'Family', [4n, 5n]), new fb.SaveBroadcastList());
    expect([s.listId(), s.name(), u64s(s.recipientIdsLength(), (i) => s.recipientIds(i))]).toEqual([0n, 'Family', [4n, 5n]]);
    expect(body(encode.deleteBroadcastList(1n, 3n), new fb.DeleteBroadcastList()).listId()).toBe(3n);
    expect(sf.readClientFrame(encode.listBroadcastLists(2n)).type).toBe(fb.Body.ListBroadcastLists);
    const b = body(encode.sendBroadcast(1n, 3n, 'c-1', 'hello all'), new fb.SendBroadcast());
    expect([b.listId(), b.clientMsgId(), b.content()]).toEqual([3n, 'c-1', 'hello all']);
  });
});

describe('conversation replies and events', () => {
  it('decode the new events', () => {
    const kind = (bytes: Uint8Array) => (decodeEvent(bytes) as { kind: unknown }).kind;
    expect(kind(sf.chatCreatedEvent(H, fb.ChatKind.Channel, 'News', [[11n, fb.Role.Owner]], { description: 'd', handle: 'news_room', settings: { post: fb.Who.Admins, approveJoins: true } }))).toEqual({
      type: 'chatCreated', chatKind: 'channel', title: 'News', members: [{ userId: 11n, role: 'owner', sinceSeq: 1n }], description: 'd', handle: 'news_room',
      settings: { ...DEFAULT_SETTINGS, post: 'admins', approveJoins: true },
    });
    expect(kind(sf.membersAddedEvent(H, [4n], fb.JoinedVia.InviteLink))).toEqual({ type: 'membersAdded', userIds: [4n], via: 'inviteLink' });
    expect(kind(sf.membersAddedEvent(H, [4n], fb.JoinedVia.Handle))).toMatchObject({ via: 'handle' });
    expect(kind(sf.membersAddedEvent(H, [4n], fb.JoinedVia.Approved))).toMatchObject({ via: 'approved' });
    expect(kind(sf.membersAddedEvent(H, [4n], 9 as fb.JoinedVia))).toMatchObject({ via: { unknown: 9 } });
    expect(kind(sf.chatUpdatedEvent(H, { title: 'T2', description: 'D2', avatarRef: 'ref', handle: 'h_andle', settings: { history: fb.HistoryVisibility.SinceJoined, forwarding: false } }))).toEqual({
      type: 'chatUpdated', title: 'T2', description: 'D2', avatarRef: 'ref', handle: 'h_andle', settings: { ...DEFAULT_SETTINGS, history: 'sinceJoined', forwarding: false },
    });
    expect(kind(sf.roleChangedEvent(H, 4n, fb.Role.Admin))).toEqual({ type: 'roleChanged', userId: 4n, role: 'admin' });
    expect(kind(sf.roleChangedEvent(H, 4n, 7 as fb.Role))).toEqual({ type: 'roleChanged', userId: 4n, role: { unknown: 7 } });
    expect(kind(sf.ownerChangedEvent(H, 11n, 4n))).toEqual({ type: 'ownerChanged', previousOwner: 11n, newOwner: 4n });
  });

  it('ChatInfo with all its new fields; an unknown Who reads as admins', () => {
    const r = reply(sf.chatInfo(3n, {
      chatId: 9n, kind: fb.ChatKind.Channel, title: 'News', members: [[1n, fb.Role.Owner, 1n], [2n, fb.Role.Admin, 4n]], lastSeq: 6n,
      memberCount: 1500, membersComplete: false, myRole: fb.Role.Admin, description: 'd', avatarRef: 'a', handle: 'news_room',
      settings: { post: fb.Who.Admins, pin: 5 as fb.Who }, pendingRequests: 3,
    }));
    expect(r).toEqual({
      type: 'chat',
      chat: {
        chatId: 9n, kind: 'channel', title: 'News', members: [{ userId: 1n, role: 'owner', sinceSeq: 1n }, { userId: 2n, role: 'admin', sinceSeq: 4n }],
        lastSeq: 6n, createdMs: 1_700_000_000_000, memberCount: 1500, membersComplete: false, myRole: 'admin', description: 'd', avatarRef: 'a',
        handle: 'news_room', settings: { ...DEFAULT_SETTINGS, post: 'admins', pin: 'admins' }, pendingRequests: 3,
      },
    });
    // Absent settings are the defaults.
    expect((reply(sf.chatInfo(3n, { chatId: 9n })) as { chat: { settings: unknown } }).chat.settings).toEqual(DEFAULT_SETTINGS);
  });

  it('ChatSummary with activity, state, role and handle', () => {
    const r = reply(sf.chatList(4n, [
      { chatId: 2n, title: 'A', lastActivityMs: 1_700_000_000_500n, state: { pinRank: 3n, mutedUntilMs: I64_MAX, markedUnread: true }, myRole: fb.Role.Owner, handle: 'a_chat', unreadCount: 2 },
      { chatId: 1n, kind: fb.ChatKind.Direct },
    ], true));
    expect(r).toMatchObject({
      type: 'chats', hasMore: true,
      chats: [
        { chatId: 2n, lastActivityMs: 1_700_000_000_500, state: { pinRank: 3n, mutedUntilMs: MUTED_FOREVER, archived: false, markedUnread: true }, myRole: 'owner', handle: 'a_chat', unreadCount: 2, unreadMentions: 0 },
        { chatId: 1n, kind: 'direct', state: { pinRank: 0n, mutedUntilMs: 0, archived: false, markedUnread: false }, myRole: 'member', lastMessage: null },
      ],
    });
  });

  it('MemberList, Invite, InviteList, ChatPreview, JoinPending, JoinRequestList, ChatStateChanged, broadcast replies', () => {
    expect(reply(sf.memberList(5n, 9n, [[3n, fb.Role.Member, 7n]], true))).toEqual({ type: 'memberList', list: { chatId: 9n, members: [{ userId: 3n, role: 'member', sinceSeq: 7n }], hasMore: true } });
    const inv = { code: 'A'.repeat(22), chatId: 9n, createdBy: 1n, expiresMs: 1_800_000_000_000n, maxUses: 5, uses: 2, revoked: true };
    expect(reply(sf.invite(5n, inv))).toEqual({ type: 'invite', invite: { ...inv, createdMs: 1_700_000_000_000, expiresMs: 1_800_000_000_000 } });
    expect(reply(sf.inviteList(5n, 9n, [inv, { code: 'b', chatId: 9n }]))).toMatchObject({ type: 'invites', chatId: 9n, invites: [{ code: inv.code, uses: 2 }, { code: 'b', expiresMs: 0, maxUses: 0, revoked: false }] });
    expect(reply(sf.chatPreview(5n, { chatId: 9n, kind: fb.ChatKind.Channel, title: 'News', handle: 'news_room', memberCount: 12, approveJoins: true }))).toEqual({
      type: 'preview', preview: { chatId: 9n, kind: 'channel', title: 'News', description: '', avatarRef: '', handle: 'news_room', memberCount: 12, approveJoins: true, isMember: false },
    });
    expect(reply(sf.joinPending(5n, 9n))).toEqual({ type: 'joinPending', chatId: 9n });
    expect(reply(sf.joinRequestList(5n, 9n, [[4n, 1_700_000_000_001n]]))).toEqual({ type: 'joinRequests', chatId: 9n, requests: [{ userId: 4n, timeMs: 1_700_000_000_001 }] });
    expect(reply(sf.chatStateChanged(5n, 9n, { archived: true }))).toEqual({ type: 'chatState', chatId: 9n, state: { mutedUntilMs: 0, pinRank: 0n, archived: true, markedUnread: false } });
    expect(reply(sf.broadcastList(5n, { listId: 2n, name: 'Family', recipientIds: [4n, 5n] }))).toEqual({ type: 'broadcastList', list: { listId: 2n, name: 'Family', recipientIds: [4n, 5n] } });
    expect(reply(sf.broadcastLists(5n, [{ listId: 2n, name: 'F', recipientIds: [4n] }]))).toEqual({ type: 'broadcastLists', lists: [{ listId: 2n, name: 'F', recipientIds: [4n] }] });
    expect(reply(sf.broadcastAck(5n, 2n, 'c-1', [[4n, 10n, 99n, 3n, 0], [5n, 0n, 0n, 0n, ErrorCode.UserNotFound]]))).toEqual({
      type: 'broadcastAck',
      ack: { listId: 2n, clientMsgId: 'c-1', timeMs: 1_700_000_000_000, results: [{ userId: 4n, chatId: 10n, messageId: 99n, seq: 3n, errorCode: 0 }, { userId: 5n, chatId: 0n, messageId: 0n, seq: 0n, errorCode: ErrorCode.UserNotFound }] },
    });
  });

  it('pushes with request id 0: ChatStateChanged and MembershipChanged; other bodies without an id are refused', () => {
    expect(decodeFrame(sf.chatStateChanged(0n, 9n, { pinRank: 4n }))).toEqual({ kind: 'chatState', chatId: 9n, state: { mutedUntilMs: 0, pinRank: 4n, archived: false, markedUnread: false } });
    expect(decodeFrame(sf.membershipChanged(9n, true))).toEqual({ kind: 'membership', chatId: 9n, member: true });
    expect(decodeFrame(sf.joinPending(0n, 9n))).toBeInstanceOf(MagpieError);
  });

  it('truncated new frames fail verification instead of throwing', () => {
    const frames = [sf.chatInfo(3n, { chatId: 9n, title: 'x', members: [[1n, fb.Role.Owner]], settings: {} }), sf.inviteList(5n, 9n, [{ code: 'abc', chatId: 9n }]), sf.broadcastAck(5n, 2n, 'c', [[4n, 1n, 1n, 1n, 0]])];
    for (const f of frames) {
      for (let cut = 1; cut < f.length; cut += 3) {
        const r = decodeFrame(f.slice(0, cut));
        const bad = r instanceof MagpieError || (r.kind === 'reply' && r.result instanceof MagpieError);
        const fine = !(r instanceof MagpieError) && r.kind === 'reply' && !(r.result instanceof MagpieError);
        expect(bad || fine).toBe(true);
      }
    }
  });
});

// ------------------------------------------------------------------ the driver

async function live(): Promise<{ server: FakeServer; client: MagpieClient; conn: FakeConnection; events: ClientEvent[] }> {
  const server = new FakeServer();
  const events: ClientEvent[] = [];
  const client = new MagpieClient({ connector: server.connector, credentials: { kind: 'token', token: 'ab'.repeat(32) }, reconnect: { initialMs: 1, maxMs: 4, jitter: 0 }, onEvent: (e) => events.push(e) });
  void client.connect();
  const conn = await server.connection(0);
  const hello = await conn.expect(fb.Body.Hello);
  conn.push(sf.welcome(hello.requestId));
  const a = await conn.expect(fb.Body.Authenticate);
  conn.push(sf.authenticated(a.requestId, 5n, 6n, 'alice'));
  const sync = await conn.expect(fb.Body.Sync);
  conn.push(sf.syncDone(sync.requestId));
  return { server, client, conn, events };
}

describe('conversation calls (fake transport)', () => {
  it('joinChat resolves to the chat or to pending', async () => {
    const { client, conn } = await live();
    const joined = client.joinChat({ inviteCode: 'abc' });
    const j = await conn.expect(fb.Body.JoinChat);
    conn.push(sf.chatInfo(j.requestId, { chatId: 9n, title: 'Team', members: [[5n, fb.Role.Member, 4n]] }));
    expect(await joined).toMatchObject({ type: 'joined', chat: { chatId: 9n, title: 'Team' } });
    const pending = client.joinChat({ handle: 'quiet_club' });
    const p = await conn.expect(fb.Body.JoinChat);
    conn.push(sf.joinPending(p.requestId, 10n));
    expect(await pending).toEqual({ type: 'pending', chatId: 10n });
    const refused = client.joinChat({ inviteCode: 'used' });
    const r = await conn.expect(fb.Body.JoinChat);
    conn.push(sf.error(r.requestId, ErrorCode.InviteUsedUp, 'used up'));
    await expect(refused).rejects.toMatchObject({ code: ErrorCode.InviteUsedUp, codeName: 'invite_used_up' });
    await client.close();
  });

  it('leaveChat names the successor; owner_must_transfer is a typed error', async () => {
    const { client, conn } = await live();
    const left = client.leaveChat(9n);
    const l = await conn.expect(fb.Body.LeaveChat);
    expect((l.frame.body(new fb.LeaveChat()) as fb.LeaveChat).successor()).toBe(0n);
    conn.push(sf.error(l.requestId, ErrorCode.OwnerMustTransfer, 'name a successor'));
    await expect(left).rejects.toMatchObject({ codeName: 'owner_must_transfer' });
    const again = client.leaveChat(9n, 4n);
    const l2 = await conn.expect(fb.Body.LeaveChat);
    expect((l2.frame.body(new fb.LeaveChat()) as fb.LeaveChat).successor()).toBe(4n);
    conn.push(sf.ok(l2.requestId));
    await again;
    await client.close();
  });

  it('setChatState answers the new state; pushes reach the app as events; listChatsBy pages with before', async () => {
    const { client, conn, events } = await live();
    const set = client.setChatState(9n, { pinned: true });
    const s = await conn.expect(fb.Body.SetChatState);
    conn.push(sf.chatStateChanged(s.requestId, 9n, { pinRank: 7n }));
    expect(await set).toEqual({ mutedUntilMs: 0, pinRank: 7n, archived: false, markedUnread: false });
    // Another device archived a chat; another subscribed to a channel.
    conn.push(sf.chatStateChanged(0n, 3n, { archived: true }));
    conn.push(sf.membershipChanged(12n, true));
    expect(events.filter((e) => e.type === 'chatState' || e.type === 'membership')).toEqual([
      { type: 'chatState', chatId: 3n, state: { mutedUntilMs: 0, pinRank: 0n, archived: true, markedUnread: false } },
      { type: 'membership', chatId: 12n, member: true },
    ]);
    const page = client.listChatsBy({ archived: true, before: { lastActivityMs: 1_700_000_000_000, chatId: 4n }, limit: 20 });
    const lc = await conn.expect(fb.Body.ListChats);
    const b = lc.frame.body(new fb.ListChats()) as fb.ListChats;
    expect([b.order(), b.archived(), b.beforeMs(), b.beforeChatId(), b.limit()]).toEqual([fb.ChatOrder.ByActivity, true, 1_700_000_000_000n, 4n, 20]);
    conn.push(sf.chatList(lc.requestId, [{ chatId: 3n, state: { archived: true } }]));
    expect((await page).chats.map((c) => c.chatId)).toEqual([3n]);
    await client.close();
  });

  it('a channel subscription from another device makes the chat part of the next Sync', async () => {
    const { server, client, conn } = await live();
    conn.push(sf.deliver(sf.messageEvent({ chatId: 12n, seq: 1n }, 'hello')));
    conn.push(sf.membershipChanged(12n, false));
    conn.drop();
    const c2 = await server.connection(1);
    const hello = await c2.expect(fb.Body.Hello);
    c2.push(sf.welcome(hello.requestId));
    const a = await c2.expect(fb.Body.Authenticate);
    c2.push(sf.authenticated(a.requestId, 5n, 6n, 'alice'));
    const sync = (await c2.expect(fb.Body.Sync)).frame.body(new fb.Sync()) as fb.Sync;
    expect(sync.cursorsLength()).toBe(0);
    await client.close();
  });

  it('sendBroadcast validates content and returns per-recipient results', async () => {
    const { client, conn } = await live();
    await expect(client.sendBroadcast(2n, '')).rejects.toMatchObject({ kind: 'invalid_input' });
    const sent = client.sendBroadcast(2n, 'hi all', 'c-9');
    const f = await conn.expect(fb.Body.SendBroadcast);
    conn.push(sf.broadcastAck(f.requestId, 2n, 'c-9', [[4n, 10n, 99n, 3n, 0]]));
    expect((await sent).results).toEqual([{ userId: 4n, chatId: 10n, messageId: 99n, seq: 3n, errorCode: 0 }]);
    await client.close();
  });
});
