// Settings → Account & privacy → "Manage your API key", as the owner clicks through it:
// password check, show, copy, download zuliprc (used by the official Python client),
// regenerate (the old zuliprc stops working), and the page at phone width.

import assert from 'node:assert/strict';
import {
  activeId,
  clearClipboard,
  clickDownload,
  readClipboard,
  signIn,
  waitForPath,
  waitForText,
} from '../lib/browser.js';
import {
  assertKeyRefused,
  assertNoErrorShown,
  assertNoHorizontalOverflow,
  assertProfile,
  assertZuliprc,
} from '../lib/checks.js';
import { test } from 'node:test';
import { suite } from '../lib/harness.js';
import { API_KEY_RE } from '../lib/server.js';

const s = suite('api_key');
const WARNING = 'Anyone with your API key can impersonate you, so be doubly careful with it.';
const KEY_RE = /^[A-Za-z0-9]{32}$/;

/** From any settings page: click the Account & privacy tab and open the API key modal. */
async function openApiKeyModal(page) {
  await page.click('#tab_account_and_privacy');
  await waitForPath(page, '/settings/account-and-privacy');
  await page.locator('#api_key_section').waitFor({ state: 'visible' });
  await page.click('#api_key_button');
  const modal = page.locator('dialog#api_key_modal');
  await modal.waitFor({ state: 'visible' });
  return modal;
}

