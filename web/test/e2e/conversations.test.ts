// Groups and channels in Debian's Chromium against a real engine: a channel found by its handle
// and joined (the subscriber's composer gives way to a note), an invite link used by someone
// signed out (joining after sign-up), promote and demote with their system lines, pin / mute /
// archive from the list showing at once in a second browser of the same person, a broadcast
// list arriving in each recipient's direct chat, and screenshots of the new screens.
import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { Engine } from '../../../client-lib/ts/test/support/engine.js';
import { launch, openChat, person, say, sees, shotsDir, signIn, signUp, startEngine, type Person } from './harness.js';

const require = createRequire(import.meta.url);
const run = Math.random().toString(36).slice(2, 7);
const ALICE = `alice${run}`;
const BOB = `bob${run}`;
const CAROL = `carol${run}`;
const HANDLE = `news_${run}`;

let engine: Engine;
let origin: string;
let browser: Browser;
let alice: Person;
let bob: Person;
let aliceTwo: Person;

beforeAll(async () => {
  ({ engine, origin } = await startEngine());
  browser = await launch();
  alice = await person(browser, origin);
  bob = await person(browser, origin);
  await signUp(alice, ALICE);
  await signUp(bob, BOB);
});

// A failed test must not leave a dialog over the next one.
afterEach(async () => {
  for (const p of [alice, bob]) if ((await p.page.getByRole('dialog').count()) > 0) await p.page.keyboard.press('Escape');
});

afterAll(async () => {
  await browser?.close();
  await engine?.dispose();
});

const row = (p: Person, name: string) => p.page.locator('.chat-row').filter({ has: p.page.locator('.chat-name').getByText(name, { exact: true }) });
const system = (p: Person, text: string) => p.page.locator('.system', { hasText: text }).first().waitFor();

async function menu(p: Person, chat: string, item: string): Promise<void> {
  await p.page.getByRole('button', { name: `Options for ${chat}` }).click();
  await p.page.getByRole('menuitem', { name: item }).click();
}

