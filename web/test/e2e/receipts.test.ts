// Receipts, presence and typing (PROTOCOL.md §6.15) in Debian's Chromium against a real engine,
// two people in two browser contexts: ticks go from delivered to read when the other opens the
// chat; "read by" in a group; the typing indicator shows and goes away; presence shows online, do
// not disturb, and then last seen; a group's online count; the unread count, opening at the
// divider and reading only what is shown, the jumps; read receipts off hides the read ticks.
// Screenshots of each.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator } from 'playwright-core';
import type { Engine } from '../../../client-lib/ts/test/support/engine.js';
import { createGroup, launch, openChat, person, say, sees, shotsDir, signUp, startEngine, type Person } from './harness.js';

const run = Math.random().toString(36).slice(2, 7);
const ALICE = `alice${run}`;
const BOB = `bob${run}`;
// Eventually, not within a time: the tests' own timeout bounds these waits.
const EVENTUALLY = { timeout: 20_000 };

let engine: Engine;
let origin: string;
let browser: Browser;
let alice: Person;
let bob: Person;

const bubble = (p: Person, text: string): Locator => p.page.locator('.msg', { has: p.page.locator('.text', { hasText: text }) }).last();
const tick = (p: Person, text: string) => bubble(p, text).getByTestId('tick').getAttribute('data-tick');
const shot = (p: Person, name: string) => p.page.screenshot({ path: `${shotsDir()}receipts-${name}.png` });
/** Whether a message's bubble is wholly inside the message list's view. */
const inView = (p: Person, text: string): Promise<boolean> =>
  p.page.evaluate((t) => {
    const box = document.querySelector('.messages')!.getBoundingClientRect();
    // The whole row (as the app measures it), not only the bubble.
    const el = [...document.querySelectorAll('.msg')].find((m) => m.querySelector('.text')?.textContent === t)?.closest('.row-wrap');
    const r = el?.getBoundingClientRect();
    return !!r && r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
  }, text);
/** The text of the newest message wholly in view. */
const newestInView = (p: Person): Promise<string> =>
  p.page.evaluate(() => {
    const box = document.querySelector('.messages')!.getBoundingClientRect();
    const shown = [...document.querySelectorAll('.msg')].filter((m) => {
      const r = m.closest('.row-wrap')!.getBoundingClientRect();
      return r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
    });
    return shown.at(-1)?.querySelector('.text')?.textContent ?? '';
  });
/** Where the unread divider is: in the top third of the view, lower in it, or out of it. */
const dividerPlace = (p: Person): Promise<'top' | 'lower' | 'out'> =>
  p.page.getByTestId('unread-divider').evaluate((el) => {
    const box = el.closest('.messages')!.getBoundingClientRect();
    const r = el.getBoundingClientRect();
    if (r.bottom <= box.top || r.top >= box.bottom) return 'out';
    return r.top - box.top < box.height / 3 ? 'top' : 'lower';
  });
const chatItem = (p: Person, name: string) => p.page.locator('.chat-item').filter({ has: p.page.locator('.chat-name').getByText(name, { exact: true }) }).first();


beforeAll(async () => {
  ({ engine, origin } = await startEngine());
  browser = await launch();
  alice = await person(browser, origin);
  bob = await person(browser, origin);
  await signUp(alice, ALICE);
  await signUp(bob, BOB);
  // A group first, so that each has somewhere else to be; then the direct chat.
  await createGroup(alice, 'Side', BOB);
  await alice.page.getByRole('button', { name: 'New chat' }).click();
  await alice.page.getByLabel('Username', { exact: true }).fill(BOB);
  await alice.page.getByRole('button', { name: 'Start chat' }).click();
  await alice.page.locator('#conv-title', { hasText: BOB }).waitFor();
  await openChat(bob, 'Side');
});

afterEach(async () => {
  for (const p of [alice, bob]) if (!p.page.isClosed() && (await p.page.getByRole('dialog').count()) > 0) await p.page.keyboard.press('Escape');
});

afterAll(async () => {
  await browser?.close();
  await engine?.dispose();
});

