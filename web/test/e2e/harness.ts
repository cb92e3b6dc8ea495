// Browser-test harness: a real engine (client-lib/ts's test helper, binary from MAGPIE_BIN)
// serving this app's dist/ on a fixed TCP port (so the page's origin survives an engine
// restart), and Debian's Chromium driven by playwright-core.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { Engine } from '../../../client-lib/ts/test/support/engine.js';

export const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
export const SHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Waits for the binary if another build is still writing it (never builds it here). */
async function waitForBinary(): Promise<void> {
  const bin = process.env.MAGPIE_BIN ?? '/var/tmp/magpie-target/release/magpie';
  process.env.MAGPIE_BIN = bin;
  for (let i = 0; i < 600 && !existsSync(bin); i++) await new Promise((r) => setTimeout(r, 1000));
}

export async function startEngine(): Promise<{ engine: Engine; origin: string }> {
  if (!existsSync(`${DIST}index.html`)) throw new Error(`no built app in ${DIST}: run npm run build first`);
  await waitForBinary();
  const port = await freePort();
  const engine = await Engine.start(['--tcp', `127.0.0.1:${port}`, '--web-dir', DIST]);
  const origin = `http://127.0.0.1:${port}`;
  const res = await fetch(`${origin}/`);
  if (res.status !== 200) throw new Error(`the engine at ${process.env.MAGPIE_BIN} does not serve the web app (${res.status}): ${await res.text()}`);
  return { engine, origin };
}

export async function launch(): Promise<Browser> {
  const executablePath = execFileSync('which', ['chromium']).toString().trim();
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}

export interface Person {
  context: BrowserContext;
  page: Page;
  dialogs: string[];
  errors: string[];
}

export async function person(browser: Browser, origin: string, viewport = { width: 1280, height: 800 }, bypassCSP = false): Promise<Person> {
  const context = await browser.newContext({ viewport, baseURL: origin, bypassCSP });
  const page = await context.newPage();
  const p: Person = { context, page, dialogs: [], errors: [] };
  page.on('dialog', (d) => {
    p.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => p.errors.push(String(e)));
  page.on('console', (m) => {
    // CSP reports a blocked inline script as a console error: that is a payload trying to run.
    if (m.type() === 'error') p.errors.push(m.text());
  });
  await page.goto('/');
  return p;
}

export async function signUp(p: Person, username: string, password = 'correct horse battery'): Promise<void> {
  const page = p.page;
  await page.getByRole('button', { name: 'New here? Create an account' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByRole('navigation', { name: 'Chats' }).waitFor();
}

export async function signIn(p: Person, username: string, password = 'correct horse battery'): Promise<void> {
  const page = p.page;
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Chats' }).waitFor();
}

export async function openChat(p: Person, name: string): Promise<void> {
  await p.page.locator('.chat-item').filter({ has: p.page.locator('.chat-name').getByText(name, { exact: true }) }).first().click();
  await p.page.locator('#conv-title', { hasText: name }).waitFor();
}

export async function say(p: Person, text: string): Promise<void> {
  const box = p.page.getByLabel('Message', { exact: true });
  await box.fill(text);
  await box.press('Enter');
}

/** Creates a group from the chat list's "New group" dialog and waits until it is open. */
export async function createGroup(p: Person, title: string, members: string): Promise<void> {
  await p.page.getByRole('button', { name: 'New group' }).click();
  await p.page.getByLabel('Group name').fill(title);
  await p.page.getByLabel('Members (usernames, comma separated)').fill(members);
  await p.page.getByRole('button', { name: 'Create group' }).click();
  await p.page.locator('#conv-title').getByText(title, { exact: true }).waitFor();
}

/** Waits until a message bubble with exactly this text is in the list. */
export async function sees(p: Person, text: string): Promise<void> {
  await p.page.locator('.msg .text', { hasText: text }).first().waitFor();
}

/** The texts of the message bubbles in the DOM, in order. */
export async function texts(p: Person): Promise<string[]> {
  return p.page.locator('.msg .text').allInnerTexts();
}

export function shotsDir(): string {
  mkdirSync(SHOTS, { recursive: true });
  return SHOTS;
}
