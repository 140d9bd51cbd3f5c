// Settings → Account & privacy → API keys (tessera's named keys), Devices → Signed-in apps,
// a bot's own keys and its overlap window, and Organization → API keys, clicked through as a
// person would: create a key (name, what it may do, expiry, allow-list, password), copy it and
// use it with the official Python client, revoke it; sign one phone out (and the key made with
// it) and keep the other.

import assert from 'node:assert/strict';
import {
  clearClipboard,
  clickDownload,
  readClipboard,
  signIn,
  waitForPath,
  waitForText,
} from '../lib/browser.js';
import { assertKeyRefused, assertNoHorizontalOverflow, assertProfile, assertZuliprc } from '../lib/checks.js';
import { test } from 'node:test';
import { suite } from '../lib/harness.js';
import { API_KEY_RE } from '../lib/server.js';

const s = suite('named_keys');
const ACCOUNT = '/settings/account-and-privacy';

/** Open the create-key dialog from the section (or bot modal) and wait for it. */
async function openCreate(page, button = '#create_named_key_button') {
  await page.click(button);
  const modal = page.locator('dialog#create_key_modal');
  await modal.waitFor({ state: 'visible' });
  return modal;
}

/** GET /api/v1/users/me with a key, as a script would. */
async function me(email, key) {
  return s.server.http('GET', '/api/v1/users/me', { auth: { email, key } });
}

