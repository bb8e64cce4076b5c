// End to end: a list's view (filters, sort, page) kept in the URL and kept
// true while another user changes rows — after every change, tab B shows
// exactly what a fresh GET of its query returns — and export → bulk
// delete → import of the same file giving back the same rows.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';

import { Server, Tab, control, launch, openDialog, scenario } from './harness.mjs';

let server;
let browser;
let a;
let b;

/** B's view: drafts by amount, three to a page, the second page. */
const VIEW = 'status.in=draft&sort=amount&pageSize=3&page=2';

async function budget(name, amount, status = 'draft') {
  const created = await server.api('POST', '/api/budgets', { name, amount, fiscal_year: 2026, status });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body;
}

async function update(row, changes) {
  const saved = await server.api('PUT', `/api/budgets/${row.id}`, { ...row, ...changes });
  assert.equal(saved.status, 200, JSON.stringify(saved.body));
  return saved.body;
}

/** The names a tab's table shows, in order, and its paginator's total. */
async function shown(tab) {
  return tab.page.evaluate(() => {
    const headers = [...document.querySelectorAll('th.mat-mdc-header-cell')].map((th) => th.textContent.trim());
    const column = headers.indexOf('Name');
    const names = [...document.querySelectorAll('tr.mat-mdc-row')]
      .map((tr) => tr.querySelectorAll('td')[column]?.textContent.trim())
      .filter((name) => name !== undefined);
    const label = document.querySelector('.mat-mdc-paginator-range-label')?.textContent ?? '';
    const total = Number(/of (\d+)/.exec(label)?.[1] ?? -1);
    return { names, total };
  });
}

