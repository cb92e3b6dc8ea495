// Against a real engine over ws://: accounts, devices, direct and group chats, live delivery,
// history, chat list, typed errors, the version check.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MagpieError } from '../../src/error.js';
import { ErrorCode } from '../../src/errors.js';
import { connected, login, newClient, register, type TestClient } from '../support/clients.js';
import { Engine } from '../support/engine.js';

let engine: Engine;
let alice: TestClient;
let bob: TestClient;
const opened: TestClient[] = [];

beforeAll(async () => {
  engine = await Engine.start();
  alice = await connected(engine, register('alice', 'laptop'));
  bob = await connected(engine, register('bob', 'phone'));
  opened.push(alice, bob);
});

afterAll(async () => {
  for (const c of opened) await c.client.close();
  await engine?.dispose();
});

describe('chats against a real engine', () => {
  it('signs up, greets with Welcome, and answers pings', async () => {
    expect(alice.client.welcome).toMatchObject({ protocolVersion: 1, maxContentBytes: 65_536, maxFrameBytes: 81_920 });
    expect(alice.client.welcome!.serverName).toMatch(/^magpie\//);
    expect(alice.client.token).toMatch(/^[0-9a-f]{64}$/);
    expect(alice.client.account!.username).toBe('alice');
    const pong = await alice.client.ping();
    expect(pong.serverTimeMs).toBeGreaterThan(0);
  });

  it('looks users up by name and by id', async () => {
    const info = await alice.client.lookupUser('bob');
    expect(info).toEqual({ userId: bob.client.account!.userId, username: 'bob' });
    const users = await alice.client.getUsers([bob.client.account!.userId, 999_999n, alice.client.account!.userId]);
    expect(users.map((u) => u.username)).toEqual(['bob', 'alice']);
    await expect(alice.client.lookupUser('nobody')).rejects.toMatchObject({ kind: 'server', code: ErrorCode.UserNotFound });
  });

  it('delivers a direct chat both ways, live, in order, exactly once', async () => {
    const chat = await alice.client.createDirect('bob');
    expect(chat.kind).toBe('direct');
    expect((await bob.client.createDirect(alice.client.account!.userId)).chatId).toBe(chat.chatId); // the same chat
    const lines = ['a1', 'b1', 'a2', 'b2', 'a3'];
    for (const line of lines) {
      const sender = line.startsWith('a') ? alice : bob;
      const ack = await sender.client.send(chat.chatId, line);
      expect(ack.chatId).toBe(chat.chatId);
    }
    for (const c of [alice, bob]) {
      await c.log.until(() => c.log.messages(chat.chatId).length >= lines.length);
    }
    await Promise.all([alice.client.ping(), bob.client.ping()]); // anything late would be in by now
    for (const c of [alice, bob]) {
      const evs = c.log.chatEvents(chat.chatId);
      expect(evs.map((e) => e.seq)).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);
      expect(evs[0]!.kind).toMatchObject({ type: 'chatCreated', chatKind: 'direct' });
      expect(c.log.messages(chat.chatId)).toEqual(lines);
      expect(c.client.cursor(chat.chatId)).toBe(6n);
    }
  });

  it('runs a group: create, send, add and remove members, leave', async () => {
    const carol = await connected(engine, register('carol'));
    opened.push(carol);
    const aliceId = alice.client.account!.userId;
    const bobId = bob.client.account!.userId;
    const carolId = carol.client.account!.userId;
    const group = await alice.client.createGroup('birds', [bobId]);
    expect(group).toMatchObject({ kind: 'group', title: 'birds', lastSeq: 1n });
    // The creator owns it; owner and admins come first (PROTOCOL.md §6.9).
    expect(group.members).toEqual([{ userId: aliceId, role: 'owner', sinceSeq: 1n }, { userId: bobId, role: 'member', sinceSeq: 1n }]);
    expect(group).toMatchObject({ myRole: 'owner', memberCount: 2, membersComplete: true });
    await bob.client.send(group.chatId, 'hi group');
    await alice.client.send(group.chatId, 'hi bob');
    await expect(bob.client.addMembers(group.chatId, [carolId])).rejects.toMatchObject({ code: ErrorCode.Forbidden });
    await alice.client.addMembers(group.chatId, [carolId]);
    // Carol, synced and connected, gets the whole log from seq 1.
    await carol.log.until(() => carol.log.chatEvents(group.chatId).length >= 4);
    expect(carol.log.chatEvents(group.chatId).map((e) => e.kind.type)).toEqual(['chatCreated', 'message', 'message', 'membersAdded']);
    await carol.client.leaveChat(group.chatId);
    await alice.client.removeMember(group.chatId, bobId);
    await bob.log.until(() => bob.log.chatEvents(group.chatId).some((e) => e.kind.type === 'memberRemoved' && e.kind.userId === bobId));
    await expect(bob.client.getChat(group.chatId)).rejects.toMatchObject({ code: ErrorCode.ChatNotFound });
    const info = await alice.client.getChat(group.chatId);
    expect(info.members.map((m) => m.userId)).toEqual([aliceId]);
    await alice.log.until(() => alice.log.chatEvents(group.chatId).length >= 6);
    expect(alice.log.chatEvents(group.chatId).map((e) => [e.seq, e.kind.type])).toEqual([
      [1n, 'chatCreated'], [2n, 'message'], [3n, 'message'], [4n, 'membersAdded'], [5n, 'memberRemoved'], [6n, 'memberRemoved'],
    ]);
    const left = alice.log.chatEvents(group.chatId)[4]!.kind;
    expect(left).toEqual({ type: 'memberRemoved', userId: carolId, left: true });
  });

  it('pages history backward and forward, and lists chats', async () => {
    const chat = await alice.client.createGroup('history', []);
    for (let i = 1; i <= 7; i++) await alice.client.send(chat.chatId, `h${i}`);
    const newest = await alice.client.history(chat.chatId, 0n, 'backward', 3);
    expect(newest.events.map((e) => e.seq)).toEqual([6n, 7n, 8n]);
    expect(newest.hasMore).toBe(true);
    const older = await alice.client.history(chat.chatId, newest.events[0]!.seq, 'backward', 3);
    expect(older.events.map((e) => e.seq)).toEqual([3n, 4n, 5n]);
    const forward = await alice.client.history(chat.chatId, 5n, 'forward', 500);
    expect([forward.events.map((e) => e.seq), forward.hasMore]).toEqual([[6n, 7n, 8n], false]);
    const chats = await alice.client.listChats();
    const mine = chats.find((c) => c.chatId === chat.chatId)!;
    expect(mine).toMatchObject({ kind: 'group', title: 'history', lastSeq: 8n, memberCount: 1 });
    expect(mine.lastMessage?.kind).toMatchObject({ type: 'message', content: 'h7' });
    expect(chats.map((c) => c.chatId)).toEqual([...chats.map((c) => c.chatId)].sort((a, b) => (a < b ? -1 : 1)));
    const page = await alice.client.listChatsPage(0n, 1);
    expect([page.chats.length, page.hasMore]).toEqual([1, true]);
  });

  it('lists devices and types bad credentials', async () => {
    const second = await connected(engine, login('alice', 'tablet'));
    opened.push(second);
    const devices = await alice.client.listDevices();
    expect(devices.map((d) => d.name)).toEqual(['laptop', 'tablet']);
    expect(devices.filter((d) => d.current).map((d) => d.deviceId)).toEqual([alice.client.account!.deviceId]);

    const wrong = newClient(engine, { kind: 'login', username: 'alice', password: 'not-the-password' });
    const err = await wrong.client.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MagpieError);
    expect(err).toMatchObject({ kind: 'server', code: ErrorCode.InvalidCredentials, codeName: 'invalid_credentials', retryable: false });
    expect(wrong.client.state).toMatchObject({ phase: 'closed', reason: { name: 'invalid_credentials' } });

    const badToken = newClient(engine, { kind: 'token', token: '00'.repeat(32) });
    await expect(badToken.client.connect()).rejects.toMatchObject({ code: ErrorCode.InvalidCredentials });

    const taken = newClient(engine, register('bob'));
    await expect(taken.client.connect()).rejects.toMatchObject({ code: ErrorCode.UsernameTaken, codeName: 'username_taken' });
  });

  it('stops on the version check: client too old, server too old', async () => {
    const old = newClient(engine, register('never1'), { protocolVersion: 0, minProtocolVersion: 0 });
    await expect(old.client.connect()).rejects.toMatchObject({ kind: 'rejected', code: ErrorCode.ClientTooOld });
    expect(old.client.state).toMatchObject({ phase: 'closed', reason: { name: 'client_too_old' } });
    const future = newClient(engine, register('never2'), { protocolVersion: 3, minProtocolVersion: 2 });
    await expect(future.client.connect()).rejects.toMatchObject({ kind: 'rejected', code: ErrorCode.ServerTooOld });
  });
});
