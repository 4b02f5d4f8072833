// Test 6: a wrong password shows the server's message; logging out returns
// to the login page, and the old cookie no longer opens the home page.
'use strict';

const assert = require('node:assert/strict');
const test = require('node:test');
const h = require('./lib/harness');

test('wrong password, then logout revokes the cookie', { timeout: 60_000 }, async () => {
  await h.withBrowser('06-logout', async (b) => {
    const page = await b.newPage();
    await h.submitLogin(page, `${h.env.password}-wrong`);
    const message = page.locator('#login-error');
    await message.filter({ hasText: /\S/ }).waitFor();
    assert.equal((await message.innerText()).trim(), 'wrong user name or password');
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.equal(await page.locator('#password').inputValue(), '');
    await b.shot(page, 'wrong-password');

    await h.login(page);
    const cookies = await b.context.cookies();
    assert.ok(cookies.length > 0, 'logging in set a cookie');
    assert.equal((await b.context.request.get(`${h.env.url}/api/v1/me`)).status(), 200);
    await b.shot(page, 'logged-in');

    await page.locator('#logout').click();
    await page.waitForURL((u) => u.pathname === '/login');
    await page.locator('#login-form').waitFor();
    await b.shot(page, 'logged-out');

    // A fresh browser context carrying the cookie from before the logout.
    const replay = await b.browser.newContext();
    await replay.addCookies(cookies);
    assert.equal((await replay.request.get(`${h.env.url}/api/v1/me`)).status(), 401);
    const old = await replay.newPage();
    await old.goto(`${h.env.url}/`);
    await old.waitForURL((u) => u.pathname === '/login');
    await old.locator('#login-form').waitFor();
    assert.equal(await old.locator('#user-name').count(), 0);
    await b.shot(old, 'old-cookie-refused');
  });
});
