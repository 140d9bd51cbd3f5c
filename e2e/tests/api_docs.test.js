// The API documentation pages (/api/…) as a reader uses them: from the settings page to the
// article and back into the settings tab the article names; signed out, a settings link goes
// through the login page and lands on that tab; every page fits a phone.

import assert from 'node:assert/strict';
import { pathOf, signIn, waitForPath } from '../lib/browser.js';
import { assertNoHorizontalOverflow } from '../lib/checks.js';
import { test } from 'node:test';
import { suite } from '../lib/harness.js';

const s = suite('api_docs');
const PAGES = ['/api/', '/api/api-keys', '/api/configuring-python-bindings', '/api/fetch-api-key'];

test('from settings to the API keys article and back into the tab it names', s.flow(async () => {
  const { email, password } = s.server.owner;
  const { page } = await s.open();
  await signIn(page, email, password);

  await page.getByRole('link', { name: 'About API keys' }).click();
  await waitForPath(page, '/api/api-keys');
  await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor({ state: 'visible' });
  assert.equal(await page.locator('.api-docs-nav a[aria-current="page"]').innerText(), 'API keys');
  await s.shot(page, 'api-keys');

  // "Your own key", step 1: the link opens Account & privacy, where step 2's button is.
  await page.locator('#get-yourself ~ ol a.settings-link').first().click();
  await waitForPath(page, '/settings/account-and-privacy');
  await page.click('#api_key_button');
  await page.locator('dialog#api_key_modal').waitFor({ state: 'visible' });

  // The navigation reaches every page; each shows this server's address in its examples.
  await page.goto('/api/');
  for (const p of PAGES.slice(1)) {
    await page.locator(`.api-docs-nav a[href="${p}"]`).click();
    await waitForPath(page, p);
    assert.ok((await page.innerText('main')).length > 400, `${p} has content`);
    await s.shot(page, p.slice(5));
  }
  assert.match(await page.innerText('main'), new RegExp(`${s.server.site.replace(/[.]/g, '\\.')}/api/v1/fetch_api_key`));
}));

test('signed out, a settings link logs in first and lands on the tab', s.flow(async () => {
  const { email, password } = s.server.owner;
  const { page } = await s.open();
  await page.goto('/api/configuring-python-bindings');
  assert.equal(pathOf(page), '/api/configuring-python-bindings', 'the pages are public');
  await page.locator('a.settings-link[href="/settings/your-bots"]').first().click();
  await waitForPath(page, '/login/');
  await page.fill('#id_username', email);
  await page.fill('#id_password', password);
  await page.click('#login_button');
  await waitForPath(page, '/settings/your-bots');
}));

test('every API documentation page fits a 390px-wide phone', s.flow(async () => {
  const { page } = await s.open({ width: 390, height: 844 });
  for (const p of PAGES) {
    await page.goto(p);
    await page.locator('article.api-doc h1').waitFor({ state: 'visible' });
    await assertNoHorizontalOverflow(page, 390);
    await s.shot(page, `390px-${p.slice(5) || 'index'}`);
  }
}));