test('a named key is created, copied, used by the Python client within its scope, and revoked', s.flow(async () => {
  const { email, password } = s.server.owner;
  const site = s.server.site;
  const { page } = await s.open();
  await signIn(page, email, password);
  const section = page.locator('section#named_keys_section');
  await section.scrollIntoViewIfNeeded();
  await page.locator('#no_named_keys').waitFor({ state: 'visible' });
  await s.shot(page, 'no-named-keys');

  // The dialog: nothing is sent without a name or the password.
  const modal = await openCreate(page);
  assert.match(await page.innerText('#create_key_for'), new RegExp(`For your account \\(${email}\\)`));
  assert.equal(await page.inputValue('#create_key_expiry'), '30', 'expires in 30 days by default');
  await s.shot(page, 'create-dialog');
  await page.click('#create_key_submit');
  await waitForText(page, '#create_key_error', { matches: /Please give the key a name\./ });
  await page.fill('#create_key_name', 'CI reader');
  await page.check('input[name=create_key_scope][value=read]');
  await page.click('#create_key_submit');
  await waitForText(page, '#create_key_error', { matches: /Please enter your password\./ });
  await page.fill('#create_key_password', 'not-the-password');
  await page.click('#create_key_submit');
  await waitForText(page, '#create_key_error', { matches: /Password is incorrect\./ });
  await s.shot(page, 'create-wrong-password');

  // The right password: the key, once, with what it may do.
  await page.fill('#create_key_password', password);
  await page.click('#create_key_submit');
  const key = await waitForText(page, '#created_key_value', { matches: API_KEY_RE });
  assert.match(await page.innerText('#created_key_summary'), /CI reader.*Read only.*expires/);
  await modal.getByText('it is shown only this once').waitFor({ state: 'visible' });
  await s.shot(page, 'created-key-shown');
  await clearClipboard(page);
  await page.click('#copy_created_key');
  await waitForText(page, '#created_key_status', { matches: /Copied!/ });
  assert.equal(await readClipboard(page), key);

  // Its zuliprc works in the official client: reads pass, a send is refused without a 401.
  const rc = await clickDownload(page, '#download_created_zuliprc');
  assertZuliprc(rc, { email, key, site });
  assertProfile(await s.server.pythonCall(rc.text), email);
  const sent = await s.server.pythonCall(rc.text, 'send_message', [
    { type: 'stream', to: 'general', topic: 'keys', content: 'must not land' },
  ]);
  assert.equal(sent.httpStatus, 403, JSON.stringify(sent));
  assert.equal(sent.response.code, 'API_KEY_SCOPE', JSON.stringify(sent));

  // Done: the page lists it (never the key again).
  await Promise.all([page.waitForEvent('load'), page.click('#created_key_done')]);
  await waitForPath(page, ACCOUNT);
  await waitForText(page, '#named_keys_status', { matches: /The key was created/ });
  const row = page.locator('#named_keys_table tr.named_key[data-key-name="CI reader"]');
  await row.waitFor({ state: 'visible' });
  assert.match(await row.innerText(), /Read only/);
  assert.match(await row.innerText(), /Never used|last used|by tessera-e2e|by ZulipPython/i);
  assert.equal((await page.content()).includes(key), false, 'the key is not in the page');

  // A second key, full, only from 10.0.0.0/8: refused from here with a 403, not a logout.
  await openCreate(page);
  await page.fill('#create_key_name', 'Office only');
  await page.selectOption('#create_key_expiry', 'never');
  await page.fill('#create_key_networks', '10.0.0.0/8');
  await page.fill('#create_key_password', password);
  await page.click('#create_key_submit');
  const office = await waitForText(page, '#created_key_value', { matches: API_KEY_RE });
  assert.match(await page.innerText('#created_key_summary'), /never expires · only from 10\.0\.0\.0\/8/);
  await Promise.all([page.waitForEvent('load'), page.click('#created_key_done')]);
  const refused = await me(email, office);
  assert.equal(refused.status, 403, refused.text);
  assert.equal(refused.json.code, 'API_KEY_ADDRESS');
  const officeRow = page.locator('tr.named_key[data-key-name="Office only"]');
  assert.match(await officeRow.innerText(), /only from 10\.0\.0\.0\/8/);
  assert.match(await officeRow.innerText(), /Full access/);
  await section.scrollIntoViewIfNeeded();
  await s.shot(page, 'two-named-keys');

  // Revoke "CI reader": asked first (Cancel keeps it), then gone; the other key stays.
  await row.locator('button.revoke_named_key').click();
  const confirm = section.locator('.revoke_named_key_confirm');
  await confirm.waitFor({ state: 'visible' });
  assert.match(await confirm.innerText(), /Revoke the key “CI reader”\?/);
  await s.shot(page, 'revoke-confirm');
  await confirm.locator('.revoke_named_key_cancel').click();
  await confirm.waitFor({ state: 'hidden' });
  assert.equal((await me(email, key)).status, 200, 'Cancel keeps the key');
  await row.locator('button.revoke_named_key').click();
  await confirm.locator('.revoke_named_key_do').click();
  await waitForText(page, '#named_keys_status', { matches: /The key “CI reader” was revoked\./ });
  await row.waitFor({ state: 'detached' });
  assert.equal(await page.locator('tr.named_key').count(), 1);
  await s.shot(page, 'revoked');
  assertKeyRefused(await s.server.pythonCall(rc.text));
  assert.equal((await me(email, await s.server.accountKey(email))).status, 200, 'the account key is untouched');
}));

