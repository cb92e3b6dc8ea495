// The driver against a fake transport: the test plays the server frame by frame.
import { describe, expect, it } from 'vitest';
import { MagpieClient, type ClientEvent, type ClientOptions } from '../../src/client.js';
import { MagpieError } from '../../src/error.js';
import { ErrorCode } from '../../src/errors.js';
import * as fb from '../../src/generated/magpie/wire/fb.js';
import { MemoryOutboxStore } from '../../src/outbox-store.js';
import type { ChatEvent } from '../../src/types.js';
import { FakeServer, type FakeConnection } from '../support/fake-transport.js';
import * as sf from '../support/server-frames.js';

const USER = 5n;
const DEVICE = 6n;
const TOKEN = 'ab'.repeat(32);

function setup(extra: Partial<ClientOptions> = {}) {
  const server = new FakeServer();
  const events: ClientEvent[] = [];
  const client = new MagpieClient({
    connector: server.connector,
    credentials: { kind: 'register', username: 'alice', password: 'password1', deviceName: 'laptop' },
    reconnect: { initialMs: 1, maxMs: 4, jitter: 0 },
    onEvent: (e) => events.push(e),
    ...extra,
  });
  const chatEvents = () => events.filter((e): e is Extract<ClientEvent, { type: 'event' }> => e.type === 'event').map((e) => e.event);
  return { server, client, events, chatEvents };
}

/** Plays the server's side of Hello → Welcome, auth → Authenticated; returns the Sync frame. */
async function signIn(conn: FakeConnection, auth: fb.Body = fb.Body.Register) {
  const hello = await conn.expect(fb.Body.Hello);
  const h = hello.frame.body(new fb.Hello()) as fb.Hello;
  expect([hello.requestId, h.protocolVersion(), h.minProtocolVersion()]).toEqual([1n, 1, 1]);
  conn.push(sf.welcome(hello.requestId));
  const a = await conn.expect(auth);
  conn.push(sf.authenticated(a.requestId, USER, DEVICE, 'alice', auth === fb.Body.Authenticate ? '' : TOKEN));
  return conn.expect(fb.Body.Sync);
}

function cursorsOf(sync: Awaited<ReturnType<typeof signIn>>): Array<[bigint, bigint]> {
  const s = sync.frame.body(new fb.Sync()) as fb.Sync;
  return Array.from({ length: s.cursorsLength() }, (_, i) => [s.cursors(i)!.chatId(), s.cursors(i)!.lastSeq()]);
}

const msg = (chatId: bigint, seq: bigint, content = `m${seq}`) => sf.messageEvent({ chatId, seq }, content);
const until = async (cond: () => boolean) => {
  while (!cond()) await new Promise((r) => setTimeout(r, 1));
};
const contents = (evs: ChatEvent[]) => evs.map((e) => (e.kind.type === 'message' ? e.kind.content : e.kind.type));

