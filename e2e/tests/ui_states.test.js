// The rough states a person meets on the settings pages (issue 16), one flow per bug: each of
// these failed on the pages before the fix. Screenshots of every dialog in its empty, error,
// waiting and success states, at desktop and phone widths, are in dialogs.test.js.

import assert from 'node:assert/strict';
import { readClipboard, clearClipboard, signIn, waitForPath, waitForText } from '../lib/browser.js';
import { assertKeyRefused, assertProfile } from '../lib/checks.js';
import { test } from 'node:test';
import { suite } from '../lib/harness.js';

const s = suite('ui_states');
const KEY_RE = /^[A-Za-z0-9]{32}$/;
const ACCOUNT = '/settings/account-and-privacy';

let people = 0;
/** A new member of the organization, signed in on a new page: {page, context, user}. */
async function signedInMember(opts) {
  people += 1;
  const user = await s.server.createUser(
    `ui${people}@example.com`,
    `Ui Person ${people}`,
    `A long passphrase for ui ${people}`,
  );
  const { page, context } = await s.open(opts);
  await signIn(page, user.email, user.password);
  return { page, context, user };
}

/** Requests the page sends with this method to exactly this path. */
function watch(page, method, path) {
  const seen = [];
  page.on('request', (r) => {
    if (r.method() === method && new URL(r.url()).pathname === path) seen.push(r);
  });
  return seen;
}

/** Open "Manage your API key", enter the password, wait for the key; returns it. */
async function revealKey(page, password) {
  await page.click('#api_key_button');
  await page.locator('dialog#api_key_modal').waitFor({ state: 'visible' });
  await page.fill('#get_api_key_password', password);
  await page.press('#get_api_key_password', 'Enter');
  return waitForText(page, '#api_key_value', { matches: KEY_RE });
}

/** The colour a success status line has on this page, and the element's own colour. */
async function colours(page, selector) {
  return page.evaluate((sel) => {
    const probe = document.createElement('p');
    probe.className = 'status';
    document.body.append(probe);
    const success = getComputedStyle(probe).color;
    probe.remove();
    return { success, shown: getComputedStyle(document.querySelector(sel)).color };
  }, selector);
}

test('1. Enter in the "Log out everywhere" password box submits it', s.flow(async () => {
  const { page, user } = await signedInMember();
  await page.click('#logout_everywhere_button');
  await page.locator('#logout_everywhere_confirm').waitFor({ state: 'visible' });
  await page.fill('#logout_everywhere_password', user.password);
  await Promise.all([page.waitForEvent('load'), page.press('#logout_everywhere_password', 'Enter')]);
  await waitForText(page, '#devices_status', { matches: /Logged out everywhere/ });
  // The other password dialogs submit on Enter too.
  await revealKey(page, user.password);
  await page.click('#api_key_modal .dialog_close');
  await page.click('#change_password_button');
  await page.fill('#old_password', user.password);
  await page.fill('#new_password', 'Another long passphrase 42');
  await page.uncheck('#change_password_regenerate');
  await page.press('#new_password', 'Enter');
  await waitForText(page, '#account_settings_status', { matches: /Your password has been changed\./ });
}));

test('2. an error in a status line is styled as an error', s.flow(async () => {
  const { page, context } = await signedInMember();
  await context.clearCookies(); // the session ends (as if it expired)
  await page.click('#enable_login_emails');
  const text = await waitForText(page, '#devices_status', { matches: /\S/ });
  assert.doesNotMatch(text, /^New-login emails are/, 'not reported as done');
  const { success, shown } = await colours(page, '#devices_status');
  assert.notEqual(shown, success, 'the error is not in the success colour');
  assert.ok(await page.locator('#devices_status.is-error').count(), 'marked as an error');
  assert.equal(await page.isChecked('#enable_login_emails'), true, 'the box goes back');
  await s.shot(page, 'status-error');
}));