describe('groups and channels in the browser', () => {
  it('a channel is created with a handle, found by it and joined; subscribers cannot post', async () => {
    await alice.page.getByRole('button', { name: 'New channel' }).click();
    await alice.page.getByLabel('Channel name').fill('Daily News');
    await alice.page.getByLabel('Description (optional)').fill('The news, every morning.');
    await alice.page.getByLabel('Public handle (optional)').fill(HANDLE);
    await alice.page.locator('.more-settings summary').click();
    await alice.page.screenshot({ path: `${shotsDir()}new-channel-1280.png` });
    await alice.page.getByRole('button', { name: 'Create channel' }).click();
    await alice.page.locator('#conv-title', { hasText: 'Daily News' }).waitFor();
    await expect.poll(() => alice.page.getByTestId('conv-sub').textContent()).toContain('1 subscriber');
    await say(alice, 'Good morning, subscribers');
    await sees(alice, 'Good morning, subscribers');

    // A handle nobody has: said so.
    await bob.page.getByRole('button', { name: 'Find by handle' }).click();
    await bob.page.getByLabel('Handle').fill(`nosuch_${run}`);
    await bob.page.getByRole('button', { name: 'Find', exact: true }).click();
    await bob.page.getByRole('alert').getByText(`No public group or channel is called @nosuch_${run}.`).waitFor();
    await bob.page.getByRole('button', { name: 'Cancel' }).click();
    // Bob finds it by its handle, sees a preview and joins with one click.
    await bob.page.getByRole('button', { name: 'Find by handle' }).click();
    await bob.page.getByLabel('Handle').fill(`@${HANDLE}`);
    await bob.page.getByRole('button', { name: 'Find', exact: true }).click();
    const preview = bob.page.getByTestId('join-preview');
    await preview.getByText('Daily News').first().waitFor();
    await expect.poll(() => preview.textContent()).toContain('1 subscriber');
    await bob.page.screenshot({ path: `${shotsDir()}join-preview-1280.png` });
    await bob.page.getByRole('button', { name: 'Join channel' }).click();
    await bob.page.locator('#conv-title', { hasText: 'Daily News' }).waitFor();
    await sees(bob, 'Good morning, subscribers');
    await expect.poll(() => bob.page.getByTestId('conv-sub').textContent()).toContain('2 subscribers');
    // No composer for a subscriber: a note instead.
    await bob.page.getByTestId('read-only').getByText('Only admins post in this channel.').waitFor();
    expect(await bob.page.getByLabel('Message', { exact: true }).count()).toBe(0);
    await say(alice, 'Second edition');
    await sees(bob, 'Second edition');
    await bob.page.screenshot({ path: `${shotsDir()}channel-subscriber-1280.png` });
    await bob.page.setViewportSize({ width: 375, height: 740 });
    await bob.page.waitForTimeout(100); // layout settles; not a timing assertion
    await bob.page.screenshot({ path: `${shotsDir()}channel-subscriber-375.png` });
    await bob.page.setViewportSize({ width: 1280, height: 800 });
  });

  it('an invite link brings in someone signed out, after they sign up; promote and demote', async () => {
    await alice.page.getByRole('button', { name: 'New group' }).click();
    await alice.page.getByLabel('Group name').fill('Book Club');
    await alice.page.getByLabel('Members (usernames, comma separated)').fill(BOB);
    await alice.page.getByRole('button', { name: 'Create group' }).click();
    await alice.page.locator('#conv-title', { hasText: 'Book Club' }).waitFor();
    const details = alice.page.getByRole('complementary', { name: 'Details' });
    await details.getByLabel('Uses (0 = unlimited)').fill('5');
    await details.getByRole('button', { name: 'Create link' }).click();
    const link = await details.locator('.invite-url').first().inputValue();
    expect(link).toMatch(new RegExp(`^${origin.replace(/[.]/g, '\\.')}/#/join/[A-Za-z0-9_-]{22}$`));
    await expect.poll(() => details.getByTestId('invite').first().textContent()).toContain('0 of 5 used');
    await alice.page.screenshot({ path: `${shotsDir()}details-group-1280.png` });

    // Carol opens the link signed out: the sign-in page says so; she signs up and joins.
    const carol = await person(browser, origin);
    await carol.page.goto(link);
    await carol.page.getByText('Sign in or create an account to join the chat you were invited to.').waitFor();
    await signUp(carol, CAROL);
    const preview = carol.page.getByTestId('join-preview');
    await preview.getByText('Book Club').first().waitFor();
    await expect.poll(() => preview.textContent()).toContain('2 members');
    await carol.page.getByRole('button', { name: 'Join group' }).click();
    await carol.page.locator('#conv-title', { hasText: 'Book Club' }).waitFor();
    await system(alice, `${CAROL} joined via invite link`);
    await system(carol, 'You joined via invite link');
    await say(carol, 'Thanks for the invite');
    await sees(alice, 'Thanks for the invite');
    await expect.poll(() => details.getByTestId('invite').first().textContent()).toContain('1 of 5 used');

    // Alice makes Carol an admin, then takes it back.
    await details.getByRole('button', { name: `Make admin: ${CAROL}` }).click();
    await system(alice, `You made ${CAROL} an admin`);
    await system(carol, `${ALICE} made you an admin`);
    await details.locator('.member', { hasText: CAROL }).locator('.role-admin').waitFor();
    await details.getByRole('button', { name: `Dismiss admin: ${CAROL}` }).click();
    await system(carol, `${ALICE} removed you as admin`);

    // The owner cannot just leave with no admin to take over: the error says what to do.
    await details.getByRole('button', { name: 'Leave group' }).click();
    await alice.page.getByTestId('details-error').getByText('You own this chat').waitFor();
    // Revoking the link: it shows as revoked.
    await details.getByRole('button', { name: 'Revoke', exact: true }).first().click();
    await expect.poll(() => details.getByTestId('invite').first().textContent()).toContain('revoked');
    // The details on a phone: an overlay over the conversation.
    await alice.page.setViewportSize({ width: 375, height: 740 });
    await alice.page.getByRole('button', { name: 'Chat details' }).click();
    await alice.page.waitForTimeout(100); // layout settles; not a timing assertion
    await alice.page.screenshot({ path: `${shotsDir()}details-group-375.png` });
    await alice.page.emulateMedia({ colorScheme: 'dark' });
    await alice.page.screenshot({ path: `${shotsDir()}details-group-375-dark.png` });
    await alice.page.emulateMedia({ colorScheme: 'light' });
    await alice.page.getByRole('button', { name: 'Close details' }).click();
    await alice.page.setViewportSize({ width: 1280, height: 800 });
    // Ownership to Carol, confirmed in place; Alice stays an admin.
    await details.getByRole('button', { name: `Make owner: ${CAROL}` }).click();
    await details.getByRole('group', { name: 'Confirm transfer' }).getByRole('button', { name: 'Transfer ownership' }).click();
    await system(alice, `Ownership transferred to ${CAROL}`);
    await system(carol, 'Ownership transferred to you');
    await expect.poll(() => details.locator('.info .sub').first().textContent()).toContain('you are an admin');
    await details.locator('.member', { hasText: CAROL }).locator('.role-owner').waitFor();
    await carol.context.close();
  });

  it('ask to join: the request waits for an admin, who approves it', async () => {
    const quiet = `quiet_${run}`;
    await alice.page.getByRole('button', { name: 'New group' }).click();
    await alice.page.getByLabel('Group name').fill('Quiet Club');
    await alice.page.getByLabel('Public handle (optional)').fill(quiet);
    await alice.page.getByRole('dialog').locator('.more-settings summary').click();
    await alice.page.getByRole('dialog').getByLabel('An admin approves people joining by link or handle').check();
    await alice.page.getByRole('button', { name: 'Create group' }).click();
    await alice.page.locator('#conv-title', { hasText: 'Quiet Club' }).waitFor();

    await bob.page.getByRole('button', { name: 'Find by handle' }).click();
    await bob.page.getByLabel('Handle').fill(quiet);
    await bob.page.getByRole('button', { name: 'Find', exact: true }).click();
    await bob.page.getByText('An admin approves new members: joining sends a request.').waitFor();
    await bob.page.getByRole('button', { name: 'Ask to join' }).click();
    await bob.page.getByText('Request sent. You will be let in once an admin approves it.').waitFor();
    await bob.page.getByRole('button', { name: 'Close', exact: true }).click();

    // Alice comes back to the chat: the count shows in the header and the details.
    await openChat(alice, 'Daily News');
    await openChat(alice, 'Quiet Club');
    await alice.page.getByTestId('pending-requests').getByText('1 join request').waitFor();
    const details = alice.page.getByRole('complementary', { name: 'Details' });
    await details.getByRole('button', { name: `Approve ${BOB}` }).waitFor();
    await alice.page.screenshot({ path: `${shotsDir()}join-requests-1280.png` });
    await details.getByRole('button', { name: `Approve ${BOB}` }).click();
    await system(alice, `${BOB} joined (approved by you)`);
    await alice.page.getByTestId('pending-requests').waitFor({ state: 'detached' });
    await openChat(bob, 'Quiet Club');
    await bob.page.getByLabel('Message', { exact: true }).waitFor();
  });

  it('settings and info: admins-only posting hides a member’s composer; edited info reaches everyone', async () => {
    await openChat(alice, 'Quiet Club');
    await openChat(bob, 'Quiet Club');
    const details = alice.page.getByRole('complementary', { name: 'Details' });
    await details.locator('.more-settings summary').click();
    await details.getByLabel('Who may post').selectOption('admins');
    await details.getByRole('button', { name: 'Save settings' }).click();
    await system(alice, 'You changed the settings');
    await bob.page.getByTestId('read-only').getByText('Only admins can send messages in this group.').waitFor();
    expect(await bob.page.getByLabel('Message', { exact: true }).count()).toBe(0);
    await details.getByRole('button', { name: 'Edit info' }).click();
    await details.getByLabel('Name', { exact: true }).fill('Quiet Reading Club');
    await details.getByLabel('Description', { exact: true }).fill('Quiet, please.');
    await details.getByRole('button', { name: 'Save', exact: true }).click();
    await system(bob, `${ALICE} changed the title to “Quiet Reading Club”, changed the description`);
    await bob.page.locator('#conv-title', { hasText: 'Quiet Reading Club' }).waitFor();
    await bob.page.getByRole('complementary', { name: 'Details' }).getByText('Quiet, please.').waitFor();
    // Back to everyone posting: Bob's composer returns.
    await details.getByLabel('Who may post').selectOption('members');
    await details.getByRole('button', { name: 'Save settings' }).click();
    await bob.page.getByLabel('Message', { exact: true }).waitFor();
  });

  it('pin, mute and archive from the list show at once in a second browser of the same person', async () => {
    await alice.page.getByRole('button', { name: 'New chat' }).click();
    await alice.page.getByLabel('Username', { exact: true }).fill(BOB);
    await alice.page.getByRole('button', { name: 'Start chat' }).click();
    await alice.page.locator('#conv-title', { hasText: BOB }).waitFor();
    await say(alice, 'hi bob');
    await sees(alice, 'hi bob');
    aliceTwo = await person(browser, origin);
    await signIn(aliceTwo, ALICE);
    await row(aliceTwo, 'Book Club').waitFor();
    await row(aliceTwo, 'Daily News').waitFor();
    await row(aliceTwo, BOB).waitFor();

    await menu(alice, 'Daily News', 'Pin to top');
    await row(alice, 'Daily News').getByTestId('pinned').waitFor();
    await row(aliceTwo, 'Daily News').getByTestId('pinned').waitFor();
    expect(await aliceTwo.page.locator('.chat-row .chat-name').first().textContent()).toContain('Daily News');

    // Pinning puts a chat on top of the pinned ones; Move up reorders them on both devices.
    await menu(alice, BOB, 'Pin to top');
    await expect.poll(() => aliceTwo.page.locator('.chat-row .chat-name').first().textContent()).toBe(BOB);
    await menu(alice, 'Daily News', 'Move up');
    await expect.poll(() => aliceTwo.page.locator('.chat-row .chat-name').first().textContent()).toContain('Daily News');
    await menu(alice, BOB, 'Unpin');
    await row(aliceTwo, BOB).getByTestId('pinned').waitFor({ state: 'detached' });

    await menu(alice, 'Book Club', 'Mute always');
    await row(aliceTwo, 'Book Club').getByTestId('muted').waitFor();

    // By keyboard: the context-menu key on the chat, arrows, Enter.
    await row(alice, BOB).first().locator('.chat-item').focus();
    await alice.page.keyboard.press('Shift+F10');
    await alice.page.getByRole('menu').waitFor();
    const items = await alice.page.getByRole('menuitem').allTextContents();
    for (let i = 0; i < items.indexOf('Archive'); i++) await alice.page.keyboard.press('ArrowDown');
    await alice.page.keyboard.press('Enter');
    await row(alice, BOB).waitFor({ state: 'detached' });
    await row(aliceTwo, BOB).waitFor({ state: 'detached' });
    await aliceTwo.page.getByRole('button', { name: /Archived/ }).click();
    await row(aliceTwo, BOB).waitFor();
    await aliceTwo.page.screenshot({ path: `${shotsDir()}archived-1280.png` });
    await menu(aliceTwo, BOB, 'Unarchive');
    await row(alice, BOB).waitFor();
    await aliceTwo.page.getByRole('button', { name: '← Back to chats' }).click();

    // Mark unread: a dot until opened.
    await menu(alice, 'Book Club', 'Mark as unread');
    await row(alice, 'Book Club').locator('.unread.dot').waitFor();
    await row(aliceTwo, 'Book Club').getByTestId('unread').waitFor();

    // After a reload the state comes from the server.
    await aliceTwo.page.reload();
    await row(aliceTwo, 'Daily News').getByTestId('pinned').waitFor();
    await row(aliceTwo, 'Book Club').getByTestId('muted').waitFor();
    await alice.page.screenshot({ path: `${shotsDir()}list-states-1280.png` });
    await alice.page.setViewportSize({ width: 375, height: 740 });
    await alice.page.getByRole('button', { name: 'Back to chats' }).click().catch(() => {});
    await alice.page.waitForTimeout(100); // layout settles; not a timing assertion
    await alice.page.screenshot({ path: `${shotsDir()}list-states-375.png` });
    await alice.page.setViewportSize({ width: 1280, height: 800 });
    await alice.page.getByRole('button', { name: 'Options for Daily News' }).click();
    await alice.page.getByRole('menu').waitFor();
    await alice.page.screenshot({ path: `${shotsDir()}chat-menu-1280.png` });
    // Esc closes the menu and gives focus back to its button.
    await alice.page.keyboard.press('Escape');
    await alice.page.getByRole('menu').waitFor({ state: 'detached' });
    expect(await alice.page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Options for Daily News');
    await menu(alice, 'Daily News', 'Unpin');
    await row(aliceTwo, 'Daily News').getByTestId('pinned').waitFor({ state: 'detached' });
  });

  it('a broadcast list sends into each recipient’s direct chat', async () => {
    await alice.page.getByRole('button', { name: 'Broadcast' }).click();
    await alice.page.getByRole('button', { name: 'New list' }).click();
    await alice.page.getByLabel('List name').fill('Friends');
    // Carol signed up in the invite test.
    await alice.page.getByLabel('Recipients (usernames, comma separated)').fill(`${BOB}, ${CAROL}`);
    await alice.page.getByRole('button', { name: 'Save list' }).click();
    await alice.page.getByRole('button', { name: 'Send to Friends' }).click();
    await alice.page.getByLabel('Message to Friends').fill('Picnic on Saturday?');
    await alice.page.getByRole('button', { name: 'Send to 2 people' }).click();
    await alice.page.getByText(`✓ Sent to ${BOB}`).waitFor();
    await alice.page.getByText(`✓ Sent to ${CAROL}`).waitFor();
    await alice.page.screenshot({ path: `${shotsDir()}broadcast-1280.png` });
    await alice.page.setViewportSize({ width: 375, height: 740 });
    await alice.page.waitForTimeout(100); // layout settles; not a timing assertion
    await alice.page.screenshot({ path: `${shotsDir()}broadcast-375.png` });
    await alice.page.setViewportSize({ width: 1280, height: 800 });
    await alice.page.getByRole('button', { name: 'Close', exact: true }).click();
    // Bob gets it in his direct chat with Alice.
    await openChat(bob, ALICE);
    await sees(bob, 'Picnic on Saturday?');
    expect(alice.errors.filter((e) => !/WebSocket|net::/.test(e))).toEqual([]);
  });

  it('axe finds no serious or critical violations in the new screens', async () => {
    const axePath = require.resolve('axe-core/axe.min.js');
    // As in app.test.ts: only this context bypasses the CSP, so axe can be injected.
    const p = await person(browser, origin, { width: 1440, height: 900 }, true);
    const audit = async (view: string) => {
      await p.page.addScriptTag({ path: axePath });
      const r = await p.page.evaluate(async () => {
        const res = await (window as unknown as { axe: { run: () => Promise<{ passes: unknown[]; violations: Array<{ id: string; impact: string; nodes: Array<{ html: string }> }> }> } }).axe.run();
        return { passes: res.passes.length, list: res.violations.map((v) => ({ id: v.id, impact: v.impact, html: v.nodes.map((n) => n.html).slice(0, 3) })) };
      });
      expect(r.passes, `axe ran its rules on ${view}`).toBeGreaterThan(10);
      expect(r.list.filter((v) => v.impact === 'serious' || v.impact === 'critical'), view).toEqual([]);
    };
    await signIn(p, ALICE);
    await openChat(p, 'Book Club');
    await p.page.getByRole('complementary', { name: 'Details' }).locator('.more-settings summary').click();
    await audit('group with details, settings open');
    await p.page.getByRole('button', { name: 'Options for Book Club' }).click();
    await audit('chat menu');
    await p.page.keyboard.press('Escape');
    await openChat(p, 'Daily News');
    await audit('channel, owner');
    await p.page.getByRole('button', { name: 'Broadcast' }).click();
    await p.page.getByRole('button', { name: 'Send to Friends' }).click();
    await audit('broadcast dialog');
    await p.page.keyboard.press('Escape');
    await p.page.getByRole('button', { name: 'New channel' }).click();
    await p.page.getByRole('dialog').locator('.more-settings summary').click();
    await audit('new channel dialog');
    await p.page.emulateMedia({ colorScheme: 'dark' });
    await audit('new channel dialog, dark');
    await p.context.close();
  });
});
