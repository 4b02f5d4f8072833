// Shared pieces of Atelier's browser tests: the settings that
// scripts/browser-tests.sh hands over in the environment, a Chromium per
// test, numbered screenshots, logging in, and the session card steps of the
// home page (start, wait for a state, open, stop). Element ids come from
// crates/web/assets/*.html and the cards built by home.js.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');

/** Chromium flags that work as root on these machines (see ENVIRONMENT.md). */
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** How long the slow, shared machine may take for each kind of wait (ms). */
const TIMEOUTS = {
  page: 15_000,
  start: 90_000,
  ide: 60_000,
  stop: 45_000,
};

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run these tests with scripts/browser-tests.sh, `
      + 'which creates the test user and the server');
  }
  return value;
}

/** What scripts/browser-tests.sh set up: the server, the user and their files. */
const env = {
  url: required('ATELIER_URL').replace(/\/+$/, ''),
  user: required('ATELIER_TEST_USER'),
  password: required('ATELIER_TEST_PASSWORD'),
  home: required('ATELIER_TEST_HOME'),
  hello: required('ATELIER_TEST_HELLO'),
  artifacts: required('ATELIER_ARTIFACTS'),
  chromium: process.env.ATELIER_CHROMIUM || '/usr/bin/chromium',
};

/** Polls `check` until it returns a truthy value; fails naming `what`. */
async function eventually(what, timeoutMs, check, intervalMs = 200) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Awaits `promise` for at most `timeoutMs`; fails naming `what`. */
async function within(what, timeoutMs, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One test's browser: a fresh Chromium (playwright gives each launch a new
 * profile folder and removes it), one context, screenshots numbered in
 * `<artifacts>/<folder>/NN-step.png`, and uncaught errors of Atelier's own
 * pages recorded so the test can assert there were none.
 */
class Browser {
  static async open(folder) {
    const browser = await chromium.launch({
      executablePath: env.chromium,
      headless: true,
      args: CHROMIUM_FLAGS,
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(TIMEOUTS.page);
    const dir = path.join(env.artifacts, folder);
    fs.mkdirSync(dir, { recursive: true });
    return new Browser(browser, context, dir);
  }

  constructor(browser, context, dir) {
    this.browser = browser;
    this.context = context;
    this.dir = dir;
    this.step = 0;
    /** Uncaught errors of pages on Atelier's origin (not the IDEs'). */
    this.pageErrors = [];
  }

  /** A new tab whose uncaught errors are recorded while it shows Atelier's pages. */
  async newPage() {
    const page = await this.context.newPage();
    page.on('pageerror', (error) => {
      if (!new URL(page.url()).pathname.startsWith('/s/')) this.pageErrors.push(error.message);
    });
    return page;
  }

  /**
   * Saves `NN-step.png` of `page` and returns its path. `options` go to
   * playwright's `page.screenshot` (`clip`, `fullPage`); default the viewport.
   */
  async shot(page, step, options = {}) {
    this.step += 1;
    const file = path.join(this.dir, `${String(this.step).padStart(2, '0')}-${step}.png`);
    await page.screenshot({ ...options, path: file });
    return file;
  }

  /** Screenshots every open tab as `failure-N.png`; never throws. */
  async failureShots() {
    const pages = this.context.pages();
    for (const [index, page] of pages.entries()) {
      const file = path.join(this.dir, `failure-${index + 1}.png`);
      await page.screenshot({ path: file }).catch(() => {});
    }
  }

  async close() {
    await this.browser.close().catch(() => {});
  }
}

/**
 * Runs `body(browser)` with a fresh browser; on failure saves screenshots of
 * every tab first. Asserts Atelier's pages threw no uncaught error.
 */
async function withBrowser(folder, body) {
  const browser = await Browser.open(folder);
  try {
    await body(browser);
    assert.deepEqual(browser.pageErrors, [], 'uncaught errors on Atelier pages');
  } catch (error) {
    await browser.failureShots();
    throw error;
  } finally {
    await browser.close();
  }
}

/** Fills the login form; `password` defaults to the test user's. Does not wait. */
async function submitLogin(page, password = env.password) {
  await page.goto(`${env.url}/login`);
  await page.locator('#username').fill(env.user);
  await page.locator('#password').fill(password);
  await page.locator('#login-submit').click();
}

/** Logs in through the login page and waits for the home page to name the user. */
async function login(page) {
  await submitLogin(page);
  await page.waitForURL(`${env.url}/`);
  await page.locator('#user-name', { hasText: env.user }).waitFor();
  await page.locator('#loading').waitFor({ state: 'hidden' });
}

/** The card of session `id` on the home page. */
function card(page, id) {
  return page.locator(`#sessions li[data-id="${id}"]`);
}

