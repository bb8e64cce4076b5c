// End to end: every page and dialog of the example app, scanned by
// axe-core in Chromium, has no serious or critical accessibility
// violation; and on a 390 px wide screen the navigation folds into a menu
// and a wide table scrolls inside its own box, never the page.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Server, Tab, assertAccessible, launch, openDialog, scenario } from './harness.mjs';

let server;
let browser;
let tab;

const PAGES = [
  ['budgets', 'New budget'],
  ['departments', 'New department'],
  ['authors', 'New author'],
  ['suppliers', 'New supplier'],
  ['user-roles', 'New user role'],
];

before(async () => {
  server = new Server();
  await server.start();
  const department = await server.api('POST', '/api/departments', { name: 'Harbour works' });
  for (let n = 0; n < 3; n++) {
    const created = await server.api('POST', '/api/budgets', {
      name: `Budget ${n}`,
      amount: 100 * n,
      fiscal_year: 2026,
      status: 'draft',
      department: department.body.id,
    });
    assert.equal(created.status, 201);
  }
  browser = await launch();
  tab = await Tab.open(browser, 'A11y', `${server.base}/budgets`);
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

test('every page and dialog has no serious or critical violation', async () => {
  await scenario('accessibility', [tab], server, async () => {
    for (const [path, create] of PAGES) {
      await tab.page.goto(`${server.base}/${path}`);
      await tab.page.getByRole('button', { name: create }).waitFor();
      await tab.page.locator('mat-progress-bar').waitFor({ state: 'detached' });
      await assertAccessible(tab, `the ${path} page`);

      await tab.page.getByRole('button', { name: /^Filters/ }).click();
      await tab.page.getByRole('group', { name: 'Filters' }).waitFor();
      await assertAccessible(tab, `the ${path} filters`);

      const form = await openDialog(tab, tab.page.getByRole('button', { name: create }));
      await assertAccessible(tab, `the ${path} form`);
      await form.getByRole('button', { name: 'Cancel' }).click();
      await form.waitFor({ state: 'detached' });

      const importButton = tab.page.getByRole('button', { name: 'Import CSV' });
      if ((await importButton.count()) > 0) {
        const dialog = await openDialog(tab, importButton);
        await assertAccessible(tab, `the ${path} import dialog`);
        await dialog.getByRole('button', { name: 'Cancel' }).click();
        await dialog.waitFor({ state: 'detached' });
      }
    }
    // A department's edit dialog, with its budgets panel loaded.
    await tab.page.goto(`${server.base}/departments`);
    const edit = await openDialog(tab, tab.row('Harbour works').getByRole('button', { name: 'Edit' }));
    await edit.locator('aegis-child-panel tr.mat-mdc-row', { hasText: 'Budget 2' }).waitFor();
    await edit.locator('mat-progress-bar').waitFor({ state: 'detached' });
    await assertAccessible(tab, 'a department with its budgets panel');
    await edit.getByRole('button', { name: 'Cancel' }).click();
    await edit.waitFor({ state: 'detached' });

    await tab.page.goto(`${server.base}/budgets`);
    const confirm = await openDialog(tab, tab.row('Budget 1').getByRole('button', { name: 'Delete' }));
    assert.match(await confirm.textContent(), /Delete the budget “Budget 1”\?/);
    await assertAccessible(tab, 'the delete confirmation');
    await confirm.getByRole('button', { name: 'Cancel' }).click();
  });
});

test('on a 390 px screen the navigation is a menu and the table scrolls in its box', async () => {
  await scenario('narrow', [tab], server, async () => {
    await tab.page.setViewportSize({ width: 390, height: 844 });
    await tab.page.goto(`${server.base}/budgets`);
    const menu = tab.page.getByRole('button', { name: 'Menu' });
    await menu.waitFor();
    const nav = tab.page.getByRole('navigation', { name: 'Features' });
    assert.equal(await nav.isVisible(), false, 'the navigation is folded away');
    const page = await tab.page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      width: document.documentElement.clientWidth,
      table: document.querySelector('.table-scroll')?.scrollWidth ?? 0,
      box: document.querySelector('.table-scroll')?.clientWidth ?? 0,
    }));
    assert.ok(page.scroll <= page.width, `the page does not scroll sideways: ${JSON.stringify(page)}`);
    assert.ok(page.table > page.box, `the table is wider than its box, which scrolls: ${JSON.stringify(page)}`);
    await assertAccessible(tab, 'the budgets page at 390 px');

    await menu.click();
    await nav.waitFor();
    // Scanned once open, its focus trap armed.
    await tab.page.locator('mat-sidenav.mat-drawer-opened').waitFor();
    await tab.page.waitForTimeout(300);
    await assertAccessible(tab, 'the open menu at 390 px');
    await nav.getByRole('link', { name: 'Departments' }).click();
    await tab.page.getByRole('heading', { name: 'Departments' }).waitFor();
    await nav.waitFor({ state: 'hidden' });
    await tab.page.setViewportSize({ width: 1280, height: 900 });
  });
});
