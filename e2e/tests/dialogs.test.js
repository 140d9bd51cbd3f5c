// Every dialog of the settings pages in each of its states — empty, error, waiting (the
// server's answer held back), success — at desktop width and at 390 px, as screenshots to look
// at, with the checks a person would make: focus starts in the first field, nothing scrolls
// sideways, the bot's key can be read whole.

import assert from 'node:assert/strict';
import { activeId, signIn, waitForText } from '../lib/browser.js';
import { assertNoHorizontalOverflow } from '../lib/checks.js';
import { test } from 'node:test';
import { suite } from '../lib/harness.js';

const s = suite('dialogs');
const KEY_RE = /^[A-Za-z0-9]{32}$/;

/** Hold back the server's answer to `path` while `during` runs (the "waiting" state). */
async function whileWaiting(page, path, act, during) {
  let release;
  const held = new Promise((r) => (release = r));
  let passed;
  const through = new Promise((r) => (passed = r));
  const handler = async (route) => {
    await held;
    await route.continue();
    passed();
  };
  await page.route(`**${path}`, handler);
  await act();
  await during();
  release();
  await through;
  await page.unroute(`**${path}`, handler);
}

for (const [label, width, height] of [
  ['desktop', 1280, 900],
  ['phone', 390, 844],
]) {
  test(`dialogs in every state (${label})`, s.flow(async () => {
    const n = label === 'desktop' ? 1 : 2;
    const user = await s.server.createUser(`dialogs${n}@example.com`, `Dia Logs ${n}`, `Dialogs passphrase number ${n}`);
    const { page } = await s.open({ width, height });
    const shot = (name) => s.shot(page, `${label}-${name}`);
    await signIn(page, user.email, user.password);

    // --- Your API key
    await page.click('#api_key_button');
    await page.locator('dialog#api_key_modal').waitFor({ state: 'visible' });
    assert.equal(await activeId(page), 'get_api_key_password', 'focus in the password field');
    await shot('api-key-empty');
    await page.fill('#get_api_key_password', 'wrong password');
    await page.click('#get_api_key_button');
    await waitForText(page, '#api_key_status', { matches: /Password is incorrect\./ });
    await shot('api-key-error');
    await page.fill('#get_api_key_password', user.password);
    await whileWaiting(page, '/json/fetch_api_key', () => page.click('#get_api_key_button'), async () => {
      assert.equal(await page.isDisabled('#get_api_key_button'), true, 'busy while waiting');
      await shot('api-key-waiting');
    });
    const key = await waitForText(page, '#api_key_value', { matches: KEY_RE });
    assert.equal((await page.innerText('#api_key_modal_label')).trim(), 'Your API key');
    await shot('api-key-success');
    await page.click('#regenerate_api_key');
    await shot('api-key-regenerate-confirm');
    await whileWaiting(page, '/api/v1/users/me/api_key/regenerate', () => page.click('#regenerate_api_key_do'), async () => {
      await shot('api-key-regenerate-waiting');
    });
    await waitForText(page, '#api_key_value', { matches: KEY_RE, not: key });
    await waitForText(page, '#api_key_regenerated', { matches: /generated/ });
    await shot('api-key-regenerated');
    await assertNoHorizontalOverflow(page, width);
    await page.click('#api_key_modal .dialog_close');

    // --- Change password
    await page.click('#change_password_button');
    await page.locator('dialog#change_password_modal').waitFor({ state: 'visible' });
    assert.equal(await activeId(page), 'old_password', 'focus in the first field');
    await shot('password-empty');
    await page.fill('#old_password', 'wrong password');
    await page.fill('#new_password', 'abc');
    await waitForText(page, '#new_password_hint', { matches: /too weak/ });
    await page.click('#change_password_submit');
    await waitForText(page, '#change_password_status', { matches: /\S/ });
    await shot('password-error');
    await page.fill('#old_password', user.password);
    await page.fill('#new_password', 'Dialogs new passphrase violet');
    await waitForText(page, '#new_password_hint', { matches: /Strong enough/ });
    await page.uncheck('#change_password_regenerate');
    await whileWaiting(page, '/json/settings', () => page.click('#change_password_submit'), async () => {
      await shot('password-waiting');
    });
    await waitForText(page, '#account_settings_status', { matches: /Your password has been changed\./ });
    await shot('password-success');
    const password = 'Dialogs new passphrase violet';

    // --- Log out everywhere
    await page.click('#logout_everywhere_button');
    await page.locator('#logout_everywhere_confirm').waitFor({ state: 'visible' });
    await shot('logout-everywhere-empty');
    await page.fill('#logout_everywhere_password', 'wrong password');
    await page.press('#logout_everywhere_password', 'Enter');
    await waitForText(page, '#logout_everywhere_error', { matches: /\S/ });
    await shot('logout-everywhere-error');
    await page.fill('#logout_everywhere_password', password);
    await whileWaiting(page, '/json/users/me/logout_everywhere', () => page.click('#logout_everywhere_do'), async () => {
      await shot('logout-everywhere-waiting');
    });
    await waitForText(page, '#devices_status', { matches: /Logged out everywhere/ });
    await shot('logout-everywhere-success');

    // --- Add a new bot
    await page.click('#tab_your_bots');
    await page.click('#add_bot_button');
    await page.locator('dialog#add_bot_modal').waitFor({ state: 'visible' });
    assert.equal(await activeId(page), 'create_bot_type', 'focus in the first field');
    await shot('add-bot-empty');
    await page.fill('#create_bot_name', 'x');
    await page.click('#create_bot_submit');
    await waitForText(page, '#create_bot_name_error', { matches: /Name too short!/ });
    await shot('add-bot-error');
    await page.selectOption('#create_bot_type', '1');
    await page.fill('#create_bot_name', `Dialog Assistant ${n}`);
    await page.fill('#create_bot_short_name', `dialog-assistant-${n}`);
    await whileWaiting(page, '/json/bots', () => page.click('#create_bot_submit'), async () => {
      assert.equal(await page.isDisabled('#create_bot_submit'), true);
      await shot('add-bot-waiting');
    });
    await page.locator('tr.bot_row').first().waitFor({ state: 'visible' });
    await shot('add-bot-success');

    // --- Manage bot
    await whileWaiting(page, '/json/bots/*/api_key', () => page.click('tr.bot_row .open_edit_bot_form'), async () => {
      await page.locator('dialog#manage_bot_modal').waitFor({ state: 'visible' });
      await shot('manage-bot-waiting');
    });
    const botKey = await waitForText(page, '#bot_api_key', { matches: KEY_RE });
    // The whole key can be read: the field is at least as wide as its text.
    const fits = await page.locator('#bot_api_key').evaluate((el) => el.scrollWidth <= el.clientWidth + 1);
    assert.ok(fits, 'the bot key fits its field');
    await shot('manage-bot-shown');
    await page.click('#regenerate_bot_api_key');
    await shot('manage-bot-regenerate-confirm');
    await page.click('#bot_regenerate_do');
    await waitForText(page, '#bot_api_key', { matches: KEY_RE, not: botKey });
    await shot('manage-bot-regenerated');
    await assertNoHorizontalOverflow(page, width);
    await page.click('#manage_bot_modal .dialog_cancel');

    // --- Deactivate, asked in the page
    await page.click('tr.bot_row .deactivate_bot');
    await page.locator('#deactivate_bot_confirm').waitFor({ state: 'visible' });
    assert.match(await page.innerText('#deactivate_bot_warning'), new RegExp(`Deactivate Dialog Assistant ${n}\\?`));
    await shot('deactivate-confirm');
    await Promise.all([page.waitForEvent('load'), page.click('#deactivate_bot_do')]);
    await page.locator('tr.bot_row.inactive').first().waitFor({ state: 'visible' });
    await shot('deactivated');
    await assertNoHorizontalOverflow(page, width);
  }));
}
