// End to end: a reference between modules (budgets → departments), as two
// users see it: picked by typing part of a name, shown by its label, kept
// current when the department is renamed elsewhere, and a referenced
// department's delete refused with a message that says why.

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
  for (const name of ['Harbour works', 'Libraries']) {
    const created = await server.api('POST', '/api/departments', { name });
    assert.equal(created.status, 201);
  }
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

test('a department picked by typing, shown by name, renamed live, and kept while referenced', async () => {
  await scenario('relations', [a, b], server, async () => {
    const dialog = await openDialog(a, a.page.getByRole('button', { name: 'New budget' }));
    await control(dialog, 'name').fill('Quay repairs');
    await control(dialog, 'amount').fill('1200');
    await control(dialog, 'fiscal_year').fill('2026');
    await control(dialog, 'status').click();
    await a.page.getByRole('option', { name: 'draft', exact: true }).click();
    // Typing part of the name asks the server for matches.
    await control(dialog, 'department').locator('input').fill('harb');
    await a.page.getByRole('option', { name: 'Harbour works' }).click();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });

    // Both lists show the department's name, not its id.
    for (const tab of [a, b]) {
      await tab.row('Quay repairs').filter({ hasText: 'Harbour works' }).waitFor();
    }
    const stored = await server.api('GET', '/api/budgets?q=Quay');
    const harbour = (await server.api('GET', '/api/departments?q=Harbour')).body.data[0];
    assert.equal(stored.body.data[0].department, harbour.id);

    // Renamed in tab A, on the departments page: tab B's budget list follows.
    await a.page.getByRole('link', { name: 'Departments' }).click();
    const edit = await openDialog(a, a.row('Harbour works').getByRole('button', { name: 'Edit' }));
    await control(edit, 'name').fill('Port works');
    await edit.getByRole('button', { name: 'Save' }).click();
    await edit.waitFor({ state: 'detached' });
    await b.row('Quay repairs').filter({ hasText: 'Port works' }).waitFor();

    // A referenced department is not deleted; the user is told why.
    const confirm = await openDialog(a, a.row('Port works').getByRole('button', { name: 'Delete' }));
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await a.page.getByText(/referenced by 1 row of budgets/).waitFor();
    await a.row('Port works').waitFor();
    assert.equal((await server.api('GET', `/api/departments/${harbour.id}`)).status, 200);
  });
});
