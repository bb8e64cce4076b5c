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
    // The budget's row names the department too: wait for the departments' own list.
    await a.page.waitForURL('**/departments');
    await a.page.getByRole('heading', { name: 'Departments' }).waitFor();
    const edit = await openDialog(a, a.row('Harbour works').getByRole('button', { name: 'Edit' }));
    await control(edit, 'name').fill('Port works');
    await edit.getByRole('button', { name: 'Save' }).click();
    await edit.waitFor({ state: 'detached' });
    await b.row('Quay repairs').filter({ hasText: 'Port works' }).waitFor();

    // B filters its budgets by the referenced department, picked by name.
    const other = await server.api('POST', '/api/budgets', { name: 'Reading room', amount: 5, fiscal_year: 2026, status: 'draft' });
    assert.equal(other.status, 201);
    await b.row('Reading room').waitFor();
    await b.page.getByRole('button', { name: /^Filters/ }).click();
    const filters = b.page.getByRole('group', { name: 'Filters' });
    await filters.locator('aegis-reference-input input').fill('port');
    await b.page.getByRole('option', { name: 'Port works' }).click();
    await b.page.waitForURL(`**/budgets?department.eq=${harbour.id}`);
    await b.row('Reading room').waitFor({ state: 'detached' });
    await b.row('Quay repairs').waitFor();
    await b.page.goBack();
    await b.row('Reading room').waitFor();

    // A referenced department is not deleted; the user is told why.
    const confirm = await openDialog(a, a.row('Port works').getByRole('button', { name: 'Delete' }));
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await a.page.getByText(/referenced by 1 row of budgets/).waitFor();
    await a.row('Port works').waitFor();
    assert.equal((await server.api('GET', `/api/departments/${harbour.id}`)).status, 200);
  });
});

test("a department's budgets panel: live, kept to its view, and creating there fills the department", async () => {
  await scenario('has-many', [a, b], server, async () => {
    const port = (await server.api('GET', '/api/departments?q=Port')).body.data[0];
    const libraries = (await server.api('GET', '/api/departments?q=Libraries')).body.data[0];
    await b.page.getByRole('link', { name: 'Departments' }).click();
    await b.page.waitForURL('**/departments');
    const edit = await openDialog(b, b.row('Port works').getByRole('button', { name: 'Edit' }));
    const panel = edit.locator('aegis-child-panel', { hasText: 'Budgets' });
    await panel.getByRole('heading', { name: 'Budgets' }).waitFor();
    await panel.locator('tr.mat-mdc-row', { hasText: 'Quay repairs' }).waitFor();
    // Every row of the panel is the department's: its column is left out.
    assert.equal(await panel.getByRole('columnheader', { name: 'Department' }).count(), 0);
    await b.live('budgets');

    // A budget created elsewhere in this department appears; one in another does not.
    const budget = (name, department) => ({ name, amount: 10, fiscal_year: 2026, status: 'draft', department });
    const crane = await server.api('POST', '/api/budgets', budget('Crane hire', port.id));
    assert.equal(crane.status, 201);
    const shelves = await server.api('POST', '/api/budgets', budget('New shelves', libraries.id));
    assert.equal(shelves.status, 201);
    await panel.locator('tr.mat-mdc-row', { hasText: 'Crane hire' }).waitFor();
    // Moved to another department elsewhere, it leaves the panel.
    const moved = await server.api('PUT', `/api/budgets/${crane.body.id}`, {
      ...budget('Crane hire', libraries.id),
      version: crane.body.version,
    });
    assert.equal(moved.status, 200);
    await panel.locator('tr.mat-mdc-row', { hasText: 'Crane hire' }).waitFor({ state: 'detached' });
    assert.equal(await panel.locator('tr.mat-mdc-row', { hasText: 'New shelves' }).count(), 0);

    // Created from the panel, a budget references the department, shown and locked.
    await panel.getByRole('button', { name: 'New budget' }).click();
    const form = b.page.getByRole('dialog', { name: 'New budget' });
    await form.waitFor();
    // Typing waits for the new dialog's own autofocus (the focus was in its parent's).
    await b.page.waitForFunction(
      () => document.activeElement?.closest('[role=dialog]')?.querySelector('h2')?.textContent?.trim() === 'New budget',
    );
    const department = control(form, 'department').locator('input');
    await control(form, 'department').locator('input:disabled').waitFor();
    await b.page.waitForFunction((input) => input.value === 'Port works', await department.elementHandle());
    await control(form, 'name').fill('Mooring posts');
    await control(form, 'amount').fill('300');
    await control(form, 'fiscal_year').fill('2026');
    await control(form, 'status').click();
    await b.page.getByRole('option', { name: 'draft', exact: true }).click();
    await form.getByRole('button', { name: 'Save' }).click();
    await form.waitFor({ state: 'detached' });
    await panel.locator('tr.mat-mdc-row', { hasText: 'Mooring posts' }).waitFor();
    const stored = (await server.api('GET', '/api/budgets?q=Mooring')).body.data[0];
    assert.equal(stored.department, port.id);

    // Edited and deleted there, in the budgets' own dialogs.
    const mooring = panel.locator('tr.mat-mdc-row', { hasText: 'Mooring posts' });
    await mooring.getByRole('button', { name: 'Edit' }).click();
    const change = b.page.getByRole('dialog', { name: 'Edit budget' });
    await change.waitFor();
    await b.page.waitForFunction(
      () => document.activeElement?.closest('[role=dialog]')?.querySelector('h2')?.textContent?.trim() === 'Edit budget',
    );
    await control(change, 'name').fill('Mooring rings');
    await change.getByRole('button', { name: 'Save' }).click();
    await change.waitFor({ state: 'detached' });
    const rings = panel.locator('tr.mat-mdc-row', { hasText: 'Mooring rings' });
    await rings.waitFor();
    await rings.getByRole('button', { name: 'Delete' }).click();
    const confirm = b.page.getByRole('dialog', { name: 'Delete budget' });
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await rings.waitFor({ state: 'detached' });
    // The row leaves at once (optimistically); the notice comes with the server's answer.
    await b.page.getByText('Budget deleted').waitFor();
    assert.equal((await server.api('GET', `/api/budgets/${stored.id}`)).status, 404);
    await edit.getByRole('button', { name: 'Cancel' }).click();
    await edit.waitFor({ state: 'detached' });

    // A new department shows its panel once saved: the dialog stays on it.
    const create = await openDialog(b, b.page.getByRole('button', { name: 'New department' }));
    assert.equal(await create.locator('aegis-child-panel').count(), 0);
    await control(create, 'name').fill('Parks');
    await create.getByRole('button', { name: 'Save' }).click();
    await create.getByText('Department created; its budgets are below.').waitFor();
    await create.getByRole('heading', { name: 'Edit department' }).waitFor();
    await create.locator('aegis-child-panel').getByText('No budgets to show.').waitFor();
    await create.getByRole('button', { name: 'Close' }).click();
    await create.waitFor({ state: 'detached' });
    await b.row('Parks').waitFor();
  });
});

