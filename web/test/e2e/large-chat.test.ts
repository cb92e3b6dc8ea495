// A large chat (more than 256 members, PROTOCOL.md §6.15) in Debian's Chromium against a real
// engine: the engine keeps no per-member lists there, it counts. Alice owns a group of 258 (Bob
// and 256 people registered from Node, never connected again); under her newest message the app
// shows the counts the engine pushes to the chat's owner, and its "Read by" shows counts, no list.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator } from 'playwright-core';
import type { Engine } from '../../../client-lib/ts/test/support/engine.js';
import { connected, newClient, register } from '../../../client-lib/ts/test/support/clients.js';
import { createGroup, launch, openChat, person, say, sees, shotsDir, signUp, startEngine, type Person } from './harness.js';

const run = Math.random().toString(36).slice(2, 7);
const ALICE = `alice${run}`;
const BOB = `bob${run}`;
const OTHERS = 256;
const EVENTUALLY = { timeout: 20_000 };

let engine: Engine;
let browser: Browser;
let alice: Person;
let bob: Person;

const bubble = (p: Person, text: string): Locator => p.page.locator('.msg', { has: p.page.locator('.text', { hasText: text }) }).last();

/** Registers `n` accounts (two at a time: each costs a password hash) and returns their ids. */
async function registerMany(n: number): Promise<bigint[]> {
  const ids: bigint[] = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const { client } = newClient(engine, register(`m${run}x${next++}`));
      ids.push((await client.connect()).userId);
      await client.close();
    }
  };
  await Promise.all([worker(), worker()]);
  return ids;
}

beforeAll(async () => {
  let origin: string;
  ({ engine, origin } = await startEngine());
  browser = await launch();
  alice = await person(browser, origin);
  bob = await person(browser, origin);
  await signUp(alice, ALICE);
  await signUp(bob, BOB);
  const others = await registerMany(OTHERS);
  await createGroup(alice, 'Big', BOB);
  // The 256 join through Alice's account from Node (one AddMembers; the UI adds one at a time).
  const a = await connected(engine, { kind: 'login', username: ALICE, password: 'correct horse battery' });
  const big = (await a.client.listChats()).find((c) => c.title === 'Big')!;
  await a.client.addMembers(big.chatId, others);
  await a.client.close();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await engine?.dispose();
});

describe('a chat of more than 256 members', () => {
  it('shows the pushed counts under my newest message, and counts in its "Read by"', async () => {
    await expect.poll(() => alice.page.getByTestId('conv-sub').innerText(), EVENTUALLY).toMatch(/^258 members/);
    await say(alice, 'hello everyone');
    await sees(alice, 'hello everyone');
    const counts = bubble(alice, 'hello everyone').getByTestId('receipt-counts');
    // Bob's browser has it (no chat open there): delivered to one of the 257 others, seen by none.
    await expect.poll(() => counts.innerText(), EVENTUALLY).toBe('Seen by 0 · delivered to 1 of 257');
    await openChat(bob, 'Big');
    await sees(bob, 'hello everyone');
    await expect.poll(() => counts.innerText(), EVENTUALLY).toBe('Seen by 1 · delivered to 1 of 257');
    await alice.page.screenshot({ path: `${shotsDir()}large-chat-counts.png` });
    // Message info: the counts over the others, no names (the engine lists none).
    const b = bubble(alice, 'hello everyone');
    await b.hover();
    await b.getByRole('button', { name: /^Message options/ }).click();
    await alice.page.getByRole('menuitem', { name: 'Read by', exact: true }).click();
    const info = alice.page.getByTestId('receipts');
    await info.waitFor();
    await expect.poll(() => info.innerText(), EVENTUALLY).toContain('Read by 1 of 257');
    expect(await info.innerText()).toContain('Delivered to 1 of 257');
    await alice.page.getByTestId('receipts-counts-note').waitFor();
    expect(await alice.page.getByTestId('read-by').count()).toBe(0);
    await alice.page.screenshot({ path: `${shotsDir()}large-chat-read-by.png` });
    await alice.page.getByRole('button', { name: 'Close', exact: true }).click();
    expect(alice.errors).toEqual([]);
  });
});
