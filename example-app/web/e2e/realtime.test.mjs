// End to end, in Debian's Chromium: two users in two browser contexts on
// the example app, every real-time path the product promises.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Server, Tab, control, launch, openDialog, openImport, scenario } from './harness.mjs';

let server;
let browser;
let a;
let b;

before(async () => {
  server = new Server();
  await server.start();
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

async function fillBudget(tab, dialog, { name, amount, year = '2026', status = 'draft' }) {
  await control(dialog, 'name').fill(name);
  if (amount !== undefined) {
    await control(dialog, 'amount').fill(String(amount));
  }
  await control(dialog, 'fiscal_year').fill(year);
  await control(dialog, 'status').click();
  await tab.page.getByRole('option', { name: status, exact: true }).click();
}

/** Resolves, in `tab`'s page, with the time a row holding `text` appears. */
async function watchFor(tab, text) {
  await tab.page.evaluate((wanted) => {
    window.__seen = new Promise((resolve) => {
      const check = () => {
        for (const row of document.querySelectorAll('tr.mat-mdc-row')) {
          if (row.textContent?.includes(wanted)) {
            resolve(Date.now());
            return true;
          }
        }
        return false;
      };
      if (check()) return;
      const observer = new MutationObserver(() => {
        if (check()) observer.disconnect();
      });
      observer.observe(document.body, { childList: true, subtree: true, characterData: true });
    });
  }, text);
}

const latencies = [];

test('create, edit and delete propagate between the two users', async () => {
  await scenario('propagation', [a, b], server, async () => {
    for (let n = 0; n < 15; n++) {
      const name = `Propagated ${n}`;
      await watchFor(b, name);
      const dialog = await openDialog(a, a.page.getByRole('button', { name: 'New budget' }));
      await fillBudget(a, dialog, { name, amount: 100 + n });
      const posted = a.page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/api/budgets');
      await dialog.getByRole('button', { name: 'Save' }).click();
      const seen = await b.page.evaluate(() =>
        Promise.race([window.__seen, new Promise((_, fail) => setTimeout(() => fail(new Error('B never showed the row')), 10_000))]),
      );
      const request = await posted;
      await request.response();
      // From the moment A's request left (the browser's own clock) to the row in B.
      latencies.push(seen - request.timing().startTime);
      await dialog.waitFor({ state: 'detached' });
    }
    await a.row('Propagated 14').waitFor();

    const edit = await openDialog(b, b.row('Propagated 3').getByRole('button', { name: 'Edit' }));
    await control(edit, 'name').fill('Edited by B');
    await edit.getByRole('button', { name: 'Save' }).click();
    await a.row('Edited by B').waitFor();
    assert.equal(await a.row('Propagated 3').count(), 0);

    const confirm = await openDialog(a, a.row('Propagated 4').getByRole('button', { name: 'Delete' }));
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await b.row('Propagated 5').waitFor();
    await b.row('Propagated 4').waitFor({ state: 'detached' });

    latencies.sort((x, y) => x - y);
    const at = (q) => Math.round(latencies[Math.min(latencies.length - 1, Math.round((latencies.length - 1) * q))]);
    console.log(
      `tab-to-tab propagation (A's request sent → row shown in B), ${latencies.length} creates: ` +
        `median ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${Math.round(latencies[latencies.length - 1])} ms`,
    );
  });
});

async function budgetsInDatabase() {
  const reply = await server.api('GET', '/api/budgets?pageSize=200');
  return reply.body.data;
}

async function conflictRound(choice) {
  const row = choice === 'mine' ? 'Propagated 6' : 'Propagated 7';
  const dialogA = await openDialog(a, a.row(row).getByRole('button', { name: 'Edit' }));
  const dialogB = await openDialog(b, b.row(row).getByRole('button', { name: 'Edit' }));
  const fromA = `${row} from A`;
  const fromB = `${row} from B`;
  await control(dialogA, 'name').fill(fromA);
  await control(dialogB, 'name').fill(fromB);
  await dialogA.getByRole('button', { name: 'Save' }).click();
  await dialogA.waitFor({ state: 'detached' });
  // B saves later, from what it saw before A's change: a conflict.
  await dialogB.getByRole('button', { name: 'Save' }).click();
  await dialogB.getByRole('alert').filter({ hasText: 'changed by someone else' }).waitFor();
  await dialogB.getByRole('button', { name: 'Cancel' }).click();
  const banner = b.page.getByRole('alert').filter({ hasText: 'while you were saving yours' });
  await banner.waitFor();
  await banner.getByRole('button', { name: choice === 'mine' ? 'Keep mine' : 'Take theirs' }).click();
  await banner.waitFor({ state: 'detached' });
  const winner = choice === 'mine' ? fromB : fromA;
  await a.row(winner).waitFor();
  await b.row(winner).waitFor();
  const stored = (await budgetsInDatabase()).find((budget) => budget.name === winner);
  assert.ok(stored, `${winner} is in the database`);
  for (const tab of [a, b]) {
    assert.equal(await tab.row(winner).count(), 1);
    assert.equal(await tab.row(choice === 'mine' ? fromA : fromB).count(), 0);
  }
}

test('concurrent edits of one row: the later writer sees the conflict and resolves it either way', async () => {
  await scenario('conflict', [a, b], server, async () => {
    await conflictRound('mine');
    await conflictRound('theirs');
  });
});

function csv(rows, bad = 0) {
  const lines = ['name,amount,fiscal_year,status'];
  for (let n = 0; n < rows; n++) {
    lines.push(`Imported ${n},${n}.5,2026,${n % 2 === 0 ? 'draft' : 'approved'}`);
  }
  for (let n = 0; n < bad; n++) {
    lines.push(`Broken ${n},not a number,2026,draft`);
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

test('an import shows live progress to done and refreshes the other tab; bad rows are shown', async () => {
  await scenario('import', [a, b], server, async () => {
    const before = (await server.api('GET', '/api/budgets?pageSize=1')).body.total;
    const rows = 20_000;
    const dialog = await openImport(a, 'many.csv', csv(rows));
    assert.equal(
      (await dialog.getByTestId('import-preview').textContent()).trim(),
      `${rows} rows: ${rows} ready to import, 0 with errors.`,
    );
    await a.page.evaluate(() => {
      window.__progress = [];
      const record = () => {
        const bar = document.querySelector('[data-testid=import-progress]');
        const value = bar?.getAttribute('aria-valuenow');
        if (value !== null && value !== undefined) window.__progress.push(Number(value));
      };
      new MutationObserver(record).observe(document.body, {
        subtree: true,
        childList: true,
        attributes: true,
        attributeFilter: ['aria-valuenow'],
      });
    });
    await dialog.getByRole('button', { name: `Import ${rows} rows` }).click();
    await dialog.getByTestId('import-done').waitFor({ timeout: 120_000 });
    assert.equal((await dialog.getByTestId('import-done').textContent()).trim(), `Imported ${rows} of ${rows} rows.`);
    const progress = await a.page.evaluate(() => window.__progress);
    assert.ok(progress.some((value) => value > 0 && value < 100), `intermediate progress, got ${progress}`);
    await dialog.getByRole('button', { name: 'Close' }).click();
    const total = before + rows;
    for (const tab of [a, b]) {
      await tab.page.locator('.mat-mdc-paginator-range-label', { hasText: `of ${total}` }).waitFor();
    }

    const mixed = await openImport(a, 'mixed.csv', csv(2, 3));
    assert.equal((await mixed.getByTestId('import-preview').textContent()).trim(), '5 rows: 2 ready to import, 3 with errors.');
    const errors = mixed.locator('table.errors tr.mat-mdc-row');
    assert.equal(await errors.count(), 3);
    assert.match(await errors.first().textContent(), /3\s*amount\s*`not a number` is not a number/);
    await mixed.getByRole('button', { name: 'Choose another file' }).click();
    await mixed.getByRole('button', { name: 'Cancel' }).click();
  });
});

test('a server restart: both tabs show it, reconnect and catch up without a reload', async () => {
  await scenario('restart', [a, b], server, async () => {
    for (const tab of [a, b]) {
      await tab.page.evaluate(() => {
        window.__sameDocument = true;
      });
    }
    await server.stop();
    for (const tab of [a, b]) {
      await tab.page.getByTestId('connection').filter({ hasText: 'Connecting' }).waitFor();
    }
    await server.start();
    const made = await server.api('POST', '/api/budgets', {
      name: 'Made while away',
      amount: 1,
      fiscal_year: 2026,
      status: 'draft',
    });
    assert.equal(made.status, 201);
    // The new row sorts last, on the last page: the first page's total counts it.
    const total = (await server.api('GET', '/api/budgets?pageSize=1')).body.total;
    for (const tab of [a, b]) {
      await tab.page.getByTestId('connection').filter({ hasText: 'Live' }).waitFor({ timeout: 60_000 });
      await tab.page.locator('.mat-mdc-paginator-range-label', { hasText: `of ${total}` }).waitFor({ timeout: 30_000 });
      assert.equal(await tab.page.evaluate(() => window.__sameDocument), true, 'no page reload');
    }
  });
});

test('the real-time pages never polled', () => {
  for (const tab of [a, b]) {
    const polls = tab.requests.filter((r) => r.method === 'GET' && /\/api\/budgets\/import\/(?!template)/.test(r.url));
    assert.deepEqual(polls, [], `${tab.name} polled an import job`);
    const lists = tab.requests.filter((r) => r.method === 'GET' && r.url.includes('/api/budgets?'));
    // One load, one reload per finished import and per reconnect: never a stream of them.
    assert.ok(lists.length <= 8, `${tab.name} listed budgets ${lists.length} times`);
  }
});

test('a module without events still lists, creates and imports (by polling)', async () => {
  await scenario('suppliers', [a, b], server, async () => {
    await a.page.getByRole('link', { name: 'Suppliers' }).click();
    const dialog = await openDialog(a, a.page.getByRole('button', { name: 'New supplier' }));
    await control(dialog, 'name').fill('Globex');
    await control(dialog, 'country').fill('DE');
    await dialog.getByRole('checkbox').check();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await a.row('Globex').waitFor();

    const importDialog = await openImport(a, 'suppliers.csv', Buffer.from('name,country,active,rating\nInitech,US,true,3\nHooli,US,no,\n'));
    assert.equal((await importDialog.getByTestId('import-preview').textContent()).trim(), '2 rows: 2 ready to import, 0 with errors.');
    await importDialog.getByRole('button', { name: 'Import 2 rows' }).click();
    await importDialog.getByTestId('import-done').waitFor({ timeout: 30_000 });
    await importDialog.getByRole('button', { name: 'Close' }).click();
    await a.row('Hooli').waitFor();
    const polled = a.requests.some((r) => r.method === 'GET' && /\/api\/suppliers\/import\/(?!template)/.test(r.url));
    assert.ok(polled, 'without events, the import dialog polls the job');
  });
});
