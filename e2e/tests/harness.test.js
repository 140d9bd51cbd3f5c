// The harness itself, independent of the web UI: the server starts from the binary, Chromium
// renders one of its pages, and the official Python client accepts the owner's key.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { suite } from '../lib/harness.js';
import { API_KEY_RE, parseIni } from '../lib/server.js';

const s = suite('harness');

test('chromium renders /api/v1/server_settings from the running server', s.flow(async () => {
  const { page } = await s.open();
  const resp = await page.goto('/api/v1/server_settings');
  assert.equal(resp.status(), 200);
  const body = JSON.parse(await page.locator('body').innerText());
  assert.equal(body.result, 'success');
  assert.equal(body.realm_uri ?? body.realm_url, s.server.site);
  await s.shot(page, 'server-settings');
}));

test('the official Python client works with the owner key from fetch_api_key', s.flow(async () => {
  const { email, password } = s.server.owner;
  const key = await s.server.fetchApiKey(email, password);
  assert.match(key, API_KEY_RE);

  const zuliprc = `[api]\nemail=${email}\nkey=${key}\nsite=${s.server.site}\n`;
  const { response, httpStatus } = await s.server.pythonCall(zuliprc);
  assert.equal(httpStatus, 200);
  assert.equal(response.result, 'success', JSON.stringify(response));
  assert.equal(response.email, email);

  // The CLI's zuliprc carries the account's own key (the login got a key of its own) and the
  // same site; the client works with it too.
  const cli = parseIni(await s.server.zuliprcText(email)).api;
  assert.deepEqual(cli, { email, key: await s.server.accountKey(email), site: s.server.site });
  assert.notEqual(cli.key, key);
  const account = await s.server.pythonCall(`[api]\nemail=${email}\nkey=${cli.key}\nsite=${s.server.site}\n`);
  assert.equal(account.response.result, 'success', JSON.stringify(account.response));

  const bad = await s.server.pythonCall(`[api]\nemail=${email}\nkey=${'x'.repeat(32)}\nsite=${s.server.site}\n`);
  assert.equal(bad.httpStatus, 401);
  assert.equal(bad.response.result, 'error', JSON.stringify(bad.response));
}));