test("a budget's tags: picked by typing, shown as chips that follow renames, filtered and removed live", async () => {
  await scenario('many-to-many', [a, b], server, async () => {
    const urgent = await server.api('POST', '/api/tags', { name: 'urgent' });
    assert.equal(urgent.status, 201);
    for (const tab of [a, b]) {
      await tab.page.getByRole('link', { name: 'Budgets' }).click();
      await tab.page.waitForURL('**/budgets');
      await tab.row('Quay repairs').waitFor();
      await tab.live('budgets');
    }

    // A tags a budget by typing part of the tag's name.
    const edit = await openDialog(a, a.row('Quay repairs').getByRole('button', { name: 'Edit' }));
    await control(edit, 'tags').locator('input').fill('urg');
    await a.page.getByRole('option', { name: 'urgent' }).click();
    await control(edit, 'tags').getByRole('row', { name: 'urgent' }).waitFor();
    await edit.getByRole('button', { name: 'Save' }).click();
    await edit.waitFor({ state: 'detached' });
    const stored = (await server.api('GET', '/api/budgets?q=Quay')).body.data[0];
    assert.deepEqual(stored.tags, [urgent.body.id]);

    // B's list shows the chip, and follows the tag's rename.
    const chip = (text) => b.row('Quay repairs').locator('aegis-link-chips', { hasText: text });
    await chip('urgent').waitFor();
    const renamed = await server.api('PUT', `/api/tags/${urgent.body.id}`, { name: 'critical', version: 1 });
    assert.equal(renamed.status, 200);
    await chip('critical').waitFor();

    // B keeps the budgets holding the tag.
    await b.page.getByRole('button', { name: /^Filters/ }).click();
    const filters = b.page.getByRole('group', { name: 'Filters' });
    await filters.locator('aegis-reference-list-input input').fill('crit');
    await b.page.getByRole('option', { name: 'critical' }).click();
    await b.page.waitForURL(`**/budgets?tags.has_any=${urgent.body.id}`);
    await b.row('Reading room').waitFor({ state: 'detached' });
    await b.row('Quay repairs').waitFor();
    await b.page.goBack();
    await b.row('Reading room').waitFor();

    // Deleted elsewhere, the tag leaves the budget: its chip goes.
    const deleted = await server.api('DELETE', `/api/tags/${urgent.body.id}`);
    assert.equal(deleted.status, 204);
    await chip('critical').waitFor({ state: 'detached' });
    const after = (await server.api('GET', '/api/budgets?q=Quay')).body.data[0];
    assert.deepEqual(after.tags, []);
  });
});

test('a rule says what is wrong under its field before anything is sent, and the server agrees', async () => {
  await scenario('rules', [a], server, async () => {
    await a.page.getByRole('link', { name: 'Authors' }).click();
    await a.page.waitForURL('**/authors');
    await a.page.getByRole('heading', { name: 'Authors' }).waitFor();
    const dialog = await openDialog(a, a.page.getByRole('button', { name: 'New author' }));
    const sent = a.requests.length;
    await control(dialog, 'displayName').fill('A');
    await control(dialog, 'email').fill('not-an-address');
    await control(dialog, 'email').blur();
    await dialog.getByText('Display name must be at least 2 characters').waitFor();
    await dialog.getByText('Email must be an email address').waitFor();
    await dialog.getByRole('button', { name: 'Save' }).click();
    assert.equal(
      a.requests.slice(sent).filter((r) => r.method === 'POST').length,
      0,
      'an invalid form sends nothing',
    );
    const refused = await server.api('POST', '/api/authors', { displayName: 'A', email: 'not-an-address' });
    assert.equal(refused.status, 422);
    assert.deepEqual(
      refused.body.fields.map((f) => `${f.field} ${f.message}`),
      ['displayName must be at least 2 characters', 'email must be an email address'],
    );
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
  });
});