/**
 * New session → (the `kind` tile unless null: the defaults) → Start. Returns
 * the new session's id, read from the server's answer.
 */
async function startSession(b, page, kind, shotName) {
  await page.locator('#new-session').click();
  await page.locator('#new-dialog[open] #kind-tiles input[name="kind"]').first().waitFor();
  if (kind) await page.locator(`#kind-tiles label.tile:has(input[value="${kind}"])`).click();
  if (shotName) await b.shot(page, shotName);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'
      && new URL(r.url()).pathname === '/api/v1/sessions'),
    page.locator('#new-submit').click(),
  ]);
  assert.equal(response.status(), 201, `starting a session: ${await response.text()}`);
  const session = await response.json();
  if (kind) assert.equal(session.kind, kind);
  await card(page, session.id).waitFor();
  return session.id;
}

/** Waits until the card shows `state`; fails at once, with the card's text, on `failed`. */
async function waitState(page, id, state, timeout) {
  const badge = card(page, id).locator(`.badge[data-state="${state}"], .badge[data-state="failed"]`);
  await badge.waitFor({ timeout });
  const shown = await badge.getAttribute('data-state');
  if (shown !== state) {
    throw new Error(`session ${id} is ${shown}, not ${state}: ${await card(page, id).innerText()}`);
  }
  assert.equal((await badge.innerText()).trim().toLowerCase(), state);
}

/**
 * Starts a session of `kind` from the home page and waits for Running; checks
 * that the page opened it in a new tab by itself (that tab is closed: the test
 * uses the Open button). Returns the id.
 */
async function startUntilRunning(b, page, kind, shotName) {
  const popups = [];
  const collect = (p) => popups.push(p);
  b.context.on('page', collect);
  const id = await startSession(b, page, kind, shotName);
  await waitState(page, id, 'running', TIMEOUTS.start);
  await eventually('the page to open the running session in a new tab', 10_000, () => popups.length > 0);
  b.context.off('page', collect);
  await popups[0].waitForURL((u) => u.pathname.startsWith(`/s/${id}/`), { timeout: TIMEOUTS.page });
  for (const popup of popups) await popup.close();
  return id;
}

/** Clicks the card's Open button and returns the tab it opens. */
async function openSession(b, page, id) {
  const open = card(page, id).locator('a[data-focus="open"]');
  assert.equal(await open.getAttribute('target'), '_blank');
  const [tab] = await Promise.all([b.context.waitForEvent('page'), open.click()]);
  tab.setDefaultTimeout(TIMEOUTS.ide);
  return tab;
}

/** Back on the home page: Stop on the card, then waits for Stopped. */
async function stopSession(b, page, id) {
  await page.bringToFront();
  await card(page, id).locator('button[data-focus="stop"]').click();
  await waitState(page, id, 'stopped', TIMEOUTS.stop);
}

module.exports = {
  env,
  TIMEOUTS,
  eventually,
  within,
  withBrowser,
  submitLogin,
  login,
  card,
  startSession,
  waitState,
  startUntilRunning,
  openSession,
  stopSession,
};