test('owner shows, copies, downloads and regenerates their API key', s.flow(async () => {
  const { email, password } = s.server.owner;
  const site = s.server.site;
  const { page } = await s.open();

  await signIn(page, email, password);
  // Start on another tab so that clicking "Account & privacy" is a real navigation.
  await page.click('#tab_your_bots');
  await waitForPath(page, '/settings/your-bots');
  await page.click('#tab_account_and_privacy');
  await waitForPath(page, '/settings/account-and-privacy');
  assert.equal(await page.getAttribute('#tab_account_and_privacy', 'aria-current'), 'page');
  assert.equal((await page.innerText('#account_email')).trim(), email);
  const section = page.locator('section#api_key_section');
  await section.waitFor({ state: 'visible' });
  assert.match(await section.innerText(), /API key/);
  await s.shot(page, 'account-and-privacy');

  await page.click('#api_key_button');
  const modal = page.locator('dialog#api_key_modal');
  await modal.waitFor({ state: 'visible' });
  assert.match(await modal.innerText(), /Show API key/);
  assert.match(await modal.innerText(), /Please re-enter your password to confirm your identity\./);
  await modal.getByText(WARNING).first().waitFor({ state: 'visible' });
  assert.equal(await page.locator('#show_api_key').isVisible(), false, 'key hidden before the password');
  await s.shot(page, 'api-key-modal-password');

  // Wrong password: Zulip's message, no key.
  await page.fill('#get_api_key_password', 'not-the-password');
  await page.click('#get_api_key_button');
  const status = await waitForText(page, '#api_key_status', { matches: /Password is incorrect\./ });
  assert.match(status, /Password is incorrect\./);
  assert.equal(await page.locator('#show_api_key').isVisible(), false);
  await s.shot(page, 'api-key-wrong-password');

  // Right password: the account's key (the one its zuliprc carries; app logins get keys of
  // their own).
  await page.fill('#get_api_key_password', password);
  await page.click('#get_api_key_button');
  await page.locator('#show_api_key').waitFor({ state: 'visible' });
  const key = await waitForText(page, '#api_key_value', { matches: KEY_RE });
  assert.match(key, API_KEY_RE);
  assert.equal(key, await s.server.accountKey(email));
  await modal.getByText(WARNING).first().waitFor({ state: 'visible' });
  await s.shot(page, 'api-key-shown');

  // Copy.
  await clearClipboard(page);
  await page.click('#copy_api_key');
  // The page first checks that the key still works, then copies; the icon becomes a check.
  await waitForText(page, '#copy_api_key .label', { matches: /Copied!/ });
  await modal.getByText('Copied!').first().waitFor({ state: 'visible' });
  assert.equal(await page.locator('#copy_api_key .icon-check').isVisible(), true, 'the icon turns into a check mark');
  assert.equal(await page.locator('#copy_api_key .icon-copy').isVisible(), false);
  assert.equal(await readClipboard(page), key);

  // Download zuliprc; the official client accepts it.
  const first = await clickDownload(page, '#download_zuliprc');
  assertZuliprc(first, { email, key, site });
  assertProfile(await s.server.pythonCall(first.text), email);

  // Regenerate: confirmation first (Cancel keeps the key).
  await page.click('#regenerate_api_key');
  const confirm = page.locator('#regenerate_api_key_confirm');
  await confirm.waitFor({ state: 'visible' });
  const confirmText = await confirm.innerText();
  assert.match(confirmText, /log you out of this account on all mobile devices/);
  assert.match(confirmText, /Integrations using the current key will stop working\./);
  assert.equal(await activeId(page), 'regenerate_api_key_cancel', 'focus starts on Cancel');
  await s.shot(page, 'api-key-regenerate-confirm');
  await page.click('#regenerate_api_key_cancel');
  await confirm.waitFor({ state: 'hidden' });
  assert.equal((await page.innerText('#api_key_value')).trim(), key, 'Cancel keeps the key');
  assertProfile(await s.server.pythonCall(first.text), email);

  await page.click('#regenerate_api_key');
  await confirm.waitFor({ state: 'visible' });
  await page.click('#regenerate_api_key_do');
  const newKey = await waitForText(page, '#api_key_value', { matches: KEY_RE, not: key });
  assert.notEqual(newKey, key);
  await assertNoErrorShown(page, '#user_api_key_error');
  await s.shot(page, 'api-key-regenerated');

  // The old zuliprc is refused; a fresh download carries the new key and works.
  assertKeyRefused(await s.server.pythonCall(first.text));
  const second = await clickDownload(page, '#download_zuliprc');
  assertZuliprc(second, { email, key: newKey, site });
  assertProfile(await s.server.pythonCall(second.text), email);
  assert.equal(await s.server.accountKey(email), newKey);

  // Copy now gives the new key. The first copy's "Copied!" lasts 2 s: wait until it has
  // gone, so that the "Copied!" below is this click's, not a left-over of the first.
  await waitForText(page, '#copy_api_key .label', { matches: /^Copy$/ });
  await clearClipboard(page);
  await page.click('#copy_api_key');
  // The page first checks that the key still works, then copies; the icon becomes a check.
  await waitForText(page, '#copy_api_key .label', { matches: /Copied!/ });
  assert.equal(await readClipboard(page), newKey);

  // Close the modal.
  await modal.locator('.dialog_close[aria-label="Close modal"]').click();
  await modal.waitFor({ state: 'hidden' });
}));

test('the API key modal fits a 375px-wide phone screen', s.flow(async () => {
  const { email, password } = s.server.owner;
  const { page } = await s.open({ width: 375, height: 812 });

  await signIn(page, email, password);
  await assertNoHorizontalOverflow(page, 375);
  await s.shot(page, 'account-and-privacy-375px');

  const modal = await openApiKeyModal(page);
  await modal.getByText(WARNING).first().waitFor({ state: 'visible' });
  await assertNoHorizontalOverflow(page, 375);

  await page.fill('#get_api_key_password', password);
  await page.click('#get_api_key_button');
  await page.locator('#show_api_key').waitFor({ state: 'visible' });
  await waitForText(page, '#api_key_value', { matches: KEY_RE });
  await modal.getByText(WARNING).first().waitFor({ state: 'visible' });
  // Every control of the shown key is reachable without horizontal scrolling.
  for (const id of ['#copy_api_key', '#download_zuliprc', '#regenerate_api_key']) {
    const box = await page.locator(id).boundingBox();
    assert.ok(box, `${id} is laid out`);
    assert.ok(box.x >= 0 && box.x + box.width <= 376, `${id} lies within 375px: ${JSON.stringify(box)}`);
  }
  await assertNoHorizontalOverflow(page, 375);
  await s.shot(page, 'api-key-shown-375px');
}));
