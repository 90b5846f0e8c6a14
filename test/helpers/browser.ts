import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ensureBuilt } from './cli.js';
import type { TestHub } from './hub.js';

/** Debian's Chromium (`apt-get install chromium`); `CHROMIUM_PATH` points elsewhere on other systems. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where tests leave screenshots (gitignored). */
export const ARTIFACTS_DIR = path.resolve(import.meta.dirname, '../../test-artifacts');

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * Starts the real browser; fails with the command to run when it is not installed. Builds first when the build
 * is stale: the dashboard the hub serves is compiled into public/js/ by `npm run build`.
 */
export async function launchBrowser(): Promise<Browser> {
  await ensureBuilt();
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(`No Chromium at ${CHROMIUM_PATH}: run "apt-get install -y chromium" or set CHROMIUM_PATH.`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ARGS, timeout: 60_000 });
}

export interface DashboardPage {
  page: Page;
  /** Browser console errors and uncaught exceptions, to assert there are none. */
  errors: string[];
  /** Every `alert`/`confirm`/`prompt` the page opened. */
  dialogs: string[];
  close(): Promise<void>;
}

/** Opens the dashboard of `hub` in a fresh context and signs in with its admin token through the form. */
export async function openDashboard(browser: Browser, hub: TestHub, viewport = { width: 1440, height: 1000 }): Promise<DashboardPage> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await page.goto(hub.url);
  await page.locator('#login input[name=token]').fill(hub.adminToken);
  await page.locator('#login button[type=submit]').click();
  await page.locator('#conn.conn-live').waitFor();
  return { page, errors, dialogs, close: () => context.close() };
}

export function artifactPath(name: string): string {
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return path.join(ARTIFACTS_DIR, name);
}
