// Settings → Account & privacy → Devices: the owner's phone (a scripted Zulip mobile app that
// logged in with fetch_api_key and registered an Android push token), a Python script using
// the key, and two signed-in browsers are listed; one other browser can be signed out;
// "Log out everywhere" (password confirmed) ends all of them but this browser. Then the
// change-password modal's "Also generate a new API key" option logs out the API clients and
// the other browsers.

import assert from 'node:assert/strict';
import { signIn, waitForPath, waitForText } from '../lib/browser.js';
import { test } from 'node:test';
import { suite } from '../lib/harness.js';
import { API_KEY_RE } from '../lib/server.js';

const s = suite('devices');
const MOBILE_UA = 'ZulipMobile/27.200 (Android 14)';
const PYTHON_UA = 'ZulipPython/0.9.1';
const DEVICES = '/settings/account-and-privacy';

/** A scripted Zulip mobile app: fetch_api_key, then an Android push registration. */
async function mobileLogin(email, password, fcmToken) {
  const r = await s.server.http('POST', '/api/v1/fetch_api_key', {
    form: { username: email, password },
    headers: { 'User-Agent': MOBILE_UA },
  });
  assert.equal(r.status, 200, `fetch_api_key as the mobile app: HTTP ${r.status} ${r.text}`);
  const key = r.json.api_key;
  assert.match(key, API_KEY_RE);
  const push = await s.server.http('POST', '/api/v1/users/me/android_gcm_reg_id', {
    auth: { email, key },
    form: { token: fcmToken },
    headers: { 'User-Agent': MOBILE_UA },
  });
  assert.equal(push.status, 200, `android_gcm_reg_id: HTTP ${push.status} ${push.text}`);
  const reg = await s.server.http('POST', '/api/v1/register', {
    auth: { email, key },
    form: { event_types: '["message"]' },
    headers: { 'User-Agent': MOBILE_UA },
  });
  assert.equal(reg.status, 200, `register as the mobile app: HTTP ${reg.status} ${reg.text}`);
  return key;
}

/** GET /api/v1/users/me as a Python script would; returns the HTTP response. */
async function pythonMe(email, key) {
  return s.server.http('GET', '/api/v1/users/me', {
    auth: { email, key },
    headers: { 'User-Agent': PYTHON_UA },
  });
}

function assertRefused(r, what) {
  assert.equal(r.status, 401, `${what}: the old key is refused (HTTP ${r.status} ${r.text})`);
  assert.equal(r.json?.code, 'UNAUTHORIZED', r.text);
  assert.equal(r.json?.msg, 'Invalid API key', r.text);
}

/** The session id of this browser, read from its own Devices section. */
async function ownSessionId(page) {
  await page.goto(DEVICES);
  await waitForPath(page, DEVICES);
  const id = await page.locator('#web_sessions li.web_session:has(#this_session)').getAttribute('data-session-id');
  assert.match(id ?? '', /^\d+$/, 'this browser has a session row');
  return id;
}

/** Reloading the settings page of a signed-out browser lands on the login form. */
async function assertSignedOut(page, what) {
  await page.goto(DEVICES);
  try {
    await waitForPath(page, '/login/');
  } catch {
    assert.fail(`${what}: reloading ${DEVICES} stayed on ${page.url()}`);
  }
  await page.locator('#login_form').waitFor({ state: 'visible' });
}

