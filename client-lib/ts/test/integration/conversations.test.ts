// Against a real engine: channels and handles, roles, invites, ask-to-join, leaving as owner,
// info updates, per-user chat state on two devices, the chat list by activity, broadcast lists
// (PROTOCOL.md §6.9–6.11).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import type { ChatEvent, EventKind, MemberList } from '../../src/types.js';
import { DEFAULT_SETTINGS } from '../../src/types.js';
import { connected, login, register, type TestClient } from '../support/clients.js';
import { Engine } from '../support/engine.js';

let engine: Engine;
let alice: TestClient;
let alice2: TestClient;
let bob: TestClient;
let bob2: TestClient;
let carol: TestClient;
let dave: TestClient;
const opened: TestClient[] = [];
const id = (c: TestClient) => c.client.account!.userId;

beforeAll(async () => {
  engine = await Engine.start();
  alice = await connected(engine, register('alice', 'laptop'));
  bob = await connected(engine, register('bob', 'phone'));
  carol = await connected(engine, register('carol'));
  dave = await connected(engine, register('dave'));
  alice2 = await connected(engine, login('alice', 'tablet'));
  bob2 = await connected(engine, login('bob', 'tablet'));
  opened.push(alice, alice2, bob, bob2, carol, dave);
});

afterAll(async () => {
  for (const c of opened) await c.client.close();
  await engine?.dispose();
});

async function sees<T extends EventKind['type']>(c: TestClient, chatId: bigint, type: T, pred: (k: Extract<EventKind, { type: T }>) => boolean = () => true): Promise<ChatEvent> {
  const find = () => c.log.chatEvents(chatId).find((e) => e.kind.type === type && pred(e.kind as Extract<EventKind, { type: T }>));
  await c.log.until(() => find() !== undefined);
  return find()!;
}