test('3. an empty password is refused in the page and not sent', s.flow(async () => {
  const { page, user } = await signedInMember();
  const sent = watch(page, 'POST', '/json/fetch_api_key');
  await page.click('#api_key_button');
  await page.click('#get_api_key_button');
  await waitForText(page, '#api_key_status', { matches: /Please enter your password\./ });
  await page.click('#api_key_modal .dialog_close');
  await page.click('#logout_everywhere_button');
  await page.click('#logout_everywhere_do');
  await waitForText(page, '#logout_everywhere_error', { matches: /Please enter your password\./ });
  assert.equal(sent.length, 0, 'nothing was sent');
  // Had they counted, five would lock the account out of password checks for 30 minutes.
  const key = await revealKey(page, user.password);
  assert.match(key, KEY_RE);
}));

test('4. double-clicking "Generate new API key" rotates once (own key and bot key)', s.flow(async () => {
  const { page, user } = await signedInMember();
  const rotations = watch(page, 'POST', '/api/v1/users/me/api_key/regenerate');
  await revealKey(page, user.password);
  await page.click('#regenerate_api_key');
  await page.dblclick('#regenerate_api_key_do');
  await waitForText(page, '#api_key_regenerated', { matches: /A new API key was generated\./ });
  assert.equal(rotations.length, 1, 'one rotation');
  const shown = (await page.innerText('#api_key_value')).trim();
  assert.equal(shown, await s.server.accountKey(user.email), 'the key shown is the live one');

  // The bot's.
  const created = await s.server.http('POST', '/api/v1/bots', {
    auth: { email: user.email, key: shown },
    form: { bot_type: '1', full_name: 'Twice Bot', short_name: 'twice' },
  });
  assert.equal(created.status, 200, created.text);
  await page.goto('/settings/your-bots');
  const botRotations = watch(page, 'POST', `/json/bots/${created.json.user_id}/api_key/regenerate`);
  await page.click('tr.bot_row .open_edit_bot_form');
  await waitForText(page, '#bot_api_key', { matches: KEY_RE });
  await page.click('#regenerate_bot_api_key');
  await page.dblclick('#bot_regenerate_do');
  await waitForText(page, '#bot_api_key_status', { matches: /A new API key was generated\./ });
  assert.equal(botRotations.length, 1, 'one bot rotation');
  const botKey = await page.inputValue('#bot_api_key');
  const live = await s.server.http('GET', `/api/v1/bots/${created.json.user_id}/api_key`, {
    auth: { email: user.email, key: shown },
  });
  assert.equal(botKey, live.json.api_key, 'the bot key shown is the live one');
}));

test('5. a second tab notices its key was replaced instead of copying a dead key', s.flow(async () => {
  const { page, context, user } = await signedInMember();
  const old = await revealKey(page, user.password);
  // Another tab of the same browser replaces the key.
  const other = await context.newPage();
  await other.goto(ACCOUNT);
  await revealKey(other, user.password);
  await other.click('#regenerate_api_key');
  await other.click('#regenerate_api_key_do');
  await waitForText(other, '#api_key_value', { matches: KEY_RE, not: old });
  await other.close();

  await clearClipboard(page);
  await page.click('#copy_api_key');
  await page.locator('#api_key_changed').waitFor({ state: 'visible' });
  assert.match(await page.innerText('#api_key_changed'), /no longer works/);
  assert.notEqual(await readClipboard(page), old, 'the dead key is not copied');
  assert.equal((await page.innerText('#api_key_value')).trim(), '', 'the dead key is not shown');
  assertKeyRefused(await s.server.pythonCall(`[api]\nemail=${user.email}\nkey=${old}\nsite=${s.server.site}\n`));
  await s.shot(page, 'stale-key');
  await Promise.all([page.waitForEvent('load'), page.click('#api_key_reload')]);
  const fresh = await revealKey(page, user.password);
  assertProfile(await s.server.pythonCall(`[api]\nemail=${user.email}\nkey=${fresh}\nsite=${s.server.site}\n`), user.email);
}));

test('6. an ended session says so, with a link to log in again', s.flow(async () => {
  const { page, context, user } = await signedInMember();
  await page.click('#api_key_button');
  await context.clearCookies();
  await page.fill('#get_api_key_password', user.password);
  await page.click('#get_api_key_button');
  const text = await waitForText(page, '#api_key_status', { matches: /session has ended/ });
  assert.doesNotMatch(text, /Not logged in/);
  await s.shot(page, 'session-ended');
  await page.click('#api_key_status a.session-ended-link');
  await waitForPath(page, '/login/');
  assert.match(new URL(page.url()).search, /next=%2Fsettings%2Faccount-and-privacy/);
}));

