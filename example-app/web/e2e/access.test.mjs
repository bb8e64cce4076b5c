// End to end: per-row access. The example's authors are private to whoever
// added them: two users, each signed in with their own token, never see the
// other's authors — not in the list, not live over the WebSocket, not over
// REST.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Server, Tab, control, launch, openDialog, scenario } from './harness.mjs';

let server;
let browser;
let alice;
let bob;
const tokens = {};

before(async () => {
  server = new Server();
  await server.start();
  for (const user of ['alice', 'bob']) {
    tokens[user] = server.mint(user, ['authors']);
  }
  browser = await launch();
  alice = await Tab.open(browser, 'alice', `${server.base}/authors`, tokens.alice);
  bob = await Tab.open(browser, 'bob', `${server.base}/authors`, tokens.bob);
  for (const tab of [alice, bob]) {
    await tab.page.getByTestId('connection').filter({ hasText: 'Live' }).waitFor();
  }
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

async function add(tab, name) {
  const dialog = await openDialog(tab, tab.page.getByRole('button', { name: 'New author' }));
  await control(dialog, 'displayName').fill(name);
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
  await tab.row(name).waitFor();
}

test("a user never sees another's private rows, listed, live or over REST", async () => {
  await scenario('access', [alice, bob], server, async () => {
    await add(alice, 'Ada, by alice');
    await add(bob, 'Bo, by bob');
    // Each was live the whole time: the other's create reached neither list.
    await alice.page.locator('.mat-mdc-paginator-range-label', { hasText: 'of 1' }).waitFor();
    await bob.page.locator('.mat-mdc-paginator-range-label', { hasText: 'of 1' }).waitFor();
    assert.equal(await alice.row('Bo, by bob').count(), 0);
    assert.equal(await bob.row('Ada, by alice').count(), 0);

    // Changed by its owner, live in the owner's tab: still nothing reaches the other.
    const all = (await server.api('GET', '/api/authors')).body.data;
    const ada = all.find((a) => a.displayName === 'Ada, by alice');
    const changed = await server.api('PUT', `/api/authors/${ada.id}`, { ...ada, displayName: 'Ada L.' }, tokens.alice);
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    await alice.row('Ada L.').waitFor();
    await add(bob, 'Bo again');
    assert.equal(await bob.row('Ada').count(), 0);

    // Over REST: another's row is not found; the administrator reads both.
    assert.equal((await server.api('GET', `/api/authors/${ada.id}`, undefined, tokens.bob)).status, 404);
    assert.equal((await server.api('GET', '/api/authors', undefined, tokens.bob)).body.total, 2);
    assert.equal((await server.api('GET', '/api/authors')).body.total, 3);
  });
});