test('one phone is signed out from Devices; the other phone keeps working', s.flow(async () => {
  const member = await s.server.createUser('phones@example.com', 'Pho Nes', 'phones-Password-e2e-4');
  const login = async (ua, token) => {
    const r = await s.server.http('POST', '/api/v1/fetch_api_key', {
      form: { username: member.email, password: member.password },
      headers: { 'User-Agent': ua },
    });
    assert.equal(r.status, 200, r.text);
    const key = r.json.api_key;
    const push = await s.server.http('POST', '/api/v1/users/me/android_gcm_reg_id', {
      auth: { email: member.email, key },
      form: { token },
      headers: { 'User-Agent': ua },
    });
    assert.equal(push.status, 200, push.text);
    return key;
  };
  const android = await login('ZulipMobile/27.200 (Android 14)', 'fcm-android-phone-0001');
  const ios = await login('ZulipMobile/27.200 (iPhone; iOS 17)', 'fcm-ios-phone-0002');
  assert.notEqual(android, ios, 'each login has its own key');
  // A key made with the Android app's key goes when that app is signed out.
  const made = await s.server.http('POST', '/api/v1/users/me/api_keys', {
    auth: { email: member.email, key: android },
    form: { name: 'made on the phone', scope: 'read' },
  });
  assert.equal(made.status, 200, made.text);

  const { page } = await s.open();
  await signIn(page, member.email, member.password);
  const apps = page.locator('#signed_in_apps li.signed_in_app');
  assert.equal(await apps.count(), 2);
  const androidRow = page.locator('li.signed_in_app[data-app="ZulipMobile on Android"]');
  assert.match(await androidRow.innerText(), /signed in .* from 127\.0\.0\.1/);
  assert.match(await androidRow.innerText(), /receives notifications/);
  assert.equal(await page.locator('#mobile_devices li.mobile_device').count(), 2);
  await page.locator('#devices_section').scrollIntoViewIfNeeded();
  await s.shot(page, 'two-phones');

  const madeRow = page.locator('#named_keys_section tr.named_key[data-key-name="made on the phone"]');
  await madeRow.waitFor({ state: 'visible' });

  await androidRow.locator('button.sign_out_app').click();
  await waitForText(page, '#devices_status', {
    matches: /ZulipMobile on Android has been signed out: .* Keys made with it were revoked too: “made on the phone”\./,
  });
  await androidRow.waitFor({ state: 'detached' });
  await madeRow.waitFor({ state: 'detached' });
  await page.locator('#no_named_keys').waitFor({ state: 'visible' });
  assert.equal((await me(member.email, made.json.api_key)).status, 401, 'the key made on the phone is refused');
  assert.equal(await apps.count(), 1);
  // Its notification registration leaves the Mobile devices list at once too.
  assert.equal(await page.locator('#mobile_devices li.mobile_device').count(), 1);
  await s.shot(page, 'one-phone-signed-out');
  assert.equal((await me(member.email, android)).status, 401, 'the Android key is refused');
  assert.equal((await me(member.email, ios)).status, 200, 'the iPhone keeps working');

  // Its push registration went with it; the iPhone's stays.
  await page.reload();
  const phones = page.locator('#mobile_devices li.mobile_device');
  assert.equal(await phones.count(), 1);
  assert.match(await phones.first().innerText(), /fcm-ios-/);
}));

test("a bot's own keys, and its old key overlapping the new one", s.flow(async () => {
  const { email, password } = s.server.owner;
  const ownerKey = await s.server.accountKey(email);
  const created = await s.server.http('POST', '/api/v1/bots', {
    auth: { email, key: ownerKey },
    form: { bot_type: '1', full_name: 'Deploy Bot', short_name: 'deploy' },
  });
  assert.equal(created.status, 200, created.text);
  const { user_id: botId, api_key: oldKey } = created.json;

  const { page } = await s.open();
  await signIn(page, email, password);
  await page.click('#tab_your_bots');
  await waitForPath(page, '/settings/your-bots');
  const row = page.locator(`tr.bot_row[data-bot-id="${botId}"]`);
  const botEmail = await row.getAttribute('data-bot-email');
  await row.locator('.open_edit_bot_form').click();
  const manage = page.locator('dialog#manage_bot_modal');
  await manage.waitFor({ state: 'visible' });
  await page.locator('#no_bot_named_keys').waitFor({ state: 'visible' });

  // A send-only key for the bot.
  const modal = await openCreate(page, '#create_bot_named_key_button');
  assert.match(await page.innerText('#create_key_for'), /For the bot Deploy Bot/);
  await page.fill('#create_key_name', 'GitHub Actions');
  await page.check('input[name=create_key_scope][value=send]');
  await page.selectOption('#create_key_expiry', '90');
  await page.fill('#create_key_password', password);
  await page.click('#create_key_submit');
  const botKey = await waitForText(page, '#created_key_value', { matches: API_KEY_RE });
  await s.shot(page, 'bot-key-created');
  await page.click('#created_key_done');
  await modal.waitFor({ state: 'hidden' });
  await manage.waitFor({ state: 'visible' });
  const item = page.locator('#bot_named_keys li.named_key[data-key-name="GitHub Actions"]');
  await item.waitFor({ state: 'visible' });
  assert.match(await item.innerText(), /Send only · expires/);
  const sent = await s.server.http('POST', '/api/v1/messages', {
    auth: { email: botEmail, key: botKey },
    form: { type: 'stream', to: 'general', topic: 'deploys', content: 'deployed' },
  });
  assert.equal(sent.status, 200, sent.text);

  // Generate a new key, keeping the old one for an hour: both work until the new one is used.
  await page.click('#regenerate_bot_api_key');
  await page.locator('#bot_regenerate_confirm').waitFor({ state: 'visible' });
  await page.selectOption('#bot_regenerate_overlap', '3600');
  await s.shot(page, 'bot-regenerate-overlap');
  await page.click('#bot_regenerate_do');
  await waitForText(page, '#bot_api_key_status', { matches: /old key keeps working for 1 hour/ });
  const newKey = await waitForText(page, '#bot_api_key', { matches: API_KEY_RE, not: oldKey });
  const previous = page.locator('#bot_named_keys li.named_key[data-key-kind="previous"]');
  await previous.waitFor({ state: 'visible' });
  assert.match(await previous.innerText(), /until the new key is first used/);
  assert.equal(await page.locator('#bot_named_keys li[data-key-name="GitHub Actions"]').count(), 0, 'a new key revokes the named keys');
  await s.shot(page, 'bot-previous-key');
  assert.equal((await me(botEmail, oldKey)).status, 200, 'the old key still works');
  assert.equal((await me(botEmail, newKey)).status, 200);
  assert.equal((await me(botEmail, oldKey)).status, 401, 'the first use of the new key ended it');
}));

