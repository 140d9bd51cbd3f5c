// Per-file set-up for the flows: one `tessera serve` and one headless Chromium per test file,
// a fresh browser context per person, and on failure: screenshots of every open page, the
// CLI transcript and the server log.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { launchBrowser, newPage, screenshot, screenshotAll } from './browser.js';
import { startTessera } from './server.js';

/**
 * Register before/after hooks for this file and return the suite handle:
 *   s.server    the running Tessera (see server.js)
 *   s.browser   the Chromium browser
 *   s.open()    {context, page} in a fresh context (own cookies), closed after the flow
 *   s.shot()    screenshot into artifacts/<prefix>-NN-<name>.png
 *   s.flow(fn)  wraps a test body: `test('title', s.flow(async (t) => ...))`; on failure it
 *               dumps diagnostics, and it fails on uncaught page errors. (`test` is called in
 *               the test file itself so that reporters name that file.)
 */
export function suite(prefix) {
  const s = {
    server: null,
    browser: null,
    contexts: [],
    failed: false,
    shots: 0,
  };

  before(async () => {
    s.server = await startTessera();
    s.browser = await launchBrowser();
  });

  after(async () => {
    for (const ctx of s.contexts) await ctx.close().catch(() => {});
    if (s.browser) await s.browser.close().catch(() => {});
    if (s.server) {
      await s.server.stop();
      if (s.failed) console.error(`tessera e2e: kept ${s.server.workdir} for inspection`);
      else s.server.cleanup();
    }
  });

  s.open = async (opts) => {
    const { context, page } = await newPage(s.browser, s.server, opts);
    s.contexts.push(context);
    return { context, page };
  };

  s.shot = async (page, name) => {
    s.shots += 1;
    return screenshot(page, `${prefix}-${String(s.shots).padStart(2, '0')}-${name}`);
  };

  s.flow = (fn) => async (t) => {
    const title = t.name;
    const first = s.contexts.length;
    try {
      await fn(t);
      const errors = s.contexts.slice(first).flatMap((c) => c.pageErrors);
      assert.deepEqual(errors, [], 'uncaught JavaScript errors in the pages');
    } catch (e) {
      s.failed = true;
      const slug = title.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60);
      const files = await screenshotAll(s.contexts.slice(first), `${prefix}-FAILED-${slug}`);
      const urls = s.contexts
        .slice(first)
        .flatMap((c) => c.pages().map((p) => p.url()));
      console.error(
        `\n===== ${prefix}: "${title}" failed =====\n` +
          `open pages: ${urls.join(', ') || '(none)'}\n` +
          `screenshots: ${files.join(', ') || '(none)'}\n` +
          (s.server ? s.server.diagnostics() : '(server not started)') +
          `\n===== end of diagnostics =====\n`,
      );
      throw e;
    } finally {
      for (const ctx of s.contexts.splice(first)) await ctx.close().catch(() => {});
    }
  };

  return s;
}
