// Message features in Debian's Chromium against a real engine, two people in a group: a reply
// whose quote jumps to the original (on a new device, loading the history up to it), an edit with Up (the other side sees "edited" and the
// versions), a reaction counted and toggled off, delete for everyone (a tombstone) and for me
// (gone on my side only), @mention autocomplete and the Mentions view, a pin and the pinned
// list, a forward ("forwarded from"), a place and a contact card; screenshots, and axe.
import { createRequire } from 'node:module';
import { MagpieClient, type WebSocketConstructor } from '@magpie/client';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator } from 'playwright-core';
import type { Engine } from '../../../client-lib/ts/test/support/engine.js';
import { createGroup, launch, openChat, person, say, sees, shotsDir, signIn, signUp, startEngine, type Person } from './harness.js';

const require = createRequire(import.meta.url);
const run = Math.random().toString(36).slice(2, 7);
const ALICE = `alice${run}`;
const BOB = `bob${run}`;
const PASSWORD = 'correct horse battery';

let engine: Engine;
let origin: string;
let browser: Browser;
let alice: Person;
let bob: Person;


/** The message (row) whose text contains `text`. */
const bubble = (p: Person, text: string): Locator => p.page.locator('.msg', { has: p.page.locator('.text', { hasText: text }) }).last();

async function act(p: Person, text: string, item: string, role: 'menuitem' | 'menuitemcheckbox' = 'menuitem'): Promise<void> {
  const b = bubble(p, text);
  await b.hover();
  await b.getByRole('button', { name: /^Message options/ }).click();
  await p.page.getByRole(role, { name: item, exact: true }).click();
}

/** Whether the row is rendered and inside the visible part of the message list. */
async function inView(row: Locator): Promise<boolean> {
  if ((await row.count()) === 0) return false;
  return row.first().evaluate((el) => {
    const box = el.closest('.messages')!.getBoundingClientRect();
    const r = el.getBoundingClientRect();
    return r.bottom > box.top && r.top < box.bottom;
  });
}

const shot = (p: Person, name: string) => p.page.screenshot({ path: `${shotsDir()}messages-${name}.png` });

beforeAll(async () => {
  ({ engine, origin } = await startEngine());
  browser = await launch();
  // Alice's context bypasses the CSP so that axe can be injected at the end.
  alice = await person(browser, origin, { width: 1280, height: 800 }, true);
  bob = await person(browser, origin);
  await signUp(alice, ALICE, PASSWORD);
  await signUp(bob, BOB, PASSWORD);
  await createGroup(alice, 'Crew', BOB);
  await openChat(bob, 'Crew');
});

afterEach(async () => {
  for (const p of [alice, bob]) if ((await p.page.getByRole('dialog').count()) > 0) await p.page.keyboard.press('Escape');
});

afterAll(async () => {
  await browser?.close();
  await engine?.dispose();
});

