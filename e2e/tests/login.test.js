// The login page: wrong password, ?next= never leaves the site, logout, keyboard-only login,
// and the session/CSRF cookies of docs/web-ui.md.

import assert from 'node:assert/strict';
import { activeId, pathOf, signIn, waitForPath } from '../lib/browser.js';
import { test } from 'node:test';
import { suite } from '../lib/harness.js';

const s = suite('login');
// docs/web-ui.md: `sessionid` and `csrftoken` on an http site (`__Host-` prefixed on https).
const SESSION = 'sessionid';
const CSRF = 'csrftoken';

test('signed out, settings pages send you to the login page', s.flow(async () => {
  const { page } = await s.open();
  for (const p of ['/', '/settings', '/settings/account-and-privacy', '/settings/your-bots', '/settings/all-bots']) {
    await page.goto(p);
    await waitForPath(page, '/login/');
    await page.locator('#login_form').waitFor({ state: 'visible' });
  }
  assert.equal(await page.getAttribute('#login_form', 'action'), '/accounts/login/');
  assert.equal(await page.getAttribute('#id_username', 'name'), 'username');
  assert.equal(await page.getAttribute('#id_password', 'name'), 'password');
  assert.equal((await page.innerText('#login_button')).trim(), 'Log in');
  await s.shot(page, 'login-page');
}));

test('a wrong password shows an error and no session', s.flow(async () => {
  const { email } = s.server.owner;
  const { context, page } = await s.open();
  await signIn(page, email, 'definitely-wrong-password', { expect: null });
  await page.locator('#login_error').waitFor({ state: 'visible' });
  assert.match(await page.innerText('#login_error'), /\S/);
  assert.ok(['/login/', '/accounts/login/'].includes(pathOf(page)), `still on the login page: ${page.url()}`);
  const cookies = await context.cookies();
  assert.equal(cookies.some((c) => c.name === SESSION), false, 'no session cookie');
  await s.shot(page, 'login-wrong-password');

  await page.goto('/settings/account-and-privacy');
  await waitForPath(page, '/login/');
}));

test('the session and CSRF cookies are as documented, and forms need the token', s.flow(async () => {
  const { email, password } = s.server.owner;
  const { context, page } = await s.open();
  await page.goto('/login/');
  const before = (await context.cookies()).find((c) => c.name === CSRF);
  assert.ok(before, `the login page sets ${CSRF}`);
  assert.equal(
    await page.locator('#login_form input[name="csrfmiddlewaretoken"]').count(),
    1,
    'the login form carries csrfmiddlewaretoken',
  );
  await signIn(page, email, password);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === SESSION);
  assert.ok(session, `signed in: ${SESSION} is set`);
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Lax');
  assert.equal(session.path, '/');
  assert.equal(session.secure, false, 'not Secure on an http site');
  assert.match(session.value, /^[A-Za-z0-9]{32}$/);
  const csrf = cookies.find((c) => c.name === CSRF);
  assert.ok(csrf);
  assert.equal(csrf.httpOnly, true, 'HttpOnly, like Zulip (CSRF_COOKIE_HTTPONLY)');
  assert.equal(csrf.sameSite, 'Lax');
  assert.notEqual(csrf.value, before.value, 'the CSRF token is rotated at login');
  assert.equal(
    await page.locator('meta[name="csrf-token"]').getAttribute('content'),
    csrf.value,
    'pages carry the current token in <meta name="csrf-token">',
  );

  // Outside the browser: a login POST without the token is refused, and so is one with a
  // valid cookie/token pair from another Origin; the same pair from this site signs in.
  const noToken = await s.server.http('POST', '/accounts/login/', { form: { username: email, password } });
  assert.equal(noToken.status, 403, `login without CSRF token: HTTP ${noToken.status}`);
  assert.doesNotMatch(noToken.headers.get('set-cookie') ?? '', new RegExp(`${SESSION}=[A-Za-z0-9]`));

  const loginPage = await s.server.http('GET', '/login/');
  const cookie = /(?:^|[\s,])(csrftoken=[^;,\s]+)/.exec(loginPage.headers.get('set-cookie') ?? '')?.[1];
  const token = /name="csrfmiddlewaretoken"\s+value="([^"]+)"|value="([^"]+)"\s+name="csrfmiddlewaretoken"/.exec(loginPage.text);
  assert.ok(cookie && token, `GET /login/ gives a CSRF cookie and form token`);
  const form = { csrfmiddlewaretoken: token[1] ?? token[2], username: email, password };
  const foreign = await s.server.http('POST', '/accounts/login/', {
    form,
    headers: { Cookie: cookie, Origin: 'https://evil.example' },
  });
  assert.equal(foreign.status, 403, `login POST from another Origin: HTTP ${foreign.status}`);
  const own = await s.server.http('POST', '/accounts/login/', {
    form,
    headers: { Cookie: cookie, Origin: s.server.site },
  });
  assert.equal(own.status, 302, `login POST from this site: HTTP ${own.status} ${own.text.slice(0, 200)}`);
  assert.match(own.headers.get('set-cookie') ?? '', new RegExp(`${SESSION}=[A-Za-z0-9]{32}`));
}));