test('7. the bot form says which field is wrong, in Zulip\'s words', s.flow(async () => {
  const { page } = await signedInMember();
  await page.goto('/settings/your-bots');
  await page.click('#add_bot_button');
  await page.locator('dialog#add_bot_modal').waitFor({ state: 'visible' });
  const nameError = '#create_bot_name_error';
  const shortError = '#create_bot_short_name_error';
  for (const [name, msg] of [
    ['x', /^Name too short!$/],
    ['y'.repeat(101), /^Name too long!$/],
    ['Cookie @ Bot', /^Invalid characters in name!$/],
  ]) {
    await page.fill('#create_bot_name', name);
    await page.fill('#create_bot_short_name', 'cookie');
    await page.click('#create_bot_submit');
    await waitForText(page, nameError, { matches: msg });
    assert.equal(await page.getAttribute('#create_bot_name', 'aria-invalid'), 'true');
    assert.equal(await page.locator(shortError).isVisible(), false, 'the other field is fine');
  }
  await page.fill('#create_bot_name', 'Cookie Bot');
  await page.fill('#create_bot_short_name', '');
  await page.click('#create_bot_submit');
  await waitForText(page, shortError, { matches: /bot's email/ });
  assert.equal(await page.locator(nameError).isVisible(), false);
  await s.shot(page, 'bot-form-field-error');
  // A refusal only the server knows (the address is taken) goes to its field too.
  await page.fill('#create_bot_short_name', 'welcome');
  await page.click('#create_bot_submit');
  await waitForText(page, shortError, { matches: /^Username already in use$/ });
}));

test('8. All bots does not list the server\'s own bots', s.flow(async () => {
  const { page } = await s.open();
  await signIn(page, s.server.owner.email, s.server.owner.password);
  await page.click('#tab_all_bots');
  await waitForPath(page, '/settings/all-bots');
  const table = await page.innerText('#bots_table');
  assert.doesNotMatch(table, /Welcome Bot|welcome-bot@|Notification Bot/);
}));

test('9. "Log out everywhere" reports next to itself', s.flow(async () => {
  const { page, user } = await signedInMember();
  await page.click('#logout_everywhere_button');
  await page.fill('#logout_everywhere_password', user.password);
  await Promise.all([page.waitForEvent('load'), page.click('#logout_everywhere_do')]);
  await waitForText(page, '#devices_status', { matches: /Logged out everywhere/ });
  assert.equal((await page.innerText('#account_settings_status')).trim(), '', 'not under Password');
  await s.shot(page, 'logged-out-everywhere');
}));

test('10. regenerating your own key is confirmed as the bot modal does', s.flow(async () => {
  const { page, user } = await signedInMember();
  const old = await revealKey(page, user.password);
  await page.click('#regenerate_api_key');
  assert.equal(await page.locator('#regenerate_api_key').isVisible(), false, 'one Generate button at a time');
  await page.click('#regenerate_api_key_do');
  await waitForText(page, '#api_key_value', { matches: KEY_RE, not: old });
  await waitForText(page, '#api_key_regenerated', { matches: /^A new API key was generated\.$/ });
  assert.equal(await page.locator('#regenerate_api_key').isVisible(), true);
  await s.shot(page, 'own-key-regenerated');
}));

test('each "Sign out" button has its own accessible name', s.flow(async () => {
  const { page, user } = await signedInMember();
  for (let i = 0; i < 2; i += 1) {
    const { page: other } = await s.open();
    await signIn(other, user.email, user.password);
  }
  await page.reload();
  const names = await page.locator('button.sign_out_session').evaluateAll((bs) => bs.map((b) => b.getAttribute('aria-label')));
  assert.equal(names.length, 2);
  assert.equal(new Set(names).size, 2, `distinct: ${names.join(' | ')}`);
  for (const n of names) assert.match(n, /^Sign out web session \d+: Chrome on Linux, signed in .+, last used .+ from 127\.0\.0\.1$/);
}));
