// Test 7: a JupyterLab session on the Slurm cluster `hpc`, chosen in the
// new-session dialog with its queue; the card says which Slurm job runs it
// and where; JupyterLab opens through the proxy and the gate and lists the
// user's home folder; then Stop.
'use strict';

const assert = require('node:assert/strict');
const test = require('node:test');
const h = require('./lib/harness');

test('Slurm: choose the cluster and queue, open JupyterLab, stop', { timeout: 240_000 }, async () => {
  await h.withBrowser('07-slurm', async (b) => {
    const page = await b.newPage();
    await h.login(page);
    await page.locator('#new-session').click();
    await page.locator('#new-dialog[open] #kind-tiles input[name="kind"]').first().waitFor();
    await page.locator('#kind-tiles label.tile:has(input[value="jupyterlab"])').click();
    await page.locator('#new-cluster').selectOption('hpc');
    const queue = page.locator('#new-queue');
    await queue.waitFor();
    const offered = await queue.locator('option').allInnerTexts();
    assert.ok(offered.some((text) => /^debug \(default\): 2 CPUs/.test(text)), offered.join(' | '));
    await queue.selectOption('debug');
    await b.shot(page, 'dialog-with-cluster');

    const popups = [];
    b.context.on('page', (p) => popups.push(p));
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'
        && new URL(r.url()).pathname === '/api/v1/sessions'),
      page.locator('#new-submit').click(),
    ]);
    assert.equal(response.status(), 201, await response.text());
    const { id, cluster } = await response.json();
    assert.equal(cluster, 'hpc');
    await h.waitState(page, id, 'running', 120_000);
    await h.eventually('the card to name the Slurm job', 10_000,
      async () => /Slurm job \d+ on /.test(await h.card(page, id).innerText()));
    await b.shot(page, 'running-on-slurm');
    // The page opened the running session by itself: close that tab.
    await h.eventually('the page to open the session', 10_000, () => popups.length > 0);
    for (const popup of popups) await popup.close();
    b.context.removeAllListeners('page');

    const lab = await h.openSession(b, page, id);
    // The file browser lists the home folder (what else shows depends on
    // the layout JupyterLab kept from the user's earlier sessions).
    await lab.locator('.jp-DirListing-item', { hasText: 'hello.txt' }).waitFor();
    await b.shot(lab, 'jupyterlab');
    await lab.close();

    await h.stopSession(b, page, id);
    await b.shot(page, 'stopped');
  });
});
