// Test 4: a Jupyter Notebook 7 session opens on its file tree, which lists
// the user's own file; then Stop.
'use strict';

const test = require('node:test');
const h = require('./lib/harness');

test('Jupyter Notebook: start, see the home folder, stop', { timeout: 180_000 }, async () => {
  await h.withBrowser('04-notebook', async (b) => {
    const page = await b.newPage();
    await h.login(page);
    const id = await h.startUntilRunning(b, page, 'notebook', 'new-session-dialog');
    await b.shot(page, 'running');

    const notebook = await h.openSession(b, page, id);
    await notebook.locator('.jp-DirListing-item', { hasText: 'hello.txt' }).waitFor();
    await notebook.locator('.jp-DirListing-item', { hasText: 'ticker.py' }).waitFor();
    await b.shot(notebook, 'tree');

    await h.stopSession(b, page, id);
    await b.shot(page, 'stopped');
  });
});
