// End to end: a budget's history, as two users see it. B has the budget's
// edit dialog open on its History while A changes the amount twice: both
// changes show there as they happen, old and new. B takes the newest version
// and restores the one the budget was created as: A's list shows that amount
// again, and B's history says what was restored.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Server, Tab, control, launch, openDialog, scenario } from './harness.mjs';

let server;
let browser;
let a;
let b;

before(async () => {
  server = new Server();
  await server.start();
  const created = await server.api('POST', '/api/budgets', {
    name: 'Pier repair',
    amount: 100,
    fiscal_year: 2026,
    status: 'draft',
  });
  assert.equal(created.status, 201);
  browser = await launch();
  a = await Tab.open(browser, 'A', `${server.base}/budgets`);
  b = await Tab.open(browser, 'B', `${server.base}/budgets`);
  for (const tab of [a, b]) {
    await tab.page.getByTestId('connection').filter({ hasText: 'Live' }).waitFor();
  }
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

/** Sets the budget's amount in `tab`'s edit dialog and saves it. */
async function changeAmount(tab, budget, amount) {
  const dialog = await openDialog(tab, tab.row(budget).getByRole('button', { name: 'Edit' }));
  const input = control(dialog, 'amount');
  await input.fill(String(amount));
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
}

/** The text of each entry of the history, newest first. */
async function entries(history) {
  return (await history.locator('li').allInnerTexts()).map((text) => text.replace(/\s+/g, ' '));
}

test('a change shows live in the history open elsewhere, and an old version comes back', async () => {
  await scenario('history', [a, b], server, async () => {
    const dialog = await openDialog(b, b.row('Pier repair').getByRole('button', { name: 'Edit' }));
    await dialog.getByRole('button', { name: 'History' }).click();
    const history = dialog.locator('aegis-row-history');
    await history.locator('li').filter({ hasText: 'Created' }).waitFor();

    await changeAmount(a, 'Pier repair', 250);
    await history
      .locator('li')
      .filter({ hasText: /Amount\s*100\D+250/ })
      .waitFor();
    await changeAmount(a, 'Pier repair', 400);
    await history
      .locator('li')
      .filter({ hasText: /Amount\s*250\D+400/ })
      .waitFor();
    const shown = await entries(history);
    assert.equal(shown.length, 3, shown.join('\n'));
    assert.match(shown[0], /^Changed by \S+ .*Amount\s*250\D+400/);
    assert.match(shown[1], /^Changed by \S+ .*Amount\s*100\D+250/);
    assert.match(shown[2], /^Created by /);

    // B's form was opened on the first version: it takes A's before restoring.
    await dialog.getByRole('button', { name: 'Load their version' }).click();
    await history
      .locator('li')
      .filter({ hasText: 'Created' })
      .getByRole('button', { name: 'Restore this version' })
      .click();
    await history.locator('li').first().filter({ hasText: 'Restored version from' }).waitFor();
    assert.equal(await control(dialog, 'amount').inputValue(), '100');
    assert.match((await entries(history))[0], /Amount\s*400\D+100/);

    await a.row('Pier repair').filter({ hasText: '100' }).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
  });
});