test('the Devices section lists every app, phone and browser; Log out everywhere ends them', s.flow(async () => {
  const { email, password } = s.server.owner;
  const fcmToken = 'fcm-e2e-devices-0123456789abcdef';

  // The owner's scripted clients.
  const key = await mobileLogin(email, password, fcmToken);
  const me = await pythonMe(email, key);
  assert.equal(me.status, 200, `users/me as ZulipPython: ${me.text}`);

  // A second and a third browser, signed in as the owner.
  const { page: other } = await s.open();
  await signIn(other, email, password);
  const { page: third } = await s.open();
  await signIn(third, email, password);
  const thirdId = await ownSessionId(third);

  // The first browser: Account & privacy.
  const { page } = await s.open();
  await signIn(page, email, password);
  const section = page.locator('section#devices_section');
  await section.waitFor({ state: 'visible' });
  assert.match(await page.innerText('#devices_heading'), /Devices/);

  const clients = await page.locator('#api_clients li.api_client').evaluateAll((els) => els.map((e) => e.dataset.client));
  assert.ok(clients.includes('ZulipMobile'), `ZulipMobile among the API clients: ${JSON.stringify(clients)}`);
  assert.ok(clients.includes('ZulipPython'), `ZulipPython among the API clients: ${JSON.stringify(clients)}`);
  const pyRow = page.locator('#api_clients li.api_client[data-client="ZulipPython"]');
  assert.match(await pyRow.innerText(), /last used .* from 127\.0\.0\.1/);
  assert.match(await pyRow.innerText(), /first seen/);

  const phones = page.locator('#mobile_devices li.mobile_device');
  assert.equal(await phones.count(), 1, 'one push registration');
  assert.match(await phones.first().innerText(), /Android/);
  assert.match(await phones.first().innerText(), new RegExp(fcmToken.slice(0, 8)));
  assert.equal(await page.locator('#no_mobile_devices').count(), 0);

  const sessions = page.locator('#web_sessions li.web_session');
  assert.equal(await sessions.count(), 3, 'three signed-in browsers');
  assert.equal(await page.locator('#this_session').count(), 1);
  assert.equal((await page.innerText('#this_session')).trim(), 'This browser');
  const mine = page.locator('#web_sessions li.web_session:has(#this_session)');
  assert.equal(await mine.locator('button.sign_out_session').count(), 0, 'no Sign out button for this browser');
  assert.equal(await page.locator('#web_sessions li.web_session:not(:has(#this_session)) button.sign_out_session').count(), 2);
  assert.equal(await page.isChecked('#enable_login_emails'), true, 'new-login emails are on by default');
  await section.scrollIntoViewIfNeeded();
  await s.shot(page, 'devices-listed');

  // Sign out the third browser from here.
  await page.click(`#web_sessions li.web_session[data-session-id="${thirdId}"] button.sign_out_session`);
  await waitForText(page, '#devices_status', { matches: /signed out/ });
  assert.equal(await sessions.count(), 2, 'its row is gone');
  await s.shot(page, 'devices-one-session-signed-out');
  await assertSignedOut(third, 'the third browser is signed out');
  await other.goto(DEVICES);
  await waitForPath(other, DEVICES); // the second one is not

  // "Log out everywhere": the confirmation explains what happens; Cancel does nothing.
  await page.click('#logout_everywhere_button');
  const confirm = page.locator('#logout_everywhere_confirm');
  await confirm.waitFor({ state: 'visible' });
  const text = await page.innerText('#logout_everywhere_warning');
  assert.match(text, /new API key/);
  assert.match(text, /every mobile device/);
  assert.match(text, /removes all push-notification registrations/);
  assert.match(text, /signs out every other browser/);
  assert.match(text, /This browser stays signed in/);
  await page.locator('#logout_everywhere_password').waitFor({ state: 'visible' });
  await s.shot(page, 'logout-everywhere-confirm');
  await page.click('#logout_everywhere_cancel');
  await confirm.waitFor({ state: 'hidden' });
  assert.equal((await pythonMe(email, key)).status, 200, 'Cancel keeps the key');

  // A wrong password is refused and changes nothing.
  await page.click('#logout_everywhere_button');
  await confirm.waitFor({ state: 'visible' });
  await page.fill('#logout_everywhere_password', 'not-the-password');
  await page.click('#logout_everywhere_do');
  await page.locator('#logout_everywhere_error').waitFor({ state: 'visible' });
  assert.match(await page.innerText('#logout_everywhere_error'), /\S/);
  await s.shot(page, 'logout-everywhere-wrong-password');
  assert.equal((await pythonMe(email, key)).status, 200, 'a wrong password keeps the key');

  // The right password: the page reloads.
  await page.fill('#logout_everywhere_password', password);
  await Promise.all([page.waitForEvent('load'), page.click('#logout_everywhere_do')]);
  await waitForPath(page, DEVICES);
  await section.waitFor({ state: 'visible' });
  await section.scrollIntoViewIfNeeded();
  await s.shot(page, 'devices-after-logout-everywhere');

  assertRefused(await pythonMe(email, key), 'users/me as ZulipPython');
  const mobileRegister = await s.server.http('POST', '/api/v1/register', {
    auth: { email, key },
    form: { event_types: '["message"]' },
    headers: { 'User-Agent': MOBILE_UA },
  });
  assertRefused(mobileRegister, 'the mobile app\'s register');
  assert.equal(mobileRegister.headers.get('www-authenticate'), 'Basic realm="zulip"');

  await page.locator('#no_mobile_devices').waitFor({ state: 'visible' });
  assert.equal(await page.locator('li.mobile_device').count(), 0);
  assert.equal(await page.locator('#web_sessions li.web_session').count(), 1, 'only this browser');
  assert.equal(await page.locator('#web_sessions li.web_session #this_session').count(), 1);
  await page.locator('#no_api_clients').waitFor({ state: 'visible' });
  assert.equal(await page.locator('li.api_client').count(), 0, 'API client list cleared');

  await assertSignedOut(other, 'the second browser is signed out');
  await s.shot(other, 'other-browser-signed-out');

  // This browser still works, and a new login gets the new key.
  const newKey = await s.server.fetchApiKey(email, password);
  assert.notEqual(newKey, key);
  assert.equal((await pythonMe(email, newKey)).status, 200);
}));

