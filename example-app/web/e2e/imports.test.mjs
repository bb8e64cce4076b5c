// End to end: an import is the feature's, not one tab's — tab B sees the
// progress of A's import and both hear how it ended; a dry run reloads no
// list; the import dialog, reopened, follows its running job again; and a
// job whose server died says it failed, in every tab, once the server is
// back.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Server, Tab, launch, listReads, openDialog, openImport, scenario, settled } from './harness.mjs';

let server;
let browser;
let a;
let b;

function csv(rows, prefix) {
  const lines = ['name,amount,fiscal_year,status'];
  for (let n = 0; n < rows; n++) {
    lines.push(`${prefix} ${n},${n % 1000},2026,draft`);
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

async function live(tab) {
  await tab.page.getByTestId('connection').filter({ hasText: 'Live' }).waitFor({ timeout: 30_000 });
}

before(async () => {
  server = new Server();
  await server.start();
  browser = await launch();
  a = await Tab.open(browser, 'A', `${server.base}/budgets`);
  b = await Tab.open(browser, 'B', `${server.base}/budgets`);
  await live(a);
  await live(b);
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

test("an import shows in the feature's other tabs and ends with a notice in both; a dry run reloads nothing", async () => {
  await scenario('import-everywhere', [a, b], server, async () => {
    const rows = 30_000;
    await settled(b, 'budgets');
    const readsBefore = listReads(b, 'budgets');
    const dialog = await openImport(a, 'many.csv', csv(rows, 'Everywhere'));
    // The dry run's end reached B too: it read nothing again.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(listReads(b, 'budgets'), readsBefore, 'a dry run reloads no list');

    await dialog.getByRole('button', { name: `Import ${rows} rows` }).click();
    // B follows A's job as it runs.
    const running = b.page.getByTestId('import-running');
    await running.waitFor();
    assert.match(await running.textContent(), new RegExp(`of ${rows} rows`));

    // A closes the dialog mid-import and opens it again: it follows the job.
    await a.page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    const reopened = await openDialog(a, a.page.getByRole('button', { name: 'Import CSV' }));
    await reopened.getByTestId('import-done').or(reopened.getByTestId('import-progress')).first().waitFor();
    await reopened.getByTestId('import-done').waitFor({ timeout: 120_000 });
    assert.equal((await reopened.getByTestId('import-done').textContent()).trim(), `Imported ${rows} of ${rows} rows.`);

    for (const tab of [a, b]) {
      await tab.page.getByText(`Import completed: ${rows} of ${rows} budgets imported`).waitFor();
      await tab.page.locator('.mat-mdc-paginator-range-label', { hasText: `of ${rows}` }).waitFor();
    }
    await running.waitFor({ state: 'detached' });
    await reopened.getByRole('button', { name: 'Close' }).click();
  });
});

test('an import whose server died says it failed, in every tab', async () => {
  await scenario('import-failed', [a, b], server, async () => {
    const rows = 150_000;
    const dialog = await openImport(a, 'huge.csv', csv(rows, 'Doomed'));
    await dialog.getByRole('button', { name: `Import ${rows} rows` }).click();
    await b.page.getByTestId('import-running').waitFor();
    await server.stop();
    await server.start();
    await live(a);
    await live(b);
    const failed = dialog.getByTestId('import-failed');
    await failed.waitFor({ timeout: 30_000 });
    assert.match(await failed.textContent(), /The import failed: the import stopped: the server restarted\./);
    for (const tab of [a, b]) {
      await tab.page.getByText(/Import failed: the import stopped: the server restarted/).waitFor();
      await tab.page.getByTestId('import-running').waitFor({ state: 'detached' });
    }
    await dialog.getByRole('button', { name: 'Close' }).click();
  });
});
