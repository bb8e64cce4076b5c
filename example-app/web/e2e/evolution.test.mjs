// Schema evolution, as a user lives it: the example app runs with budgets;
// two fields are added to the Rust struct (`owner: Option<String>`, and
// `currency` with `#[crud(default = "EUR")]`) in a copy of the example,
// which is built and started on the same data. The browser's list shows
// the new columns, old rows read empty and EUR, and create and edit work.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Server, Tab, control, launch, openDialog, scenario } from './harness.mjs';

const EVOLVED_BIN = process.env.AEGIS_E2E_EVOLVED_BIN;
const EVOLVED_WEB = process.env.AEGIS_E2E_EVOLVED_WEB;

let server;
let browser;

before(async () => {
  assert.ok(EVOLVED_BIN && EVOLVED_WEB, 'set AEGIS_E2E_EVOLVED_BIN and AEGIS_E2E_EVOLVED_WEB (cargo xtask e2e does)');
  server = new Server();
  await server.start();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

/** The text of the cells under the header `header`, row by row. */
async function column(tab, header) {
  const headers = await tab.page.locator('th.mat-mdc-header-cell').allTextContents();
  const index = headers.findIndex((text) => text.trim() === header);
  assert.notEqual(index, -1, `a column "${header}" among ${JSON.stringify(headers)}`);
  const rows = tab.page.locator('tr.mat-mdc-row');
  const cells = [];
  for (let n = 0; n < (await rows.count()); n++) {
    cells.push((await rows.nth(n).locator('td').nth(index).textContent()).trim());
  }
  return cells;
}

test('a field added to the struct: the old rows are kept, the list shows the new columns, create and edit work', async () => {
  for (const name of ['Before one', 'Before two']) {
    const created = await server.api('POST', '/api/budgets', { name, amount: 10, fiscal_year: 2026, status: 'draft' });
    assert.equal(created.status, 201);
  }
  await server.stop();

  server.bin = EVOLVED_BIN;
  server.web = EVOLVED_WEB;
  server.log = [];
  await server.start();
  const log = server.log.join('');
  assert.match(log, /ALTER TABLE `budgets` ADD COLUMN `owner` TEXT/);
  assert.match(log, /ALTER TABLE `budgets` ADD COLUMN `currency` TEXT NOT NULL DEFAULT 'EUR'/);

  const tab = await Tab.open(browser, 'evolved', `${server.base}/budgets`);
  await scenario('evolution', [tab], server, async () => {
    await tab.page.getByTestId('connection').filter({ hasText: 'Live' }).waitFor();
    await tab.row('Before two').waitFor();
    assert.deepEqual(await column(tab, 'Name'), ['Before one', 'Before two']);
    assert.deepEqual(await column(tab, 'Owner'), ['', '']);
    assert.deepEqual(await column(tab, 'Currency'), ['EUR', 'EUR']);

    const create = await openDialog(tab, tab.page.getByRole('button', { name: 'New budget' }));
    await control(create, 'name').fill('After');
    await control(create, 'amount').fill('5');
    await control(create, 'fiscal_year').fill('2027');
    await control(create, 'status').click();
    await tab.page.getByRole('option', { name: 'draft', exact: true }).click();
    await control(create, 'owner').fill('Ana');
    await control(create, 'currency').fill('CHF');
    await create.getByRole('button', { name: 'Save' }).click();
    await create.waitFor({ state: 'detached' });
    await tab.row('Ana').waitFor();

    const edit = await openDialog(tab, tab.row('Before one').getByRole('button', { name: 'Edit' }));
    await control(edit, 'owner').fill('Bo');
    await edit.getByRole('button', { name: 'Save' }).click();
    await edit.waitFor({ state: 'detached' });
    await tab.row('Bo').waitFor();

    const stored = (await server.api('GET', '/api/budgets?pageSize=50')).body.data;
    assert.deepEqual(
      stored.map(({ name, owner, currency }) => ({ name, owner, currency })),
      [
        { name: 'Before one', owner: 'Bo', currency: 'EUR' },
        { name: 'Before two', owner: null, currency: 'EUR' },
        { name: 'After', owner: 'Ana', currency: 'CHF' },
      ],
    );
  });
});