describe('receipts, presence and typing in the browser', () => {
  it('ticks: delivered while the other has the chat closed, read once they open it', async () => {
    await say(alice, 'did you get this?');
    await sees(alice, 'did you get this?');
    // Bob's browser received it (he is in another chat): two grey ticks.
    await expect.poll(() => tick(alice, 'did you get this?'), EVENTUALLY).toBe('delivered');
    await shot(alice, 'delivered');
    await openChat(bob, ALICE);
    await sees(bob, 'did you get this?');
    await expect.poll(() => tick(alice, 'did you get this?'), EVENTUALLY).toBe('read');
    await shot(alice, 'read');
    // Others' messages carry no ticks.
    expect(await bob.page.locator('.msg:not(.mine) [data-testid=tick]').count()).toBe(0);
  });

  it('presence: the direct chat header shows the other person online', async () => {
    await expect.poll(() => alice.page.getByTestId('conv-sub').innerText(), EVENTUALLY).toBe('online');
    await expect.poll(() => bob.page.getByTestId('conv-sub').innerText(), EVENTUALLY).toBe('online');
  });

  it('do not disturb: the other person sees it while it is on, and online once it is off', async () => {
    // The details panel (with the status and privacy settings) beside the conversation.
    const toggle = alice.page.getByLabel(/^Do not disturb/);
    if (!(await toggle.isVisible())) await alice.page.getByRole('button', { name: 'Chat details' }).click();
    await expect.poll(() => toggle.isEnabled(), EVENTUALLY).toBe(true);
    expect(await toggle.isChecked()).toBe(false);
    expect(await alice.page.getByTestId('my-status').count()).toBe(0);
    await toggle.check();
    // Bob watches Alice (their direct chat is open): her status replaces "online".
    await expect.poll(() => bob.page.getByTestId('conv-sub').innerText(), EVENTUALLY).toBe('do not disturb');
    // Alice's own status shows it too, and it is the server's: still there after a reload.
    await alice.page.getByTestId('my-status').waitFor();
    await shot(bob, 'dnd-peer');
    await shot(alice, 'dnd-own');
    await alice.page.reload();
    await alice.page.getByTestId('my-status').waitFor();
    await expect.poll(() => toggle.isChecked(), EVENTUALLY).toBe(true);
    await toggle.uncheck();
    await expect.poll(() => bob.page.getByTestId('conv-sub').innerText(), EVENTUALLY).toBe('online');
    await expect.poll(() => alice.page.getByTestId('my-status').count(), EVENTUALLY).toBe(0);
  });

  it('groups: the header counts the members and how many of them are online', async () => {
    await openChat(alice, 'Side');
    // Both are connected (the engine counts members with a connection, this user included).
    await expect.poll(() => alice.page.getByTestId('conv-sub').innerText(), EVENTUALLY).toBe('2 members, 2 online');
    await shot(alice, 'online-count');
    await openChat(alice, BOB);
  });

  it('typing: the indicator shows while the other types, goes away when they clear it, and expires', async () => {
    const box = bob.page.getByLabel('Message', { exact: true });
    await box.pressSequentially('hel');
    await expect.poll(() => alice.page.getByTestId('typing').innerText(), EVENTUALLY).toBe(`${BOB} is typing…`);
    await shot(alice, 'typing');
    // Bob's own window shows nobody typing (his own pushes are ignored).
    expect(await bob.page.getByTestId('typing').innerText()).toBe('');
    await box.fill('');
    await expect.poll(() => alice.page.getByTestId('typing').innerText(), EVENTUALLY).toBe('');
    // One keystroke and nothing more: it expires on Alice's side without a Stopped.
    await box.pressSequentially('x');
    await expect.poll(() => alice.page.getByTestId('typing').innerText(), EVENTUALLY).toBe(`${BOB} is typing…`);
    await expect.poll(() => alice.page.getByTestId('typing').innerText(), EVENTUALLY).toBe('');
    // Sending ends it too.
    await box.fill('');
    await box.pressSequentially('sent now');
    await expect.poll(() => alice.page.getByTestId('typing').innerText(), EVENTUALLY).toBe(`${BOB} is typing…`);
    await box.press('Enter');
    await sees(alice, 'sent now');
    await expect.poll(() => alice.page.getByTestId('typing').innerText(), EVENTUALLY).toBe('');
  });

  it('groups: "Read by" in the message menu lists who read it and who only has it', async () => {
    await openChat(alice, 'Side');
    await openChat(bob, ALICE);
    await say(alice, 'group question');
    await sees(alice, 'group question');
    const b = bubble(alice, 'group question');
    await expect.poll(() => b.getAttribute('data-state'), EVENTUALLY).toBe('sent');
    // Delivered to Bob (his browser has it), not read: he is in the direct chat.
    const info = async () => {
      await b.hover();
      await b.getByRole('button', { name: /^Message options/ }).click();
      await alice.page.getByRole('menuitem', { name: 'Read by', exact: true }).click();
      await alice.page.getByTestId('receipts').waitFor();
      const r = { read: await alice.page.getByTestId('read-by').innerText(), delivered: await alice.page.getByTestId('delivered-to').innerText() };
      await alice.page.getByRole('button', { name: 'Close', exact: true }).click();
      return r;
    };
    await expect.poll(info, EVENTUALLY).toEqual({ read: 'Nobody yet', delivered: BOB });
    await openChat(bob, 'Side');
    await sees(bob, 'group question');
    await expect.poll(async () => (await info()).read, EVENTUALLY).toBe(BOB);
    await b.hover();
    await b.getByRole('button', { name: /^Message options/ }).click();
    await alice.page.getByRole('menuitem', { name: 'Read by', exact: true }).click();
    await alice.page.getByTestId('receipts').waitFor();
    await shot(alice, 'read-by');
    await alice.page.getByRole('button', { name: 'Close', exact: true }).click();
  });

  it('unread: opens at the divider, reads what is seen as it is seen, and the jumps', async () => {
    // Alice is in the group; Bob writes a long run in the direct chat.
    await openChat(bob, ALICE);
    const lines = Array.from({ length: 30 }, (_, i) => `unread line ${i + 1}`);
    for (const l of lines) await say(bob, l);
    await sees(bob, 'unread line 30');
    await expect.poll(() => chatItem(alice, BOB).getByTestId('unread').innerText(), EVENTUALLY).toBe('30');
    // The count survives a reload: it is the server's (from the read cursor), not this tab's.
    await alice.page.reload();
    await alice.page.getByRole('navigation', { name: 'Chats' }).waitFor();
    await expect.poll(() => chatItem(alice, BOB).getByTestId('unread').innerText(), EVENTUALLY).toBe('30');
    await shot(alice, 'unread-count');
    await openChat(alice, BOB);
    // A fresh watch after the reload: Bob is still online.
    await expect.poll(() => alice.page.getByTestId('conv-sub').innerText(), EVENTUALLY).toBe('online');
    // Opened at the first unread, not at the newest: the divider near the top of the view, right
    // before the first unread message, and the newest one out of view below.
    const divider = alice.page.getByTestId('unread-divider');
    await divider.waitFor();
    await expect.poll(() => dividerPlace(alice), EVENTUALLY).toBe('top');
    expect(await divider.evaluate((el) => el.parentElement!.querySelector('.text')?.textContent ?? '')).toBe('unread line 1');
    expect(await inView(alice, 'unread line 30')).toBe(false);
    // What is in view is read, the rest is not: Bob's ticks turn read up to the newest line Alice
    // sees, the newest stays delivered, and her count goes down without going to zero.
    const seen = await newestInView(alice);
    expect(seen).toMatch(/^unread line \d+$/);
    expect(seen).not.toBe('unread line 30');
    await expect.poll(() => tick(bob, seen), EVENTUALLY).toBe('read');
    expect(await tick(bob, 'unread line 30')).toBe('delivered');
    await expect.poll(async () => Number(await chatItem(alice, BOB).getByTestId('unread').innerText()), EVENTUALLY).toBeLessThan(30);
    const left = Number(await chatItem(alice, BOB).getByTestId('unread').innerText());
    expect(left).toBeGreaterThan(0);
    expect(left).toBe(30 - Number(seen.replace('unread line ', '')));
    await shot(alice, 'divider');
    // Down to the newest ("Jump to latest"): all read, the badge gone, Bob's newest tick read.
    await alice.page.getByTestId('jump').click();
    await expect.poll(() => inView(alice, 'unread line 30'), EVENTUALLY).toBe(true);
    await expect.poll(() => chatItem(alice, BOB).getByTestId('unread').count(), EVENTUALLY).toBe(0);
    await expect.poll(() => tick(bob, 'unread line 30'), EVENTUALLY).toBe('read');
    // The divider is above the view now: "Jump to first unread" goes back to it.
    await alice.page.getByTestId('jump-unread').click();
    await expect.poll(() => dividerPlace(alice), EVENTUALLY).not.toBe('out');
  });

  it('read receipts off: the other side sees delivered, not read; back on, read again', async () => {
    // The details panel (with the privacy settings) is open beside the conversation on a wide window.
    const toggle = bob.page.getByLabel(/^Read receipts/);
    if (!(await toggle.isVisible())) await bob.page.getByRole('button', { name: 'Chat details' }).click();
    await expect.poll(() => toggle.isEnabled(), EVENTUALLY).toBe(true);
    expect(await toggle.isChecked()).toBe(true);
    await toggle.uncheck();
    await shot(bob, 'privacy');
    // Everything Bob read turns back to delivered for Alice…
    await expect.poll(() => tick(alice, 'did you get this?'), EVENTUALLY).toBe('delivered');
    // …and a new message he has open in front of him stays delivered.
    await say(alice, 'can you see my ticks?');
    await sees(bob, 'can you see my ticks?');
    await expect.poll(() => tick(alice, 'can you see my ticks?'), EVENTUALLY).toBe('delivered');
    await expect.poll(() => chatItem(bob, ALICE).getByTestId('unread').count(), EVENTUALLY).toBe(0);
    await shot(alice, 'receipts-off');
    // Reciprocal: Bob sees no read tick on his own messages while his are off.
    await expect.poll(() => tick(bob, 'unread line 30'), EVENTUALLY).toBe('delivered');
    await toggle.check();
    await expect.poll(() => tick(alice, 'can you see my ticks?'), EVENTUALLY).toBe('read');
    await expect.poll(() => tick(bob, 'unread line 30'), EVENTUALLY).toBe('read');
  });

  it('presence: once the other person is gone, their last seen', async () => {
    await bob.context.close();
    await expect.poll(() => alice.page.getByTestId('conv-sub').innerText(), EVENTUALLY).toMatch(/^last seen today at /);
    await shot(alice, 'last-seen');
    expect(alice.errors).toEqual([]);
  });

  it('groups: the online count follows once the other person is gone (a fresh count on the next watch)', async () => {
    await openChat(alice, 'Side');
    // The count is a snapshot servers may reuse for 10 s; the app asks again every 30 s.
    await expect.poll(() => alice.page.getByTestId('conv-sub').innerText(), { timeout: 50_000 }).toBe('2 members, 1 online');
  }, 60_000);
});