describe('conversations against a real engine', () => {
  it('a channel with a handle: found, previewed and joined; subscribers read, admins post', async () => {
    const ch = await alice.client.createChat({ kind: 'channel', title: 'Daily News', description: 'every day', handle: 'daily_news_ts' });
    expect(ch).toMatchObject({ kind: 'channel', myRole: 'owner', handle: 'daily_news_ts', description: 'every day', memberCount: 1 });
    expect(ch.settings.post).toBe('admins');
    await expect(bob.client.createChat({ kind: 'group', title: 'dup', handle: 'daily_news_ts' })).rejects.toMatchObject({ code: ErrorCode.HandleTaken });

    const preview = await bob.client.previewChat({ handle: 'daily_news_ts' });
    expect(preview).toMatchObject({ chatId: ch.chatId, kind: 'channel', title: 'Daily News', memberCount: 1, approveJoins: false, isMember: false });
    const joined = await bob.client.joinChat({ handle: 'daily_news_ts' });
    expect(joined.type).toBe('joined');
    if (joined.type !== 'joined') return;
    expect(joined.chat).toMatchObject({ chatId: ch.chatId, myRole: 'member', memberCount: 2 });
    // A subscriber sees only the owner and admins.
    expect(joined.chat.members.map((m) => m.userId)).toEqual([id(alice)]);
    // Bob's other device is told.
    await bob2.log.until(() => bob2.log.all.some((e) => e.type === 'membership' && e.chatId === ch.chatId && e.member));
    expect((await bob.client.previewChat({ handle: 'daily_news_ts' })).isMember).toBe(true);

    await expect(bob.client.send(ch.chatId, 'may I?')).rejects.toMatchObject({ code: ErrorCode.Forbidden });
    // A subscriber never pages the subscribers: the engine answers with the owner and admins only
    // (PROTOCOL.md §6.9 also allows forbidden here).
    const seen: MemberList | Error = await bob.client.listMembers(ch.chatId).catch((e: Error) => e);
    if (seen instanceof Error) expect(seen).toMatchObject({ code: ErrorCode.Forbidden });
    else expect(seen.members.every((m) => m.role !== 'member')).toBe(true);
    await alice.client.send(ch.chatId, 'first edition');
    await bob.log.until(() => bob.log.messages(ch.chatId).includes('first edition'));
    const members = await alice.client.listMembers(ch.chatId);
    expect(members.members.map((m) => [m.userId, m.role])).toEqual([[id(alice), 'owner'], [id(bob), 'member']].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)));
    expect((await alice.client.getChat(ch.chatId)).memberCount).toBe(2);

    // Promoting a subscriber is a log event; then they post.
    await alice.client.setRole(ch.chatId, id(bob), 'admin');
    await sees(bob, ch.chatId, 'roleChanged', (k) => k.userId === id(bob) && k.role === 'admin');
    await bob.client.send(ch.chatId, 'an admin now');
    // Leaving as a subscriber (bob2 sees it by push, not in the log).
    await alice.client.setRole(ch.chatId, id(bob), 'member');
    await sees(bob, ch.chatId, 'roleChanged', (k) => k.role === 'member');
    await bob.client.leaveChat(ch.chatId);
    await bob2.log.until(() => bob2.log.all.some((e) => e.type === 'membership' && e.chatId === ch.chatId && !e.member));
    expect((await alice.client.getChat(ch.chatId)).memberCount).toBe(1);
  });

  it('roles: admins promote, only the owner demotes, an admin steps down, Owner via SetRole is refused', async () => {
    const g = await alice.client.createChat({ title: 'Roles', memberIds: [id(bob), id(carol)] });
    expect(g.members.find((m) => m.userId === id(alice))!.role).toBe('owner');
    await alice.client.setRole(g.chatId, id(bob), 'admin');
    await bob.client.setRole(g.chatId, id(carol), 'admin');
    await expect(carol.client.setRole(g.chatId, id(bob), 'member')).rejects.toMatchObject({ code: ErrorCode.Forbidden });
    await carol.client.setRole(g.chatId, id(carol), 'member');
    await alice.client.setRole(g.chatId, id(bob), 'member');
    await expect(bob.client.addMembers(g.chatId, [id(dave)])).rejects.toMatchObject({ code: ErrorCode.Forbidden });
    const ev = await sees(carol, g.chatId, 'roleChanged', (k) => k.userId === id(carol) && k.role === 'member');
    expect(ev.senderId).toBe(id(carol));
    // Ownership: to bob; alice stays an admin.
    await alice.client.transferOwnership(g.chatId, id(bob));
    const oc = await sees(carol, g.chatId, 'ownerChanged');
    expect(oc.kind).toEqual({ type: 'ownerChanged', previousOwner: id(alice), newOwner: id(bob) });
    const info = await alice.client.getChat(g.chatId);
    expect(info.myRole).toBe('admin');
    expect(info.members.find((m) => m.userId === id(bob))!.role).toBe('owner');
  });

  it('the owner leaves: refused with no admin, handed to the successor when named', async () => {
    const g = await alice.client.createChat({ title: 'Leaving', memberIds: [id(bob), id(carol)] });
    await expect(alice.client.leaveChat(g.chatId)).rejects.toMatchObject({ code: ErrorCode.OwnerMustTransfer, codeName: 'owner_must_transfer' });
    await alice.client.leaveChat(g.chatId, id(carol));
    await sees(bob, g.chatId, 'ownerChanged', (k) => k.newOwner === id(carol));
    await sees(bob, g.chatId, 'memberRemoved', (k) => k.userId === id(alice) && k.left);
    expect((await carol.client.getChat(g.chatId)).myRole).toBe('owner');
  });

  it('invite links: one use admits exactly one, revoked links refuse, uses are listed', async () => {
    const g = await alice.client.createChat({ title: 'Invited', memberIds: [id(bob)] });
    const inv = await alice.client.createInvite(g.chatId, { maxUses: 1 });
    expect(inv.code).toHaveLength(22);
    expect(inv).toMatchObject({ chatId: g.chatId, maxUses: 1, uses: 0, revoked: false, expiresMs: 0 });
    // Members may not make links by default.
    await expect(bob.client.createInvite(g.chatId)).rejects.toMatchObject({ code: ErrorCode.Forbidden });
    const p = await carol.client.previewChat({ inviteCode: inv.code });
    expect(p).toMatchObject({ title: 'Invited', memberCount: 2, isMember: false });
    const r = await carol.client.joinChat({ inviteCode: inv.code });
    expect(r).toMatchObject({ type: 'joined', chat: { chatId: g.chatId } });
    const added = await sees(bob, g.chatId, 'membersAdded', (k) => k.userIds.includes(id(carol)));
    expect((added.kind as { via: unknown }).via).toBe('inviteLink');
    await expect(dave.client.joinChat({ inviteCode: inv.code })).rejects.toMatchObject({ code: ErrorCode.InviteUsedUp });
    const inv2 = await alice.client.createInvite(g.chatId, { expiresMs: Date.now() + 3_600_000 });
    await alice.client.revokeInvite(g.chatId, inv2.code);
    await expect(dave.client.joinChat({ inviteCode: inv2.code })).rejects.toMatchObject({ code: ErrorCode.InviteRevoked });
    await expect(dave.client.previewChat({ inviteCode: 'x'.repeat(22) })).rejects.toMatchObject({ code: ErrorCode.InviteNotFound });
    const list = await alice.client.listInvites(g.chatId);
    expect(list.find((i) => i.code === inv.code)).toMatchObject({ uses: 1 });
    expect(list.find((i) => i.code === inv2.code)).toMatchObject({ revoked: true });
  });

  it('ask to join: pending, listed for admins, approved into the chat', async () => {
    const g = await alice.client.createChat({ title: 'Quiet Club', handle: 'quiet_club_ts', settings: { ...DEFAULT_SETTINGS, approveJoins: true } });
    expect((await dave.client.previewChat({ handle: 'quiet_club_ts' })).approveJoins).toBe(true);
    expect(await dave.client.joinChat({ handle: 'quiet_club_ts' })).toEqual({ type: 'pending', chatId: g.chatId });
    expect(await dave.client.joinChat({ handle: 'quiet_club_ts' })).toEqual({ type: 'pending', chatId: g.chatId });
    expect((await alice.client.getChat(g.chatId)).pendingRequests).toBe(1);
    const reqs = await alice.client.listJoinRequests(g.chatId);
    expect(reqs.map((r) => r.userId)).toEqual([id(dave)]);
    await alice.client.resolveJoinRequest(g.chatId, id(dave), true);
    const added = await sees(dave, g.chatId, 'membersAdded', (k) => k.userIds.includes(id(dave)));
    expect((added.kind as { via: unknown }).via).toBe('approved');
    expect(await alice.client.listJoinRequests(g.chatId)).toEqual([]);
  });

  it('UpdateChat appends the whole new info; who may change it follows the settings', async () => {
    const g = await alice.client.createChat({ title: 'Info', memberIds: [id(bob)] });
    await expect(bob.client.updateChat(g.chatId, { title: 'Mine now' })).rejects.toMatchObject({ code: ErrorCode.Forbidden });
    await alice.client.updateChat(g.chatId, { title: 'Info 2', description: 'about', settings: { ...DEFAULT_SETTINGS, changeInfo: 'members' } });
    const up = await sees(bob, g.chatId, 'chatUpdated');
    expect(up.kind).toMatchObject({ type: 'chatUpdated', title: 'Info 2', description: 'about', settings: { changeInfo: 'members' } });
    await bob.client.updateChat(g.chatId, { title: 'Bob was here' });
    await sees(alice, g.chatId, 'chatUpdated', (k) => k.title === 'Bob was here');
    // The handle and settings stay the admins'.
    await expect(bob.client.updateChat(g.chatId, { handle: 'bobs_group' })).rejects.toMatchObject({ code: ErrorCode.Forbidden });
    const before = (await alice.client.getChat(g.chatId)).lastSeq;
    await alice.client.updateChat(g.chatId, { title: 'Bob was here' });
    expect((await alice.client.getChat(g.chatId)).lastSeq).toBe(before);
  });

  it('chat state: the same on both devices, and the chat list by activity follows it', async () => {
    const a = await alice.client.createChat({ title: 'List A', memberIds: [id(bob)] });
    const b = await alice.client.createChat({ title: 'List B', memberIds: [id(bob)] });
    await alice.client.send(a.chatId, 'a is newer');
    const pinned = await alice.client.setChatState(b.chatId, { pinned: true });
    expect(pinned.pinRank).toBeGreaterThan(0n);
    await alice2.log.until(() => alice2.log.all.some((e) => e.type === 'chatState' && e.chatId === b.chatId && e.state.pinRank > 0n));
    const first = await alice.client.listChatsBy({ limit: 500 });
    expect(first.chats[0]!.chatId).toBe(b.chatId);
    expect(first.chats[0]!.state.pinRank).toBe(pinned.pinRank);
    const rest = first.chats.filter((c) => c.state.pinRank === 0n);
    for (let i = 1; i < rest.length; i++) expect(rest[i - 1]!.lastActivityMs).toBeGreaterThanOrEqual(rest[i]!.lastActivityMs);
    expect(rest[0]!.chatId).toBe(a.chatId);

    await alice2.client.setChatState(a.chatId, { archived: true, mutedUntilMs: Date.now() + 3_600_000 });
    await alice.log.until(() => alice.log.all.some((e) => e.type === 'chatState' && e.chatId === a.chatId && e.state.archived));
    const main = await alice.client.listChatsBy({ limit: 500 });
    expect(main.chats.some((c) => c.chatId === a.chatId)).toBe(false);
    const archived = await alice.client.listChatsBy({ archived: true });
    expect(archived.chats.map((c) => c.chatId)).toContain(a.chatId);
    expect(archived.chats.find((c) => c.chatId === a.chatId)!.state.mutedUntilMs).toBeGreaterThan(Date.now());
    // Paging with the last row continues without repeats.
    const p1 = await alice.client.listChatsBy({ limit: 1 });
    const rows = [...p1.chats];
    let page = p1;
    while (page.hasMore) {
      const last = rows[rows.length - 1]!;
      page = await alice.client.listChatsBy({ limit: 2, before: { lastActivityMs: last.lastActivityMs, chatId: last.chatId } });
      rows.push(...page.chats);
    }
    expect(rows.map((r) => r.chatId)).toEqual(main.chats.map((c) => c.chatId));
    await alice.client.setChatState(b.chatId, { pinned: false });
  });

  it('broadcast lists: saved, sent into each direct chat, retried without duplicates', async () => {
    const list = await alice.client.saveBroadcastList({ name: 'Friends', recipientIds: [id(bob), id(carol)] });
    expect(list).toMatchObject({ name: 'Friends', recipientIds: [id(bob), id(carol)] });
    expect((await alice.client.listBroadcastLists()).map((l) => l.listId)).toContain(list.listId);
    const ack = await alice.client.sendBroadcast(list.listId, 'hello friends', 'bc-1');
    expect(ack.results.map((r) => [r.userId, r.errorCode])).toEqual([[id(bob), 0], [id(carol), 0]]);
    for (const [who, r] of [[bob, ack.results[0]!], [carol, ack.results[1]!]] as const) {
      await who.log.until(() => who.log.messages(r.chatId).includes('hello friends'));
      expect((await who.client.getChat(r.chatId)).kind).toBe('direct');
    }
    const again = await alice.client.sendBroadcast(list.listId, 'hello friends', 'bc-1');
    expect(again.results).toEqual(ack.results);
    const renamed = await alice.client.saveBroadcastList({ listId: list.listId, name: 'Best friends', recipientIds: [id(bob)] });
    expect(renamed).toMatchObject({ listId: list.listId, recipientIds: [id(bob)] });
    await alice.client.deleteBroadcastList(list.listId);
    expect((await alice.client.listBroadcastLists()).map((l) => l.listId)).not.toContain(list.listId);
  });
});
