// Assertions shared by the flows.

import assert from 'node:assert/strict';
import { API_KEY_RE, parseIni } from './server.js';

/** A downloaded zuliprc: named `zuliprc`, an [api] section with email, key and site. */
export function assertZuliprc({ filename, text }, { email, key, site }) {
  assert.equal(filename, 'zuliprc', 'the download is named zuliprc');
  const ini = parseIni(text);
  assert.ok(ini.api, `zuliprc has an [api] section:\n${text}`);
  assert.equal(ini.api.email, email, 'zuliprc email');
  assert.match(ini.api.key, API_KEY_RE, 'zuliprc key is 32 base62 characters');
  if (key !== undefined) assert.equal(ini.api.key, key, 'zuliprc key is the one shown');
  assert.equal(ini.api.site, site, 'zuliprc site is the server');
  return ini.api;
}

/** What the official client returns for a key that no longer works (HTTP Basic path). */
export function assertKeyRefused({ response, httpStatus }) {
  assert.equal(httpStatus, 401, `HTTP status for a stale key: ${JSON.stringify(response)}`);
  assert.equal(response.result, 'error', JSON.stringify(response));
  assert.equal(response.code, 'UNAUTHORIZED', JSON.stringify(response));
  assert.equal(response.msg, 'Invalid API key', JSON.stringify(response));
}

/** get_profile succeeded for this email. */
export function assertProfile({ response, httpStatus }, email) {
  assert.equal(httpStatus, 200, JSON.stringify(response));
  assert.equal(response.result, 'success', JSON.stringify(response));
  assert.equal(response.email, email);
  return response;
}

/** The page does not scroll sideways at its current (narrow) width. */
export async function assertNoHorizontalOverflow(page, width) {
  const sw = await page.evaluate(() => document.scrollingElement.scrollWidth);
  assert.ok(sw <= width + 1, `page is ${sw}px wide in a ${width}px viewport (${page.url()})`);
}

/** An error slot (which may always be in the page) shows nothing. */
export async function assertNoErrorShown(page, selector) {
  const loc = page.locator(selector);
  if ((await loc.count()) === 0 || !(await loc.isVisible())) return;
  const text = (await loc.innerText()).trim();
  assert.equal(text, '', `${selector} shows an error`);
}