test('?next= after login never leaves the site', s.flow(async () => {
  const { email, password } = s.server.owner;
  const hostile = [
    'https://evil.example/',
    '//evil.example/',
    '/\\evil.example/',
    'https:evil.example',
    'javascript:alert(1)',
  ];
  for (const next of hostile) {
    const { context, page } = await s.open();
    const offsite = [];
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.protocol.startsWith('http') && u.host !== new URL(s.server.site).host) offsite.push(r.url());
    });
    await signIn(page, email, password, { next, expect: null });
    await page.waitForURL((u) => !['/login/', '/accounts/login/'].includes(u.pathname));
    await page.waitForLoadState('load');
    assert.equal(new URL(page.url()).origin, s.server.site, `next=${next} stayed on the site: ${page.url()}`);
    assert.deepEqual(offsite, [], `next=${next} caused no request off the site`);
    await context.close();
  }

  // A local path is honoured.
  const { page } = await s.open();
  await signIn(page, email, password, { next: '/settings/your-bots', expect: '/settings/your-bots' });
  await s.shot(page, 'login-next-local-path');
}));

test('logging out ends the session', s.flow(async () => {
  const { email, password } = s.server.owner;
  const { context, page } = await s.open();
  await signIn(page, email, password);
  await page.locator('#logout_form #logout_button').waitFor({ state: 'visible' });
  assert.match(await page.innerText('#logout_button'), /Log out/);
  await s.shot(page, 'signed-in-header');
  await page.click('#logout_button');
  await waitForPath(page, '/login/');
  await page.locator('#login_form').waitFor({ state: 'visible' });
  await s.shot(page, 'logged-out');

  await page.goto('/settings');
  await waitForPath(page, '/login/');
  await page.goto('/settings/your-bots');
  await waitForPath(page, '/login/');
  const session = (await context.cookies()).find((c) => c.name === SESSION);
  assert.ok(!session || session.value === '', 'the session cookie is gone');
}));

test('keyboard-only login with Tab and Enter', s.flow(async () => {
  const { email, password } = s.server.owner;
  const { page } = await s.open();
  await page.goto('/login/');
  await page.locator('#login_form').waitFor({ state: 'visible' });

  // Tab from the top of the page until the email field has focus.
  for (let i = 0; i < 25 && (await activeId(page)) !== 'id_username'; i++) {
    await page.keyboard.press('Tab');
  }
  assert.equal(await activeId(page), 'id_username', 'Tab reaches the email field');
  await page.keyboard.type(email);
  await page.keyboard.press('Tab');
  assert.equal(await activeId(page), 'id_password', 'Tab goes from email to password');
  await page.keyboard.type(password);
  await s.shot(page, 'keyboard-login-filled');
  await page.keyboard.press('Enter');
  await waitForPath(page, '/settings/account-and-privacy');

  // And out again with the keyboard: focus the logout button, press Enter.
  await page.locator('#logout_button').focus();
  await page.keyboard.press('Enter');
  await waitForPath(page, '/login/');
}));