describe('message features in the browser', () => {
  it('a reply shows its quote on both sides, and the quote jumps to the original', async () => {
    await say(bob, 'lunch at noon?');
    await sees(alice, 'lunch at noon?');
    await act(alice, 'lunch at noon?', 'Reply');
    await alice.page.getByTestId('draft').getByText(`Replying to ${BOB}`).waitFor();
    await say(alice, 'yes!');
    for (const p of [alice, bob]) await bubble(p, 'yes!').getByTestId('quote').getByText('lunch at noon?').waitFor();
    expect(await alice.page.getByTestId('draft').count()).toBe(0);
    // Enough after it that the original scrolls out of view, then a reply to it (from Bob's
    // second device, a script).
    const seq = BigInt((await bubble(alice, 'lunch at noon?').getAttribute('data-seq'))!);
    const chatId = BigInt((await alice.page.locator('.chat-item.active').getAttribute('data-chat-id'))!);
    const node = new MagpieClient({ url: engine.wsUrl, WebSocket: WebSocket as unknown as WebSocketConstructor, credentials: { kind: 'login', username: BOB, password: PASSWORD, deviceName: 'script' } });
    await node.connect();
    for (let i = 1; i <= 40; i++) await node.send(chatId, `filler ${i}`);
    await node.send(chatId, 'see above', { replyToSeq: seq });
    await node.close();
    await sees(alice, 'see above');
    const original = alice.page.locator('.msg', { has: alice.page.locator('.text', { hasText: 'lunch at noon?' }) });
    expect(await inView(original)).toBe(false);
    await bubble(alice, 'see above').getByTestId('quote').click();
    await alice.page.locator('.msg.focused', { hasText: 'lunch at noon?' }).waitFor();
    expect(await inView(original)).toBe(true);
    await shot(alice, 'reply-jump-1280');
  });

  it('on a new device, a quote of a message from before the loaded history loads it and jumps to it', async () => {
    const seq = BigInt((await bubble(alice, 'lunch at noon?').getAttribute('data-seq'))!);
    const chatId = BigInt((await alice.page.locator('.chat-item.active').getAttribute('data-chat-id'))!);
    const node = new MagpieClient({ url: engine.wsUrl, WebSocket: WebSocket as unknown as WebSocketConstructor, credentials: { kind: 'login', username: BOB, password: PASSWORD, deviceName: 'script' } });
    await node.connect();
    // More than one history page (100) after the original.
    for (let i = 1; i <= 120; i++) await node.send(chatId, `more filler ${i}`);
    const last = await node.send(chatId, 'way above', { replyToSeq: seq });
    await node.close();
    // Alice has read them elsewhere (a chat with unread messages would open at the first of them,
    // loading history back to it): the new browser opens the chat at its newest.
    const reader = new MagpieClient({ url: engine.wsUrl, WebSocket: WebSocket as unknown as WebSocketConstructor, credentials: { kind: 'login', username: ALICE, password: PASSWORD, deviceName: 'script' } });
    await reader.connect();
    await reader.markReceipts(chatId, last.seq, last.seq);
    await reader.close();
    // A browser that has never seen the chat: it loads the newest page only.
    const fresh = await person(browser, origin);
    try {
      await signIn(fresh, ALICE, PASSWORD);
      await openChat(fresh, 'Crew');
      await sees(fresh, 'way above');
      const original = fresh.page.locator('.msg', { has: fresh.page.locator('.text', { hasText: 'lunch at noon?' }) });
      expect(await original.count(), 'the original is not among the rows loaded at first').toBe(0);
      await bubble(fresh, 'way above').getByTestId('quote').click();
      await fresh.page.locator('.msg.focused', { hasText: 'lunch at noon?' }).waitFor();
      expect(await inView(original)).toBe(true);
      expect(fresh.errors).toEqual([]);
    } finally {
      await fresh.context.close();
    }
  });

  it('Up in an empty composer edits my last message; the other side sees "edited" and the versions', async () => {
    await say(alice, 'teh plan is set');
    await sees(bob, 'teh plan is set');
    const box = alice.page.getByLabel('Message', { exact: true });
    await box.click();
    await box.press('ArrowUp');
    await alice.page.getByTestId('draft').getByText('Editing').waitFor();
    expect(await box.inputValue()).toBe('teh plan is set');
    // Escape cancels the edit and empties the box.
    await box.press('Escape');
    expect(await alice.page.getByTestId('draft').count()).toBe(0);
    expect(await box.inputValue()).toBe('');
    await box.press('ArrowUp');
    await box.fill('the plan is set');
    await box.press('Enter');
    await sees(bob, 'the plan is set');
    const edited = bubble(bob, 'the plan is set').getByRole('button', { name: 'edited' });
    await edited.waitFor();
    await edited.click();
    const versions = bob.page.getByTestId('versions');
    await versions.getByText('teh plan is set').waitFor();
    expect(await versions.locator('li').allInnerTexts()).toEqual([expect.stringContaining('teh plan is set'), expect.stringContaining('the plan is set')]);
    await shot(bob, 'versions-1280');
    await bob.page.getByRole('button', { name: 'Close' }).click();
  });

  it('a reaction is counted on the other side, mine is highlighted, and a click takes it back', async () => {
    await act(bob, 'the plan is set', 'React 👍', 'menuitemcheckbox');
    const chip = (p: Person) => bubble(p, 'the plan is set').locator('.chip[data-emoji="👍"]');
    await chip(alice).waitFor();
    expect(await chip(alice).innerText()).toContain('1');
    expect(await chip(alice).getAttribute('aria-pressed')).toBe('false');
    await chip(bob).waitFor();
    expect(await chip(bob).getAttribute('aria-pressed')).toBe('true');
    // Alice adds hers from the chip: 2.
    await chip(alice).click();
    await expect.poll(() => chip(bob).innerText()).toContain('2');
    // The fuller picker: another emoji.
    await act(alice, 'the plan is set', 'React');
    await alice.page.getByRole('dialog', { name: 'React' }).getByRole('button', { name: 'React 🚀' }).click();
    await bubble(bob, 'the plan is set').locator('.chip[data-emoji="🚀"]').waitFor();
    await shot(bob, 'reactions-1280');
    await chip(bob).click();
    await expect.poll(() => chip(alice).innerText()).toContain('1');
    expect(await chip(bob).getAttribute('aria-pressed')).toBe('false');
    await act(bob, 'the plan is set', 'Who reacted');
    const who = bob.page.getByTestId('reactors');
    await who.getByText(ALICE).waitFor();
    expect(await who.innerText()).toContain('🚀');
    await bob.page.getByRole('button', { name: 'Close' }).click();
  });

  it('delete for everyone leaves a tombstone on both sides; delete for me hides it on my side only', async () => {
    await say(alice, 'my pin is 4711');
    await sees(bob, 'my pin is 4711');
    await act(alice, 'my pin is 4711', 'Delete');
    await alice.page.getByRole('button', { name: 'Delete for everyone' }).click();
    for (const p of [alice, bob]) await expect.poll(() => p.page.locator('.msg .text', { hasText: 'my pin is 4711' }).count()).toBe(0);
    await bob.page.getByTestId('tombstone').last().waitFor();
    expect(await bob.page.getByTestId('tombstone').last().innerText()).toBe('This message was deleted');

    await say(alice, 'keep this for the record');
    await sees(bob, 'keep this for the record');
    // Bob may not delete Alice's for everyone: only for himself.
    await act(bob, 'keep this for the record', 'Delete');
    expect(await bob.page.getByRole('button', { name: 'Delete for everyone' }).count()).toBe(0);
    await bob.page.getByRole('button', { name: 'Delete for me' }).click();
    await expect.poll(() => bob.page.locator('.msg .text', { hasText: 'keep this for the record' }).count()).toBe(0);
    // Alice still has it, and Bob's next reload does not bring it back.
    await say(alice, 'after the hidden one');
    await sees(bob, 'after the hidden one');
    expect(await alice.page.locator('.msg .text', { hasText: 'keep this for the record' }).count()).toBe(1);
    await bob.page.reload();
    await openChat(bob, 'Crew');
    await sees(bob, 'after the hidden one');
    expect(await bob.page.locator('.msg .text', { hasText: 'keep this for the record' }).count()).toBe(0);
  });

  it('@ suggests the members; the mentioned person sees it marked and in Mentions, which opens it', async () => {
    const box = alice.page.getByLabel('Message', { exact: true });
    await box.click();
    await box.pressSequentially(`@${BOB.slice(0, 4)}`);
    const list = alice.page.getByRole('listbox', { name: 'Mention someone' });
    await list.getByRole('option', { name: `@${BOB}` }).waitFor();
    // In a group @all is offered too, when it matches.
    await shot(alice, 'mention-suggest-1280');
    await box.press('Enter');
    expect(await box.inputValue()).toBe(`@${BOB} `);
    await box.pressSequentially('can you check the oven');
    await box.press('Enter');
    await sees(bob, 'can you check the oven');
    const mark = bubble(bob, 'can you check the oven').locator('mark.mention.me');
    await mark.waitFor();
    expect(await mark.innerText()).toBe(`@${BOB}`);
    await say(bob, 'filler after the mention');
    await bob.page.getByRole('button', { name: 'Mentions', exact: true }).click();
    const mentions = bob.page.getByTestId('mentions');
    await mentions.getByText('can you check the oven').waitFor();
    await shot(bob, 'mentions-1280');
    await mentions.getByText('can you check the oven').click();
    await bob.page.locator('.msg.focused', { hasText: 'can you check the oven' }).waitFor();
  });

  it('an admin pins a message: the pinned bar and the list show it on the other side', async () => {
    await say(bob, 'wifi password: magpie123');
    await sees(alice, 'wifi password: magpie123');
    await act(alice, 'wifi password: magpie123', 'Pin');
    const bar = bob.page.getByTestId('pinned-bar');
    await bar.getByText('wifi password: magpie123').waitFor();
    await bar.getByRole('button', { name: '1 pinned' }).click();
    await bob.page.getByTestId('pins').getByText('wifi password: magpie123').waitFor();
    // Bob is a member, and the group's pin setting is admins: he may not unpin.
    expect(await bob.page.getByTestId('pins').getByRole('button', { name: 'Unpin' }).count()).toBe(0);
    await shot(bob, 'pins-1280');
    await bob.page.getByRole('button', { name: 'Close' }).click();
  });

  it('a forward arrives marked "forwarded from" its first author', async () => {
    await say(bob, 'worth sharing: the recipe');
    await sees(alice, 'worth sharing: the recipe');
    await createGroup(alice, 'Side', BOB);
    await openChat(alice, 'Crew');
    await act(alice, 'worth sharing: the recipe', 'Forward');
    const dialog = alice.page.getByRole('dialog', { name: 'Forward to' });
    await dialog.getByLabel('Side').check();
    await dialog.getByRole('button', { name: 'Forward' }).click();
    await openChat(bob, 'Side');
    await sees(bob, 'worth sharing: the recipe');
    expect(await bubble(bob, 'worth sharing: the recipe').getByTestId('forwarded').innerText()).toBe('Forwarded from you');
    await openChat(alice, 'Side');
    expect(await bubble(alice, 'worth sharing: the recipe').getByTestId('forwarded').innerText()).toBe(`Forwarded from ${BOB}`);
    await shot(alice, 'forwarded-1280');
    await openChat(alice, 'Crew');
    await openChat(bob, 'Crew');
  });

  it('a place with its coordinates and map link, and a contact card', async () => {
    await alice.page.getByRole('button', { name: 'Attach' }).click();
    await alice.page.getByRole('menuitem', { name: 'Location' }).click();
    await alice.page.getByLabel('Latitude').fill('52.520008');
    await alice.page.getByLabel('Longitude').fill('13.404954');
    await alice.page.getByLabel('Place name (optional)').fill('Cafe Luna');
    await shot(alice, 'place-dialog-1280');
    await alice.page.getByRole('button', { name: 'Share location' }).click();
    const place = bob.page.getByTestId('place').filter({ hasText: 'Cafe Luna' });
    await place.waitFor();
    expect(await place.innerText()).toContain('52.52001, 13.40495');
    expect(await place.getByRole('link', { name: 'Open in OpenStreetMap' }).getAttribute('href')).toBe('https://www.openstreetmap.org/?mlat=52.52001&mlon=13.40495#map=16/52.52001/13.40495');

    await alice.page.getByRole('button', { name: 'Attach' }).click();
    await alice.page.getByRole('menuitem', { name: 'Contact' }).click();
    await alice.page.getByLabel('Name', { exact: true }).fill('Dora the plumber');
    await alice.page.getByLabel('Phone numbers (comma separated)').fill('+49 30 1234567');
    await alice.page.getByLabel('Email addresses (comma separated)').fill('dora@example.org');
    await alice.page.getByRole('button', { name: 'Share contact' }).click();
    const card = bob.page.getByTestId('contact').filter({ hasText: 'Dora the plumber' });
    await card.waitFor();
    expect(await card.getByRole('link', { name: '+49 30 1234567' }).getAttribute('href')).toBe('tel:+49301234567');
    expect(await card.getByRole('link', { name: 'dora@example.org' }).getAttribute('href')).toBe('mailto:dora@example.org');
    await shot(bob, 'conversation-1280');
    await bob.page.setViewportSize({ width: 375, height: 740 });
    await bob.page.waitForTimeout(100); // layout settles; not a timing assertion
    await shot(bob, 'conversation-375');
    await bob.page.setViewportSize({ width: 1280, height: 800 });
  });

  it('a live location from the browser moves with it, and its sender stops it', async () => {
    await alice.context.grantPermissions(['geolocation'], { origin });
    await alice.context.setGeolocation({ latitude: 48.8566, longitude: 2.3522, accuracy: 25 });
    await alice.page.getByRole('button', { name: 'Attach' }).click();
    await alice.page.getByRole('menuitem', { name: 'Location' }).click();
    await alice.page.getByRole('button', { name: 'Use my current location' }).click();
    await expect.poll(() => alice.page.getByLabel('Latitude').inputValue()).toBe('48.856600');
    await alice.page.getByLabel('Share as').selectOption({ label: 'Live for 15 minutes' });
    await alice.page.getByRole('button', { name: 'Share location' }).click();
    const live = (p: Person) => p.page.getByTestId('place').filter({ hasText: 'Live location' }).last();
    await live(bob).getByText(/^Live until /).waitFor();
    expect(await live(bob).innerText()).toContain('48.85660, 2.35220 (±25 m)');
    // Alice walks on: her tab sends the new position (at most every 15 s), Bob's moves.
    await alice.context.setGeolocation({ latitude: 48.8606, longitude: 2.3376, accuracy: 10 });
    await live(bob).getByText('48.86060, 2.33760 (±10 m)').waitFor({ timeout: 40_000 });
    await shot(bob, 'live-location-1280');
    await live(alice).getByRole('button', { name: 'Stop sharing' }).click();
    await live(bob).getByText('Live location ended').waitFor();
    await live(alice).getByText('Live location ended').waitFor();
    expect(await live(alice).getByRole('button', { name: 'Stop sharing' }).count()).toBe(0);
  });

  it('axe finds no serious or critical violations in a conversation with all of it, and a menu open', async () => {
    const audit = async (view: string) => {
      await alice.page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
      const r = await alice.page.evaluate(async () => {
        const res = await (window as unknown as { axe: { run: () => Promise<{ passes: unknown[]; violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }> }> } }).axe.run();
        return { passes: res.passes.length, list: res.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')) })) };
      });
      expect(r.passes, `axe ran its rules on ${view}`).toBeGreaterThan(10);
      expect(r.list.filter((v) => v.impact === 'serious' || v.impact === 'critical'), view).toEqual([]);
    };
    await audit('conversation');
    const b = bubble(alice, 'worth sharing: the recipe');
    await b.hover();
    await b.getByRole('button', { name: /^Message options/ }).click();
    await alice.page.getByRole('menu', { name: 'Message options' }).waitFor();
    await shot(alice, 'menu-1280');
    await audit('message menu');
    await alice.page.keyboard.press('Escape');
    await alice.page.emulateMedia({ colorScheme: 'dark' });
    await alice.page.setViewportSize({ width: 375, height: 740 });
    await alice.page.waitForTimeout(100); // layout settles; not a timing assertion
    await shot(alice, 'conversation-dark-375');
    await audit('conversation, phone, dark');
    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
  });
});