/** Waits until the tab shows what a fresh GET of `query` returns. */
async function agrees(tab, query, step) {
  let expected;
  let actual;
  for (let attempt = 0; attempt < 100; attempt++) {
    const fresh = (await server.api('GET', `/api/budgets?${query}`)).body;
    expected = { names: fresh.data.map((row) => row.name), total: fresh.total };
    actual = await shown(tab);
    if (JSON.stringify(actual) === JSON.stringify(expected)) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.deepEqual(actual, expected, `after ${step}`);
}

before(async () => {
  server = new Server();
  await server.start();
  // Drafts at 10, 20, ... 90; two approved ones in between.
  for (let n = 1; n <= 9; n++) {
    await budget(`Draft ${n * 10}`, n * 10);
  }
  await budget('Approved 25', 25, 'approved');
  await budget('Approved 55', 55, 'approved');
  browser = await launch();
  a = await Tab.open(browser, 'A', `${server.base}/budgets`);
  b = await Tab.open(browser, 'B', `${server.base}/budgets?${VIEW}`);
  for (const tab of [a, b]) {
    await tab.page.getByTestId('connection').filter({ hasText: 'Live' }).waitFor();
  }
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

test('a shared view stays equal to a fresh load while another user changes rows', async () => {
  await scenario('views', [a, b], server, async () => {
    await agrees(b, VIEW, 'opening the URL');
    // The URL's filter shows in the filter panel.
    await b.page.getByRole('button', { name: /Filters \(1\)/ }).waitFor();

    // A creates, in its own tab, a draft that falls on B's page.
    const dialog = await openDialog(a, a.page.getByRole('button', { name: 'New budget' }));
    await control(dialog, 'name').fill('Draft 45');
    await control(dialog, 'amount').fill('45');
    await control(dialog, 'fiscal_year').fill('2026');
    await control(dialog, 'status').click();
    await a.page.getByRole('option', { name: 'draft', exact: true }).click();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await agrees(b, VIEW, 'a draft created on this page');
    // B sees who added it.
    await b.row('Draft 45').filter({ hasText: 'Added by' }).waitFor();

    await budget('Approved 46', 46, 'approved');
    await agrees(b, VIEW, 'a row created outside the filter');
    await budget('Draft 5', 5);
    await agrees(b, VIEW, 'a draft created on an earlier page');
    await budget('Draft 99', 99);
    await agrees(b, VIEW, 'a draft created on a later page');

    const rows = (await server.api('GET', '/api/budgets?pageSize=100')).body.data;
    const named = (name) => rows.find((row) => row.name === name);
    await update(named('Draft 40'), { status: 'approved' });
    await agrees(b, VIEW, 'a row on this page leaving the filter');
    await update(named('Draft 80'), { amount: 33 });
    await agrees(b, VIEW, 'a row from a later page moving onto this one');
    await update(named('Approved 55'), { status: 'draft' });
    await agrees(b, VIEW, 'a row entering the filter');
    assert.equal((await server.api('DELETE', `/api/budgets/${named('Draft 10').id}`)).status, 204);
    await agrees(b, VIEW, 'a row B had not loaded deleted');

    // Back returns to the previous view, as the URL held it.
    await b.page.getByRole('button', { name: 'Name', exact: true }).click();
    await b.page.waitForURL(/sort=name/);
    await agrees(b, 'status.in=draft&sort=name&pageSize=3', 'sorting by name (page 1)');
    await b.page.goBack();
    await b.page.waitForURL((url) => url.search.includes('sort=amount'));
    await agrees(b, VIEW, 'going back');
  });
});

test('an exported view deleted in bulk and imported again gives the same rows', async () => {
  await scenario('export', [a, b], server, async () => {
    for (const [name, amount] of [
      ['Round trip, one', 1.5],
      ['Round trip "two"', 2],
      ['Round trip three', 3],
    ]) {
      await budget(name, amount, 'submitted');
    }
    await a.page.goto(`${server.base}/budgets?q=Round%20trip&sort=amount`);
    await agrees(a, 'q=Round%20trip&sort=amount', 'searching');
    const [download] = await Promise.all([
      a.page.waitForEvent('download'),
      a.page.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    const exported = readFileSync(await download.path(), 'utf8');
    assert.equal(exported.split('\n')[0], 'name,amount,fiscal_year,status,department,tags,contract');
    assert.equal(exported.trim().split('\n').length, 4, exported);

    // Every row of the view chosen, deleted with one confirmation.
    await a.page.getByRole('checkbox', { name: 'Select every budget on this page' }).check();
    await a.page.getByRole('region', { name: 'Selection' }).getByRole('button', { name: 'Delete' }).click();
    const confirm = a.page.getByRole('dialog');
    await confirm.getByText('Delete 3 budgets?').waitFor();
    await confirm.getByRole('button', { name: 'Delete 3' }).click();
    await a.page.getByText('3 budgets deleted').waitFor();
    await agrees(a, 'q=Round%20trip&sort=amount', 'the bulk delete');
    assert.equal((await server.api('GET', '/api/budgets?q=Round%20trip')).body.total, 0);

    const dialog = await openDialog(a, a.page.getByRole('button', { name: 'Import CSV' }));
    await dialog.locator('input[type=file]').setInputFiles({ name: 'export.csv', mimeType: 'text/csv', buffer: Buffer.from(exported) });
    await dialog.getByRole('button', { name: 'Validate' }).click();
    await dialog.getByRole('button', { name: 'Import 3 rows' }).click();
    await dialog.getByTestId('import-done').waitFor({ timeout: 60_000 });
    await dialog.getByRole('button', { name: 'Close' }).click();
    await agrees(a, 'q=Round%20trip&sort=amount', 'the import');
    const again = await fetch(`${server.base}/api/budgets/export?q=Round%20trip&sort=amount`, {
      headers: { authorization: `Bearer ${server.token}` },
    });
    assert.equal(await again.text(), exported);
  });
});

test('an edit dialog shows a change made elsewhere before saving, and can start from it', async () => {
  await scenario('remote-edit', [a, b], server, async () => {
    const row = await budget('Watched', 70);
    await b.page.goto(`${server.base}/budgets?q=Watched`);
    const dialog = await openDialog(b, b.row('Watched').getByRole('button', { name: 'Edit' }));
    await update(row, { amount: 71, name: 'Watched elsewhere' });
    const notice = dialog.getByTestId('remote-change');
    await notice.waitFor();
    assert.match(await notice.textContent(), /changed this budget while you were editing it: Name, Amount\./);
    await notice.getByRole('button', { name: 'Load their version' }).click();
    assert.equal(await control(dialog, 'name').inputValue(), 'Watched elsewhere');
    await control(dialog, 'amount').fill('72');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    const saved = (await server.api('GET', `/api/budgets/${row.id}`)).body;
    assert.deepEqual([saved.name, saved.amount, saved.version], ['Watched elsewhere', 72, 3]);
  });
});
