// Test 5: the Jobs tab: a Python script that prints a line every 0.2 s; its
// lines appear in the output pane while it runs, then it is Finished.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const test = require('node:test');
const h = require('./lib/harness');

/** Lines ticker.py prints (see scripts/browser-tests.sh): `tick 0` to `tick 29`. */
const TICKS = 30;

function ticks(text) {
  return (text.match(/^tick \d+$/gm) || []).length;
}

test('Jobs: a script streams its output live, then finishes', { timeout: 120_000 }, async () => {
  await h.withBrowser('05-jobs', async (b) => {
    const page = await b.newPage();
    await h.login(page);
    await page.locator('#tab-jobs').click();
    await page.locator('#panel-jobs').waitFor();
    await page.locator('#jobs-loading').waitFor({ state: 'hidden' });
    await page.locator('#new-job').click();
    await page.locator('#job-dialog[open]').waitFor();
    await page.locator('#job-script').fill(`${h.env.home}/ticker.py`);
    await b.shot(page, 'new-job-dialog');
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'
        && new URL(r.url()).pathname === '/api/v1/jobs'),
      page.locator('#job-submit').click(),
    ]);
    assert.equal(response.status(), 201, `submitting the job: ${await response.text()}`);
    const job = await response.json();
    const row = page.locator(`#jobs-body tr[data-id="${job.id}"]`);
    const state = () => row.locator('.badge').getAttribute('data-state');
    const output = page.locator('#job-output');
    await page.locator('#job-detail').waitFor();

    // While it runs: some lines, then more lines, the job still running.
    const first = await h.eventually('the first lines while the job runs', 30_000, async () => {
      const n = ticks(await output.innerText());
      return n >= 2 && n < TICKS && (await state()) === 'running' && n;
    });
    await b.shot(page, 'running-output', { fullPage: true });
    await h.eventually('more lines while the job still runs', 10_000, async () => {
      const n = ticks(await output.innerText());
      return n > first && n < TICKS && (await state()) === 'running';
    });

    await row.locator('.badge[data-state="finished"], .badge[data-state="failed"]').waitFor({ timeout: 30_000 });
    assert.equal(await state(), 'finished');
    assert.equal((await row.locator('.badge').innerText()).trim(), 'Finished');
    await h.eventually('the whole output', 10_000, async () => ticks(await output.innerText()) === TICKS);
    assert.match(await output.innerText(), new RegExp(`^tick ${TICKS - 1}$`, 'm'));
    await page.locator('#job-output-status', { hasText: 'Complete' }).waitFor();
    const done = await b.shot(page, 'finished', { fullPage: true });
    fs.copyFileSync(done, path.join(h.env.artifacts, 'jobs-finished.png'));
  });
});
