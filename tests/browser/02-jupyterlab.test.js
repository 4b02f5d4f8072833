// Test 2: a JupyterLab session from the home page with one click on the
// defaults, opened in a new tab; a Python notebook computes 6*7; then Stop.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const test = require('node:test');
const h = require('./lib/harness');

/**
 * Resolves once the kernel answered `kernel_info` over its WebSocket (through
 * Atelier's proxy): from then on the notebook runs cells.
 */
function kernelConnected(tab) {
  return new Promise((resolve) => {
    tab.on('websocket', (socket) => {
      if (!new URL(socket.url()).pathname.endsWith('/channels')) return;
      socket.on('framereceived', (frame) => {
        if (String(frame.payload).includes('"kernel_info_reply"')) resolve();
      });
    });
  });
}

test('JupyterLab: start, open, run a notebook cell, stop', { timeout: 180_000 }, async () => {
  await h.withBrowser('02-jupyterlab', async (b) => {
    const page = await b.newPage();
    await h.login(page);
    const id = await h.startUntilRunning(b, page, null, 'new-session-dialog');
    const facts = await h.card(page, id).innerText();
    assert.match(facts, /JupyterLab/);
    assert.match(facts, /Python/);
    await b.shot(page, 'running');

    const lab = await h.openSession(b, page, id);
    await lab.locator('.jp-Launcher .jp-LauncherCard[data-category="Notebook"]').first().waitFor();
    assert.ok(new URL(lab.url()).pathname.startsWith(`/s/${id}/`), lab.url());
    await b.shot(lab, 'launcher');

    const kernel = kernelConnected(lab);
    await lab.locator('.jp-Launcher .jp-LauncherCard[data-category="Notebook"]').first().click();
    const panel = lab.locator('.jp-NotebookPanel:not(.lm-mod-hidden)');
    const editor = panel.locator('.jp-Cell .cm-content').first();
    await editor.waitFor();
    // A cell run before the notebook has its kernel is silently not run.
    await h.within('the kernel to answer over its WebSocket', h.TIMEOUTS.ide, kernel);
    await editor.click();
    await lab.keyboard.type('print(6*7)');
    await lab.keyboard.press('Shift+Enter');
    const output = panel.locator('.jp-OutputArea-output').first();
    await output.filter({ hasText: '42' }).waitFor({ timeout: h.TIMEOUTS.ide });
    assert.equal((await output.innerText()).trim(), '42');
    await panel.locator('.jp-InputPrompt', { hasText: '[1]:' }).first().waitFor();
    await b.shot(lab, 'notebook-output');

    // The home page with a running session, and a live notebook behind it.
    await page.bringToFront();
    await h.waitState(page, id, 'running', h.TIMEOUTS.page);
    const home = await b.shot(page, 'home-running', {
      clip: { x: 0, y: 0, width: 1280, height: 540 },
    });
    fs.copyFileSync(home, path.join(h.env.artifacts, 'home-running.png'));

    await h.stopSession(b, page, id);
    assert.equal(await h.card(page, id).locator('button[data-focus="remove"]').count(), 1);
    await b.shot(page, 'stopped');
  });
});
