// Against a real engine over ws://: resume from cursors, the outbox across an engine restart and
// a reload, and revocation.
import { IDBFactory } from 'fake-indexeddb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { IndexedDbOutboxStore } from '../../src/indexeddb-outbox-store.js';
import { connected, login, newClient, register, type TestClient } from '../support/clients.js';
import { Engine } from '../support/engine.js';

let engine: Engine;
let bob: TestClient;
let aliceToken: string;
let chatId: bigint;
const opened: TestClient[] = [];
const idb = new IDBFactory();

beforeAll(async () => {
  engine = await Engine.start();
  const alice = await connected(engine, register('alice'));
  aliceToken = alice.client.token;
  await alice.client.close();
  bob = await connected(engine, register('bob'));
  opened.push(bob);
  chatId = (await bob.client.createDirect('alice')).chatId;
});

afterAll(async () => {
  for (const c of opened) await c.client.close();
  await engine?.dispose();
});

/** Seqs of chat events, which must be strictly increasing by one (in order, exactly once). */
function expectContiguous(seqs: bigint[]): void {
  seqs.forEach((s, i) => i > 0 && expect(s).toBe(seqs[i - 1]! + 1n));
}

describe('resume and the outbox against a real engine', () => {
  it('resumes from cursors with exactly the missed events', async () => {
    const first = await connected(engine, { kind: 'token', token: aliceToken });
    await bob.client.send(chatId, 'before');
    await first.log.until(() => first.log.messages(chatId).includes('before'));
    const cursors = first.client.cursors();
    await first.client.close();

    const missed = ['while away 1', 'while away 2', 'while away 3'];
    for (const m of missed) await bob.client.send(chatId, m);

    const again = newClient(engine, { kind: 'token', token: aliceToken }, { cursors });
    opened.push(again);
    await again.client.connect();
    await again.log.until(() => again.client.state.phase === 'live');
    await again.client.ping();
    expect(again.log.messages(chatId)).toEqual(missed);
    expect(again.log.all.find((e) => e.type === 'syncDone')).toMatchObject({ events: 3n });
    const seqs = again.log.chatEvents(chatId).map((e) => e.seq);
    expect(seqs[0]).toBe(cursors.find(([c]) => c === chatId)![1] + 1n);
    expectContiguous(seqs);
    await again.client.close();
  });

  it('delivers a message queued while the engine is stopped exactly once after the restart', async () => {
    const store = await IndexedDbOutboxStore.open('alice-device', idb);
    const alice = await connected(engine, { kind: 'token', token: aliceToken }, { outboxStore: store });
    opened.push(alice);
    const bobBefore = bob.log.messages(chatId).length;

    await engine.stop();
    await alice.log.until(() => alice.client.state.phase === 'waiting');
    const acked = alice.client.send(chatId, 'sent while the engine was down');
    await alice.log.until(() => alice.client.pendingSends === 1);
    expect((await store.load()).map((r) => r.content)).toEqual(['sent while the engine was down']);

    await engine.restart();
    const ack = await acked;
    expect(ack.chatId).toBe(chatId);
    expect(await store.load()).toEqual([]);
    await bob.log.until(() => bob.log.messages(chatId).length > bobBefore);
    await alice.log.until(() => alice.log.messages(chatId).includes('sent while the engine was down'));
    await Promise.all([alice.client.ping(), bob.client.ping()]);
    // Both reconnected, resumed from their cursors, and hold the message exactly once.
    for (const c of [alice, bob]) {
      expect(c.log.count('disconnected')).toBeGreaterThanOrEqual(1);
      expect(c.log.messages(chatId).filter((m) => m === 'sent while the engine was down')).toHaveLength(1);
      expectContiguous(c.log.chatEvents(chatId).map((e) => e.seq));
    }
    expect(bob.log.chatEvents(chatId).at(-1)).toMatchObject({ seq: ack.seq, senderDeviceId: alice.client.account!.deviceId });
    await alice.client.close();
    store.close();
  });

  it('sends a message queued offline before a reload once, from the IndexedDB outbox', async () => {
    await engine.stop();
    const store1 = await IndexedDbOutboxStore.open('alice-reload', idb);
    const before = newClient(engine, { kind: 'token', token: aliceToken }, { outboxStore: store1 });
    void before.client.connect().catch(() => {});
    const lost = before.client.send(chatId, 'queued before the reload');
    lost.catch(() => {});
    await before.log.until(() => before.client.pendingSends === 1);
    await before.client.close(); // the page goes away with the message unsent
    store1.close();

    await engine.restart();
    const bobBefore = bob.log.messages(chatId).length;
    const store2 = await IndexedDbOutboxStore.open('alice-reload', idb);
    expect((await store2.load()).map((r) => r.content)).toEqual(['queued before the reload']);
    const after = await connected(engine, { kind: 'token', token: aliceToken }, { outboxStore: store2 });
    opened.push(after);
    await bob.log.until(() => bob.log.messages(chatId).length > bobBefore);
    await after.log.until(() => after.client.pendingSends === 0);
    expect(await store2.load()).toEqual([]);
    await Promise.all([after.client.ping(), bob.client.ping()]);
    expect(bob.log.messages(chatId).filter((m) => m === 'queued before the reload')).toHaveLength(1);
    expect(after.client.pendingSends).toBe(0);
    await after.client.close();
    store2.close();
  });

  it("closes a revoked device's client with reason revoked, and its token stops working", async () => {
    const laptop = await connected(engine, { kind: 'token', token: aliceToken });
    opened.push(laptop);
    const tablet = await connected(engine, login('alice', 'tablet'));
    const tabletToken = tablet.client.token;
    await laptop.client.revokeDevice(tablet.client.account!.deviceId);
    await tablet.log.until(() => tablet.client.state.phase === 'closed');
    expect(tablet.client.state).toMatchObject({ phase: 'closed', reason: { code: ErrorCode.Revoked, name: 'revoked' } });
    expect(tablet.log.all.at(-1)).toMatchObject({ type: 'closed', reason: { name: 'revoked' } });
    expect((await laptop.client.listDevices()).map((d) => d.name)).not.toContain('tablet');
    const reuse = newClient(engine, { kind: 'token', token: tabletToken });
    await expect(reuse.client.connect()).rejects.toMatchObject({ code: ErrorCode.InvalidCredentials });
    await laptop.client.close();
  });
});
