// "Forgot your password?" end to end, as a member does it in a second browser while still
// signed in in a first one: request, read the email on the development /emails/ page, follow
// the link, set a new password; the new one works, the old one and the old session don't,
// and the link cannot be used twice.

import assert from 'node:assert/strict';
import { pathOf, signIn, waitForPath } from '../lib/browser.js';
import { test } from 'node:test';
import { suite } from '../lib/harness.js';

const s = suite('password_reset');
const RESET_LINK_RE = /\/accounts\/password\/reset\/[^/?#]+\/[^/?#]+\/?$/;

test('a member resets a forgotten password from the login page', s.flow(async () => {
  const oldPassword = 'member-Password-old-3';
  const newPassword = 'Brand-new-Password-e2e-9';
  const member = await s.server.createUser('member.reset@example.com', 'Rita Reset', oldPassword);

  // Context A: the member is signed in.
  const { page: a } = await s.open();
  await signIn(a, member.email, oldPassword);

  // Context B: from the login page, "Forgot your password?".
  const { page: b } = await s.open();
  await b.goto('/login/');
  await b.getByRole('link', { name: 'Forgot your password?' }).click();
  await waitForPath(b, '/accounts/password/reset/');
  await b.locator('#password_reset_form').waitFor({ state: 'visible' });
  await s.shot(b, 'forgot-password-form');
  await b.fill('#id_email', member.email);
  await b.click('#password_reset_button');
  await waitForPath(b, '/accounts/password/reset/done/');
  await b.locator('#reset_sent').waitFor({ state: 'visible' });
  assert.match(await b.innerText('body'), /Check your email/);
  await s.shot(b, 'forgot-password-done');

  // The newest email in the development outbox, to the member, with the link.
  await b.goto('/emails/');
  const email = b.locator('article.email').first();
  await email.waitFor({ state: 'visible' });
  assert.equal((await email.locator('.email-to').innerText()).trim(), member.email);
  assert.match(await email.locator('.email-subject').innerText(), /password/i);
  await s.shot(b, 'emails-outbox');
  const links = email.locator('.email-body a');
  const hrefs = await links.evaluateAll((as) => as.map((x) => x.href));
  const pathnameOf = (h) => {
    try {
      return new URL(h).pathname;
    } catch {
      return ''; // not a URL Node can parse; not the reset link either
    }
  };
  const index = hrefs.findIndex((h) => RESET_LINK_RE.test(pathnameOf(h)));
  assert.ok(index >= 0, `a reset link in the newest email; links: ${JSON.stringify(hrefs)}`);
  const link = hrefs[index];
  assert.equal(new URL(link).origin, s.server.site, 'the link points at this server');
  const anchor = links.nth(index);
  if ((await anchor.getAttribute('target')) === '_blank') await b.goto(link); // same link, same tab
  else await anchor.click();

  // Set the new password.
  await b.waitForURL((u) => RESET_LINK_RE.test(u.pathname));
  await b.locator('#set_password_form').waitFor({ state: 'visible' });
  await s.shot(b, 'set-new-password-form');
  await b.fill('#id_new_password1', newPassword);
  await b.fill('#id_new_password2', newPassword);
  await b.click('#set_password_button');
  await waitForPath(b, '/accounts/password/done/');
  await b.locator('#reset_complete').waitFor({ state: 'visible' });
  assert.match(await b.innerText('body'), /You've set a new password!/);
  await s.shot(b, 'password-reset-complete');

  // Sign in with the new password (from the completion page's link).
  await b.locator('#reset_complete a[href$="/login/"]').click();
  await waitForPath(b, '/login/');
  await b.fill('#id_username', member.email);
  await b.fill('#id_password', newPassword);
  await b.click('#login_button');
  await waitForPath(b, '/settings/account-and-privacy');

  // The old password no longer works.
  const { page: c } = await s.open();
  await signIn(c, member.email, oldPassword, { expect: null });
  await c.locator('#login_error').waitFor({ state: 'visible' });
  assert.ok(['/login/', '/accounts/login/'].includes(pathOf(c)), `still on the login page: ${c.url()}`);
  await s.shot(c, 'old-password-refused');
  const api = await s.server.http('POST', '/api/v1/fetch_api_key', {
    form: { username: member.email, password: oldPassword },
  });
  assert.equal(api.json?.result, 'error', api.text);
  await s.server.fetchApiKey(member.email, newPassword);

  // Context A's session ended with the reset.
  await a.goto('/settings/account-and-privacy');
  await waitForPath(a, '/login/');
  await a.locator('#login_form').waitFor({ state: 'visible' });

  // The link works once.
  const { page: d } = await s.open();
  await d.goto(link);
  await d.locator('#reset_link_invalid').waitFor({ state: 'visible' });
  assert.match(
    await d.innerText('#reset_link_invalid'),
    /Sorry, the link you provided is invalid or has already been used\./,
  );
  assert.equal(await d.locator('#set_password_form').count(), 0, 'no form for a used link');
  await s.shot(d, 'reset-link-reused');
}));
