// Test 3: a VS Code (code-server) session: open it, wait for the workbench,
// open ~/hello.txt with Quick Open (Ctrl+P) and see its text; then Stop.
'use strict';

const assert = require('node:assert/strict');
const test = require('node:test');
const h = require('./lib/harness');

test('VS Code: start, open a file from the home folder, stop', { timeout: 180_000 }, async () => {
  await h.withBrowser('03-vscode', async (b) => {
    const page = await b.newPage();
    await h.login(page);
    const id = await h.startUntilRunning(b, page, 'vscode', 'new-session-dialog');
    await b.shot(page, 'running');

    const code = await h.openSession(b, page, id);
    await code.locator('.monaco-workbench').waitFor();
    // The explorer lists the home folder once the workbench has connected.
    await code.locator('.explorer-folders-view .monaco-list-row', { hasText: 'hello.txt' }).waitFor();
    await b.shot(code, 'workbench');

    await code.keyboard.press('Control+P');
    const quickOpen = code.locator('.quick-input-widget input');
    await quickOpen.waitFor();
    await quickOpen.fill('hello.txt');
    await code.locator('.quick-input-list .monaco-list-row', { hasText: 'hello.txt' }).first().waitFor();
    await b.shot(code, 'quick-open');
    await code.keyboard.press('Enter');

    const lines = code.locator('.editor-instance .monaco-editor .view-lines').first();
    await h.eventually('hello.txt to show in the editor', h.TIMEOUTS.ide, async () => {
      const text = await lines.innerText().catch(() => '');
      return text.replace(/\u00a0/g, ' ').includes(h.env.hello);
    });
    const tab = code.locator('.tabs-container .tab.active');
    // The tab label puts the name and the extension in separate elements.
    assert.equal((await tab.innerText()).replace(/\s+/g, ''), 'hello.txt');
    await b.shot(code, 'editor');

    await h.stopSession(b, page, id);
    await b.shot(page, 'stopped');
  });
});
