// Settings → Your bots, as the owner clicks through it: add a generic bot (after an invalid
// short name), manage it, copy and download its key (used by the official Python client),
// regenerate it; then a member can neither see nor fetch the owner's bot key.

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
import { assertKeyRefused, assertNoErrorShown, assertProfile, assertZuliprc } from '../lib/checks.js';
import { test } from 'node:test';
import { suite } from '../lib/harness.js';

const s = suite('bots');
const KEY_RE = /^[A-Za-z0-9]{32}$/;
const BOT_NAME = 'Cookie Bot E2E';
const BOT_SHORT = 'cookie-e2e';

// Filled by the first flow, used by the second.
const made = { botId: null, botEmail: null };

function botRow(page, email) {
  return page.locator(`#bots_table tr.bot_row[data-bot-email="${email}"]`);
}

test('owner adds a generic bot and manages its API key', s.flow(async () => {
  const { email: ownerEmail, password } = s.server.owner;
  const site = s.server.site;
  const { page } = await s.open();

  await signIn(page, ownerEmail, password);
  await page.click('#tab_your_bots');
  await waitForPath(page, '/settings/your-bots');
  assert.equal(await page.getAttribute('#tab_your_bots', 'aria-current'), 'page');
  await page.getByText('You have no active bots.').waitFor({ state: 'visible' });
  await s.shot(page, 'your-bots-empty');

  // Open the form.
  await page.click('#add_bot_button');
  const addModal = page.locator('dialog#add_bot_modal');
  await addModal.waitFor({ state: 'visible' });
  assert.equal(await page.inputValue('#create_bot_type'), '2', 'Incoming webhook is the default, as in Zulip');
  await page.selectOption('#create_bot_type', '1');
  assert.equal(await page.locator('#create_payload_url').isVisible(), false, 'no endpoint for generic bots');
  assert.equal(await page.locator('#create_interface_type').isVisible(), false);
  const suffix = (await page.innerText('#create_bot_email_suffix')).trim();
  assert.match(suffix, /^-bot@[^@\s]+$/, `email suffix shown next to the short name: ${suffix}`);
  await s.shot(page, 'add-bot-form');

  // An invalid short name: Zulip's message inline, no bot.
  await page.fill('#create_bot_name', BOT_NAME);
  await page.fill('#create_bot_short_name', 'bad name!');
  await page.click('#create_bot_submit');
  // The error is said next to the field it is about.
  const err = await waitForText(page, '#create_bot_short_name_error', { matches: /\S/ });
  // Zulip's server says "Bad name or username"; its web app checks first and says "Please
  // only use characters that are valid in an email address". Either is Zulip's wording.
  assert.match(err, /Bad name or username|Please only use characters that are valid in an email address/);
  await page.locator('#create_bot_short_name_error').waitFor({ state: 'visible' });
  assert.equal(await page.getAttribute('#create_bot_short_name', 'aria-invalid'), 'true');
  await addModal.waitFor({ state: 'visible' });
  await s.shot(page, 'add-bot-invalid-short-name');
  const ownerKey = await s.server.fetchApiKey(ownerEmail, password);
  const ownerAuth = { email: ownerEmail, key: ownerKey };
  const rejected = await s.server.http('POST', '/api/v1/bots', {
    auth: ownerAuth,
    form: { bot_type: '1', full_name: BOT_NAME, short_name: 'bad name!' },
  });
  assert.equal(rejected.status, 400, rejected.text);
  assert.equal(rejected.json?.msg, 'Bad name or username', rejected.text);
  const listed = await s.server.http('GET', '/api/v1/bots', { auth: ownerAuth });
  assert.deepEqual(listed.json?.bots, [], `no bot was created: ${listed.text}`);

  // The valid one: the page reloads with the bot in the table.
  const botEmail = `${BOT_SHORT}${suffix}`;
  await page.fill('#create_bot_short_name', BOT_SHORT);
  await page.click('#create_bot_submit');
  const row = botRow(page, botEmail);
  await row.waitFor({ state: 'visible' });
  const rowText = await row.innerText();
  assert.match(rowText, new RegExp(BOT_NAME));
  assert.match(rowText, new RegExp(botEmail.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  assert.match(rowText, /Generic/);
  const botId = await row.getAttribute('data-bot-id');
  assert.match(botId, /^\d+$/);
  Object.assign(made, { botId, botEmail });
  await s.shot(page, 'your-bots-with-bot');

  // The row's own download button gives the bot's zuliprc.
  const fromRow = await clickDownload(page, `#bots_table tr.bot_row[data-bot-id="${botId}"] .download_bot_zuliprc`);
  const rowRc = assertZuliprc(fromRow, { email: botEmail, site });

  // Manage: the key is fetched into #bot_api_key.
  await row.locator('.open_edit_bot_form').click();
  const manage = page.locator('dialog#manage_bot_modal');
  await manage.waitFor({ state: 'visible' });
  assert.match(await manage.innerText(), /Manage bot/);
  await page.locator('section#bot_api_key_section').waitFor({ state: 'visible' });
  await manage.getByText('Anyone with a bot\'s API key can impersonate the bot, so be careful with it!').first()
    .waitFor({ state: 'visible' });
  const key = await waitForText(page, '#bot_api_key', { matches: KEY_RE });
  assert.equal(key, rowRc.key, 'the row download carries the shown key');
  const viaApi = await s.server.http('GET', `/api/v1/bots/${botId}/api_key`, { auth: ownerAuth });
  assert.equal(viaApi.json?.api_key, key, `GET /api/v1/bots/${botId}/api_key: ${viaApi.text}`);
  await assertNoErrorShown(page, '#bot_api_key_error');
  await s.shot(page, 'manage-bot');

  // Copy.
  await clearClipboard(page);
  await page.click('#copy_bot_api_key');
  assert.equal(await readClipboard(page), key);

  // Download from the dialog; the official client accepts it as the bot.
  const first = await clickDownload(page, '#download_bot_zuliprc');
  assertZuliprc(first, { email: botEmail, key, site });
  const profile = assertProfile(await s.server.pythonCall(first.text), botEmail);
  assert.equal(profile.is_bot, true);
  assert.equal(profile.full_name, BOT_NAME);

  // Regenerate, after a confirmation naming what breaks.
  await page.click('#regenerate_bot_api_key');
  const confirm = page.locator('#bot_regenerate_confirm');
  await confirm.waitFor({ state: 'visible' });
  assert.match(await confirm.innerText(), /Integrations using the old key will stop working, and the bot's other API keys are revoked\./);
  // No overlap unless chosen (the seed's immediate invalidation).
  assert.equal(await page.inputValue('#bot_regenerate_overlap'), '0');
  assert.equal(await activeId(page), 'bot_regenerate_cancel', 'focus starts on Cancel');
  await s.shot(page, 'bot-regenerate-confirm');
  await page.click('#bot_regenerate_do');
  const newKey = await waitForText(page, '#bot_api_key', { matches: KEY_RE, not: key });
  assert.notEqual(newKey, key);

  assertKeyRefused(await s.server.pythonCall(first.text));
  const second = await clickDownload(page, '#download_bot_zuliprc');
  assertZuliprc(second, { email: botEmail, key: newKey, site });
  assertProfile(await s.server.pythonCall(second.text), botEmail);
  await clearClipboard(page);
  await page.click('#copy_bot_api_key');
  assert.equal(await readClipboard(page), newKey);
  await s.shot(page, 'bot-regenerated');

  // All bots lists it too (the owner is an administrator).
  await page.goto('/settings/your-bots');
  await page.click('#tab_all_bots');
  await waitForPath(page, '/settings/all-bots');
  await botRow(page, botEmail).waitFor({ state: 'visible' });
  await s.shot(page, 'all-bots');
}));

test("a member sees no trace of the owner's bot and cannot fetch its key", s.flow(async () => {
  assert.ok(made.botId, 'the previous flow created a bot');
  const member = await s.server.createUser('member.bots@example.com', 'Mia Member', 'member-Password-e2e-7');
  const { page } = await s.open();

  await signIn(page, member.email, member.password);
  await page.click('#tab_your_bots');
  await waitForPath(page, '/settings/your-bots');
  await page.getByText('You have no active bots.').waitFor({ state: 'visible' });
  assert.equal(await botRow(page, made.botEmail).count(), 0, "the owner's bot is not listed");
  assert.equal(await page.locator(`tr.bot_row[data-bot-id="${made.botId}"]`).count(), 0);
  assert.doesNotMatch(await page.locator('body').innerText(), new RegExp(BOT_NAME));
  await s.shot(page, 'member-your-bots');

  // All bots is for administrators: a member is sent back to Your bots.
  await page.goto('/settings/all-bots');
  await waitForPath(page, '/settings/your-bots');
  assert.equal(await botRow(page, made.botEmail).count(), 0);

  // The API refuses the member the owner's bot key.
  const memberKey = await s.server.fetchApiKey(member.email, member.password);
  const r = await s.server.http('GET', `/api/v1/bots/${made.botId}/api_key`, {
    auth: { email: member.email, key: memberKey },
  });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json?.result, 'error', r.text);
  assert.equal(r.json?.msg, 'Insufficient permission', r.text);
  assert.equal('api_key' in (r.json ?? {}), false, r.text);
  assert.doesNotMatch(r.text, /[A-Za-z0-9]{32}/, 'no key in the answer');
}));