test('changing the password with "Also generate a new API key" logs out apps and other browsers', s.flow(async () => {
  const oldPassword = 'member-Password-devices-1';
  const newPassword = 'Changed-Password-devices-2';
  const thirdPassword = 'Third-Password-devices-3';
  const member = await s.server.createUser('member.devices@example.com', 'Dev Ices', oldPassword);

  const key = await mobileLogin(member.email, oldPassword, 'fcm-e2e-password-change-0000');
  assert.equal((await pythonMe(member.email, key)).status, 200);

  const { page: other } = await s.open();
  await signIn(other, member.email, oldPassword);

  const { page } = await s.open();
  await signIn(page, member.email, oldPassword);
  assert.equal(await page.locator('#mobile_devices li.mobile_device').count(), 1);
  assert.equal(await page.locator('#web_sessions li.web_session').count(), 2);

  await page.click('#change_password_button');
  const modal = page.locator('dialog#change_password_modal');
  await modal.waitFor({ state: 'visible' });
  assert.equal(await page.isChecked('#change_password_regenerate'), true, 'checked by default');
  assert.match(
    await modal.locator('label[for="change_password_regenerate"]').innerText(),
    /Also generate a new API key \(logs out mobile devices and API clients\)/,
  );
  await page.fill('#old_password', oldPassword);
  await page.fill('#new_password', newPassword);
  await s.shot(page, 'change-password-regenerate');
  await page.click('#change_password_submit');
  await modal.waitFor({ state: 'hidden' });
  // With a new key the page reloads (devices and sessions changed) and says so.
  await waitForText(page, '#account_settings_status', {
    matches: /Your password has been changed and a new API key was generated\./,
  });
  await s.shot(page, 'password-changed');

  assertRefused(await pythonMe(member.email, key), 'the old key after a password change');
  await assertSignedOut(other, 'the other browser is signed out');

  // This browser stays signed in; the phone and the API clients are gone.
  await page.goto(DEVICES);
  await waitForPath(page, DEVICES);
  await page.locator('#no_mobile_devices').waitFor({ state: 'visible' });
  await page.locator('#no_api_clients').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#web_sessions li.web_session').count(), 1);
  await page.locator('section#devices_section').scrollIntoViewIfNeeded();
  await s.shot(page, 'devices-after-password-change');

  // Unticked: the key survives a password change.
  const newKey = await s.server.fetchApiKey(member.email, newPassword);
  assert.notEqual(newKey, key);
  await page.click('#change_password_button');
  await modal.waitFor({ state: 'visible' });
  assert.equal(await page.isChecked('#change_password_regenerate'), true, 'checked again when reopened');
  const accountKey = await s.server.accountKey(member.email);
  await page.uncheck('#change_password_regenerate');
  await page.fill('#old_password', newPassword);
  await page.fill('#new_password', thirdPassword);
  await page.click('#change_password_submit');
  await modal.waitFor({ state: 'hidden' });
  await waitForText(page, '#account_settings_status', { matches: /Your password has been changed\./ });
  assert.equal((await pythonMe(member.email, newKey)).status, 200, 'unticked: the key still works');
  assert.equal(await s.server.accountKey(member.email), accountKey, 'unticked: the account key is unchanged');
  assert.notEqual(await s.server.fetchApiKey(member.email, thirdPassword), newKey, 'a new login gets a key of its own');
}));

test('the Devices section fits a 375px-wide phone screen', s.flow(async () => {
  const { email, password } = s.server.owner;
  await mobileLogin(email, password, 'fcm-e2e-narrow-' + 'f'.repeat(150));
  const { page } = await s.open({ width: 375, height: 812 });
  await signIn(page, email, password);
  const section = page.locator('section#devices_section');
  await section.waitFor({ state: 'visible' });
  const sw = await page.evaluate(() => document.scrollingElement.scrollWidth);
  await section.scrollIntoViewIfNeeded();
  await s.shot(page, 'devices-375px');
  assert.ok(sw <= 376, `the page is ${sw}px wide in a 375px viewport`);
  await page.click('#logout_everywhere_button');
  await page.locator('#logout_everywhere_confirm').waitFor({ state: 'visible' });
  for (const id of ['#logout_everywhere_password', '#logout_everywhere_cancel', '#logout_everywhere_do']) {
    const box = await page.locator(id).boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 376, `${id} lies within 375px: ${JSON.stringify(box)}`);
  }
  await s.shot(page, 'logout-everywhere-confirm-375px');
}));
