// Test 1: logging in through the login page leads to the home page, which
// names the signed-in user.
'use strict';

const assert = require('node:assert/strict');
const test = require('node:test');
const { env, withBrowser, submitLogin } = require('./lib/harness');

test('logging in shows the home page with the user name', { timeout: 60_000 }, async () => {
  await withBrowser('01-login', async (b) => {
    const page = await b.newPage();
    await page.goto(`${env.url}/`);
    await page.waitForURL((u) => u.pathname === '/login');
    await page.locator('#login-form').waitFor();
    await b.shot(page, 'login-page');

    await submitLogin(page);
    await page.waitForURL(`${env.url}/`);
    const name = page.locator('#user-name');
    await name.filter({ hasText: env.user }).waitFor();
    assert.equal((await name.innerText()).trim(), env.user);
    await page.locator('#loading').waitFor({ state: 'hidden' });
    assert.equal(await page.locator('#tab-sessions').getAttribute('aria-selected'), 'true');
    await page.locator('#connection[data-status="live"]').waitFor();
    await b.shot(page, 'home');
  });
});
