// Headless Debian Chromium through playwright-core, plus the helpers every flow uses:
// contexts with clipboard access and downloads, signing in through the /login/ form,
// screenshots into e2e/artifacts/, and reading downloads.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { E2E_DIR } from './server.js';

export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
export const ARTIFACTS = process.env.E2E_ARTIFACTS || path.join(E2E_DIR, 'artifacts');
/** Default wait for selectors, navigations and events. */
export const TIMEOUT_MS = 15_000;

export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 30_000,
  });
}

/**
 * A fresh context (its own cookies) with clipboard access and downloads; every page opened in
 * it records uncaught page errors in `context.pageErrors`.
 */
export async function newContext(browser, server, { width = 1280, height = 900 } = {}) {
  const context = await browser.newContext({
    baseURL: server.site,
    viewport: { width, height },
    permissions: ['clipboard-read', 'clipboard-write'],
    acceptDownloads: true,
  });
  context.setDefaultTimeout(TIMEOUT_MS);
  context.setDefaultNavigationTimeout(TIMEOUT_MS);
  context.pageErrors = [];
  context.on('page', (page) => {
    page.on('pageerror', (e) => context.pageErrors.push(`${page.url()}: ${e.message}`));
  });
  // Nothing in these tests may leave the loopback server.
  await context.route(
    (url) => !['127.0.0.1', 'localhost'].includes(url.hostname) && url.protocol.startsWith('http'),
    (route) => route.abort('blockedbyclient'),
  );
  return context;
}

/** A new page in a new context; returns {context, page}. */
export async function newPage(browser, server, opts) {
  const context = await newContext(browser, server, opts);
  const page = await context.newPage();
  return { context, page };
}

export function pathOf(page) {
  return new URL(page.url()).pathname;
}

/** Wait until the page's path is exactly `p` (query string ignored). */
export async function waitForPath(page, p) {
  await page.waitForURL((url) => url.pathname === p, { timeout: TIMEOUT_MS });
}

/**
 * Sign in through the /login/ form as a person would. `next` is appended as ?next=; `expect`
 * is the path to wait for afterwards (default the settings landing page; null: don't wait).
 */
export async function signIn(page, email, password, { next, expect = '/settings/account-and-privacy' } = {}) {
  const url = next === undefined ? '/login/' : `/login/?next=${encodeURIComponent(next)}`;
  await page.goto(url);
  await page.locator('#login_form').waitFor({ state: 'visible' });
  await page.fill('#id_username', email);
  await page.fill('#id_password', password);
  await page.click('#login_button');
  if (expect !== null) await waitForPath(page, expect);
}

/**
 * Save a PNG as artifacts/<name>.png (name sanitised); returns the path. The whole page, unless
 * a dialog is open: then the viewport, as a person sees it (a full-page shot would draw the
 * modal's backdrop over only the scrolled-to part of the page).
 */
export async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '-');
  const file = path.join(ARTIFACTS, `${safe}.png`);
  const modal = (await page.locator('dialog[open]').count()) > 0;
  await page.screenshot({ path: file, fullPage: !modal });
  return file;
}

/** Screenshot every open page of the given contexts (used when a test fails). */
export async function screenshotAll(contexts, prefix) {
  const files = [];
  let i = 0;
  for (const ctx of contexts) {
    if (!ctx) continue;
    for (const page of ctx.pages()) {
      i += 1;
      try {
        files.push(await screenshot(page, `${prefix}-${i}`));
      } catch {
        /* page or browser already gone */
      }
    }
  }
  return files;
}

/** Click `selector` and return the download it starts: {download, filename, text}. */
export async function clickDownload(page, selector) {
  await page.locator(selector).waitFor({ state: 'visible' });
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: TIMEOUT_MS }),
    page.click(selector),
  ]);
  const failure = await download.failure();
  if (failure) throw new Error(`download from ${selector} failed: ${failure}`);
  const file = await download.path();
  const text = await fsp.readFile(file, 'utf8');
  return { download, filename: download.suggestedFilename(), text };
}

export async function readClipboard(page) {
  return page.evaluate(() => navigator.clipboard.readText());
}

/** Put something else on the clipboard so a later read proves a fresh copy. */
export async function clearClipboard(page) {
  await page.evaluate(() => navigator.clipboard.writeText('(clipboard cleared by test)'));
}

/** The id of the focused element. */
export async function activeId(page) {
  return page.evaluate(() => document.activeElement?.id ?? '');
}

/**
 * Wait until the element's text (an input's value) matches `matches` (a RegExp) and differs
 * from `not` (a string); returns the trimmed text. Runs in the page, no polling sleeps.
 */
export async function waitForText(page, selector, { matches = /[\s\S]/, not = null } = {}) {
  try {
    const handle = await page.waitForFunction(
      ({ selector, source, flags, not }) => {
        const el = document.querySelector(selector);
        if (!el) return false;
        const raw = el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement ? el.value : el.textContent;
        const text = (raw ?? '').trim();
        return new RegExp(source, flags).test(text) && text !== not ? text : false;
      },
      { selector, source: matches.source, flags: matches.flags, not },
      { timeout: TIMEOUT_MS },
    );
    return await handle.jsonValue();
  } catch (e) {
    const last = await page
      .locator(selector)
      .evaluate((el) => ('value' in el && el.tagName !== 'BUTTON' ? el.value : el.textContent), undefined, { timeout: 1000 })
      .catch(() => '(element not found)');
    throw new Error(
      `${selector} never showed text matching ${matches}${not === null ? '' : ` other than ${JSON.stringify(not)}`}; ` +
        `last seen: ${JSON.stringify(last)} (${e.message.split('\n')[0]})`,
    );
  }
}

/** Horizontal overflow check for narrow viewports. */
export async function scrollWidth(page) {
  return page.evaluate(() => document.scrollingElement.scrollWidth);
}