test('Organization → API keys: the longest lifetime and one key per login', s.flow(async () => {
  const { email, password } = s.server.owner;
  const { page } = await s.open();
  await signIn(page, email, password);
  await page.click('#tab_api_key_policy');
  await waitForPath(page, '/settings/api-key-policy');
  assert.equal(await page.isChecked('#api_key_per_login'), true, 'on by default');
  await page.selectOption('#max_api_key_lifetime_days', '30');
  await page.uncheck('#api_key_per_login');
  await page.click('#key_policy_save');
  await waitForText(page, '#key_policy_status', { matches: /Saved\./ });
  await s.shot(page, 'policy-saved');
  // Logins now get the account key, as in Zulip.
  assert.equal(await s.server.fetchApiKey(email, password), await s.server.accountKey(email));

  // The create dialog offers nothing longer than 30 days, and no "Never".
  await page.click('#tab_account_and_privacy');
  await waitForPath(page, ACCOUNT);
  await openCreate(page);
  const choices = await page.locator('#create_key_expiry option').evaluateAll((os) => os.map((o) => o.value));
  assert.deepEqual(choices, ['7', '30', 'date']);
  assert.match(await page.innerText('#create_key_expiry_hint'), /expire within 30 days/);
  await s.shot(page, 'create-dialog-with-policy');

  // Back to the defaults for the other flows.
  await page.goto('/settings/api-key-policy');
  await page.selectOption('#max_api_key_lifetime_days', 'unlimited');
  await page.check('#api_key_per_login');
  await page.click('#key_policy_save');
  await waitForText(page, '#key_policy_status', { matches: /Saved\./ });
  assert.notEqual(await s.server.fetchApiKey(email, password), await s.server.accountKey(email));
}));

test('the API keys section and its dialog fit a 390px-wide phone', s.flow(async () => {
  const { email, password } = s.server.owner;
  const { page } = await s.open({ width: 390, height: 844 });
  await signIn(page, email, password);
  await page.locator('#named_keys_section').scrollIntoViewIfNeeded();
  await assertNoHorizontalOverflow(page, 390);
  await s.shot(page, 'named-keys-390px');
  await openCreate(page);
  await page.check('input[name=create_key_scope][value=groups]');
  await page.selectOption('#create_key_expiry', 'date');
  await assertNoHorizontalOverflow(page, 390);
  await s.shot(page, 'create-dialog-390px');
}));