describe('client driver (fake transport)', () => {
  it('says Hello, registers, syncs from its cursors and goes live', async () => {
    const { server, client, events } = setup({ cursors: [[9n, 4n]] });
    const connected = client.connect();
    const conn = await server.connection(0);
    const sync = await signIn(conn);
    expect(await connected).toEqual({ userId: USER, deviceId: DEVICE, username: 'alice' });
    expect(client.token).toBe(TOKEN);
    expect(sync.requestId).toBe(3n);
    expect(cursorsOf(sync)).toEqual([[9n, 4n]]);
    expect(client.state.phase).toBe('syncing');
    conn.push(sf.syncDone(sync.requestId, 1, 0n));
    expect(client.state.phase).toBe('live');
    const phases = events.filter((e) => e.type === 'state').map((e) => (e as { state: { phase: string } }).state.phase);
    expect(phases).toEqual(['connecting', 'authenticating', 'syncing', 'live']);
    await client.close();
    expect(client.state).toMatchObject({ phase: 'closed', reason: { name: 'closed' } });
  });

  it('matches replies by request id, whatever their order', async () => {
    const { server, client } = setup();
    client.connect();
    const conn = await server.connection(0);
    await signIn(conn);
    const a = client.getChat(1n);
    const b = client.lookupUser('bob');
    const fa = await conn.expect(fb.Body.GetChat);
    const fbob = await conn.expect(fb.Body.LookupUser);
    conn.push(sf.error(fbob.requestId, ErrorCode.UserNotFound, 'no bob'));
    conn.push(sf.error(fa.requestId, ErrorCode.ChatNotFound, 'no chat'));
    await expect(b).rejects.toMatchObject({ kind: 'server', code: ErrorCode.UserNotFound, codeName: 'user_not_found', retryable: false });
    await expect(a).rejects.toMatchObject({ code: ErrorCode.ChatNotFound });
    await client.close();
  });

  it('releases events in order exactly once, fetching a gap with History first', async () => {
    const { server, client, chatEvents } = setup({ cursors: [[1n, 1n]] });
    client.connect();
    const conn = await server.connection(0);
    const sync = await signIn(conn);
    conn.push(sf.deliver(msg(1n, 1n))); // duplicate of what the app holds
    conn.push(sf.deliver(msg(1n, 2n)));
    conn.push(sf.deliver(msg(1n, 5n))); // a gap: 3 and 4 are missing
    conn.push(sf.deliver(msg(1n, 6n)));
    conn.push(sf.syncDone(sync.requestId, 1, 3n));
    const h = await conn.expect(fb.Body.History);
    const hist = h.frame.body(new fb.History()) as fb.History;
    expect([hist.chatId(), hist.fromSeq(), hist.direction(), hist.limit()]).toEqual([1n, 2n, fb.Direction.Forward, 2]);
    expect(contents(chatEvents())).toEqual(['m2']);
    // SyncDone is held back until the gap is filled.
    expect(client.state.phase).toBe('syncing');
    conn.push(sf.historyPage(h.requestId, 1n, [msg(1n, 2n), msg(1n, 3n), msg(1n, 4n), msg(1n, 5n)]));
    expect(contents(chatEvents())).toEqual(['m2', 'm3', 'm4', 'm5', 'm6']);
    expect(client.state.phase).toBe('live');
    conn.push(sf.deliver(msg(1n, 6n)));
    conn.push(sf.deliver(msg(1n, 7n)));
    expect(contents(chatEvents())).toEqual(['m2', 'm3', 'm4', 'm5', 'm6', 'm7']);
    expect(client.cursor(1n)).toBe(7n);
    await client.close();
  });

  it('resends an unacked message with the same id after a reconnect, and resumes from its cursors', async () => {
    const store = new MemoryOutboxStore();
    const { server, client, events, chatEvents } = setup({ outboxStore: store });
    client.connect();
    const c0 = await server.connection(0);
    const s0 = await signIn(c0);
    c0.push(sf.syncDone(s0.requestId));
    c0.push(sf.deliver(msg(1n, 1n)));
    const acked = client.send(1n, 'hello');
    const first = await c0.expect(fb.Body.SendMessage);
    const id = (first.frame.body(new fb.SendMessage()) as fb.SendMessage).clientMsgId();
    expect(store.size).toBe(1);
    c0.drop(); // before the ack
    const c1 = await server.connection(1);
    const s1 = await signIn(c1, fb.Body.Authenticate); // the token from now on
    expect(cursorsOf(s1)).toEqual([[1n, 1n]]);
    const again = await c1.expect(fb.Body.SendMessage);
    const resent = again.frame.body(new fb.SendMessage()) as fb.SendMessage;
    expect([resent.chatId(), resent.clientMsgId(), resent.content()]).toEqual([1n, id, 'hello']);
    c1.push(sf.deliver(msg(1n, 1n))); // replayed: dropped
    c1.push(sf.deliver(sf.messageEvent({ chatId: 1n, seq: 2n, senderDeviceId: DEVICE }, 'hello', id!)));
    c1.push(sf.sendAck(again.requestId, 1n, id!, 2n));
    c1.push(sf.syncDone(s1.requestId, 1, 2n));
    expect((await acked).seq).toBe(2n);
    expect(store.size).toBe(0);
    expect(client.pendingSends).toBe(0);
    expect(contents(chatEvents())).toEqual(['m1', 'hello']);
    expect(events.some((e) => e.type === 'disconnected')).toBe(true);
    expect(events.filter((e) => e.type === 'connected').map((e) => (e as { resumed: boolean }).resumed)).toEqual([false, true]);
    // Nothing else was sent: the message went out twice on the wire with one id, never a third time.
    await new Promise((r) => setTimeout(r, 5));
    expect(c1.sent.filter((f) => f.type === fb.Body.SendMessage).length).toBe(1);
    await client.close();
  });

  it('retries a rate-limited send after retry_after with the same id', async () => {
    const { server, client } = setup();
    client.connect();
    const conn = await server.connection(0);
    await signIn(conn);
    const acked = client.sendWithId(1n, 'fixed-id', 'x');
    const f1 = await conn.expect(fb.Body.SendMessage);
    conn.push(sf.error(f1.requestId, ErrorCode.RateLimited, 'slow down', 2));
    const f2 = await conn.expect(fb.Body.SendMessage);
    expect((f2.frame.body(new fb.SendMessage()) as fb.SendMessage).clientMsgId()).toBe('fixed-id');
    conn.push(sf.sendAck(f2.requestId, 1n, 'fixed-id', 1n));
    expect((await acked).clientMsgId).toBe('fixed-id');
    await client.close();
  });

  it('keeps a message queued offline in the store across a reload and sends it once', async () => {
    const store = new MemoryOutboxStore();
    const first = setup({ outboxStore: store, credentials: { kind: 'token', token: TOKEN } });
    first.server.down = true;
    first.client.connect().catch(() => {});
    const sent = first.client.send(2n, 'written offline');
    sent.catch(() => {});
    await until(() => store.size === 1);
    await first.client.close(); // the page reloads
    await expect(sent).rejects.toMatchObject({ kind: 'closed' });
    expect(store.size).toBe(1);

    const second = setup({ outboxStore: store, credentials: { kind: 'token', token: TOKEN } });
    second.client.connect();
    const conn = await second.server.connection(0);
    const sync = await signIn(conn, fb.Body.Authenticate);
    const f = await conn.expect(fb.Body.SendMessage);
    const m = f.frame.body(new fb.SendMessage()) as fb.SendMessage;
    expect([m.chatId(), m.content()]).toEqual([2n, 'written offline']);
    conn.push(sf.sendAck(f.requestId, 2n, m.clientMsgId()!, 1n));
    conn.push(sf.syncDone(sync.requestId));
    await until(() => store.size === 0);
    expect(conn.sent.filter((x) => x.type === fb.Body.SendMessage).length).toBe(1);
    await second.client.close();
  });

  it('reconnects after a retryable Close (shutting_down)', async () => {
    const { server, client } = setup();
    client.connect();
    const c0 = await server.connection(0);
    await signIn(c0);
    c0.push(sf.close(ErrorCode.ShuttingDown, 'bye for now'));
    const c1 = await server.connection(1);
    await signIn(c1, fb.Body.Authenticate);
    expect(client.state.phase).toBe('syncing');
    await client.close();
  });

  it('stops for good with reason revoked when the device is revoked', async () => {
    const { server, client, events } = setup();
    client.connect();
    const conn = await server.connection(0);
    const sync = await signIn(conn);
    conn.push(sf.syncDone(sync.requestId));
    const pending = client.listDevices();
    const sending = client.send(1n, 'never acked');
    await conn.expect(fb.Body.ListDevices);
    conn.push(sf.close(ErrorCode.Revoked, 'device revoked'));
    await expect(pending).rejects.toMatchObject({ kind: 'rejected', code: ErrorCode.Revoked });
    await expect(sending).rejects.toMatchObject({ kind: 'closed' });
    await until(() => client.state.phase === 'closed');
    expect(client.state).toMatchObject({ phase: 'closed', reason: { code: 9, name: 'revoked' } });
    expect(events.at(-1)).toMatchObject({ type: 'closed', reason: { name: 'revoked' } });
    expect(client.token).toBe('');
    await new Promise((r) => setTimeout(r, 10));
    expect(server.connections.length).toBe(1);
    await expect(client.getChat(1n)).rejects.toMatchObject({ kind: 'closed' });
  });

  it('rejects connect with the typed error for a refused token, and does not retry', async () => {
    const { server, client } = setup({ credentials: { kind: 'token', token: 'bad' } });
    const connected = client.connect();
    const conn = await server.connection(0);
    const hello = await conn.expect(fb.Body.Hello);
    conn.push(sf.welcome(hello.requestId));
    const auth = await conn.expect(fb.Body.Authenticate);
    conn.push(sf.error(auth.requestId, ErrorCode.InvalidCredentials, 'unknown token'));
    const err: MagpieError = await connected.then(() => { throw new Error('should fail'); }, (e) => e);
    expect([err.kind, err.code, err.codeName, err.retryable]).toEqual(['server', 101, 'invalid_credentials', false]);
    expect(client.state).toMatchObject({ phase: 'closed', reason: { name: 'invalid_credentials' } });
    expect(server.connections.length).toBe(1);
  });

  it('stops with client_too_old when the server refuses the version', async () => {
    const { server, client } = setup({ protocolVersion: 0, minProtocolVersion: 0 });
    const connected = client.connect();
    const conn = await server.connection(0);
    await conn.expect(fb.Body.Hello);
    conn.push(sf.close(ErrorCode.ClientTooOld, 'upgrade the client'));
    await expect(connected).rejects.toMatchObject({ kind: 'rejected', code: ErrorCode.ClientTooOld });
    expect(client.state).toMatchObject({ phase: 'closed', reason: { name: 'client_too_old' } });
  });

  it('keeps retrying with a token while the server is down, then gets in', async () => {
    const { server, client, events } = setup({ credentials: { kind: 'token', token: TOKEN } });
    server.down = true;
    const connected = client.connect();
    await until(() => events.filter((e) => e.type === 'state' && e.state.phase === 'waiting').length >= 3);
    const waits = events.flatMap((e) => (e.type === 'state' && e.state.phase === 'waiting' ? [e.state.delayMs] : []));
    expect(waits.slice(0, 3)).toEqual([1, 2, 4]);
    server.down = false;
    const conn = await server.connection(0);
    await signIn(conn, fb.Body.Authenticate);
    expect((await connected).userId).toBe(USER);
    await client.close();
  });

  it('sends keep-alive pings and reconnects when the server goes silent', async () => {
    const { server, client } = setup({ keepaliveMs: 20 });
    client.connect();
    const c0 = await server.connection(0);
    const sync = await signIn(c0);
    c0.push(sf.syncDone(sync.requestId));
    const ping = await c0.expect(fb.Body.Ping);
    expect(ping.requestId).toBeGreaterThan(sync.requestId);
    // No answer: the client gives up on this connection and opens another.
    const c1 = await server.connection(1);
    expect(c0.closed).toBe(true);
    await signIn(c1, fb.Body.Authenticate);
    await client.close();
  });

  it('logs out: Ok, then closed with revoked', async () => {
    const { server, client } = setup();
    client.connect();
    const conn = await server.connection(0);
    await signIn(conn);
    const out = client.logout();
    const f = await conn.expect(fb.Body.Logout);
    conn.push(sf.ok(f.requestId));
    await out;
    await until(() => client.state.phase === 'closed');
    expect(client.state).toMatchObject({ reason: { name: 'revoked' } });
  });
});
