// End to end: a budget's contract (a file field), as two users see it:
// uploaded in one tab's form, listed live in the other's, downloaded there
// byte for byte; an image shown as a thumbnail; a large upload's progress;
// a type the field does not take refused with the server's message.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';

import { Server, Tab, control, launch, openDialog, scenario } from './harness.mjs';

let server;
let browser;
let a;
let b;

/** A 1×1 PNG, whole: the browser decodes it. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=',
  'base64',
);

function pdf(bytes) {
  return Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(bytes), Buffer.from('\n%%EOF\n')]);
}

function sha256(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}

before(async () => {
  server = new Server();
  await server.start();
  for (const name of ['Quay lease', 'Dock plan', 'Archive scan', 'Loose notes']) {
    const created = await server.api('POST', '/api/budgets', { name, amount: 10, fiscal_year: 2026, status: 'draft' });
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

/** Opens a budget's edit dialog in `tab` and gives its contract's file input. */
async function contractOf(tab, budget) {
  const dialog = await openDialog(tab, tab.row(budget).getByRole('button', { name: 'Edit' }));
  return { dialog, contract: control(dialog, 'contract') };
}

async function save(dialog) {
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
}

test('a contract uploaded in one tab is listed live in the other and downloads the same bytes', async () => {
  await scenario('files', [a, b], server, async () => {
    const bytes = pdf(300_000);
    const { dialog, contract } = await contractOf(a, 'Quay lease');
    await contract.locator('input[type=file]').setInputFiles({ name: 'lease.pdf', mimeType: 'application/pdf', buffer: bytes });
    await contract.getByRole('button', { name: 'Remove lease.pdf' }).waitFor();
    await save(dialog);

    const link = b.row('Quay lease').getByRole('button', { name: 'Download lease.pdf' });
    await link.waitFor();
    const [download] = await Promise.all([b.page.waitForEvent('download'), link.click()]);
    assert.equal(download.suggestedFilename(), 'lease.pdf');
    assert.equal(sha256(readFileSync(await download.path())), sha256(bytes));

    // The form of the saved row downloads it too.
    const again = await contractOf(b, 'Quay lease');
    const [copy] = await Promise.all([
      b.page.waitForEvent('download'),
      again.contract.getByRole('button', { name: 'Download lease.pdf' }).click(),
    ]);
    assert.equal(sha256(readFileSync(await copy.path())), sha256(bytes));
    await again.dialog.getByRole('button', { name: 'Cancel' }).click();
    await again.dialog.waitFor({ state: 'detached' });
  });
});

test('an image shows as a thumbnail in the other tab', async () => {
  await scenario('files-image', [a, b], server, async () => {
    const { dialog, contract } = await contractOf(a, 'Dock plan');
    await contract.locator('input[type=file]').setInputFiles({ name: 'plan.png', mimeType: 'image/png', buffer: PNG });
    // The form previews it from the bytes chosen.
    await contract.getByRole('img', { name: 'plan.png' }).waitFor();
    await save(dialog);
    const thumbnail = b.row('Dock plan').getByRole('img', { name: 'plan.png' });
    await thumbnail.waitFor();
    await b.page.waitForFunction(
      (img) => img.complete && img.naturalWidth === 1,
      await thumbnail.elementHandle(),
    );
  });
});

test('a large upload shows its progress, and a type the field does not take is refused', async () => {
  await scenario('files-progress', [a, b], server, async () => {
    const bytes = pdf(20 * 1024 * 1024);
    const { dialog, contract } = await contractOf(a, 'Archive scan');
    // Slowed to about 8 MB/s, so that the upload takes a few seconds.
    const cdp = await a.context.newCDPSession(a.page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 8 * 1024 * 1024,
    });
    try {
      await contract.locator('input[type=file]').setInputFiles({ name: 'scan.pdf', mimeType: 'application/pdf', buffer: bytes });
      const progress = contract.getByRole('progressbar', { name: 'Uploading scan.pdf' });
      await progress.waitFor();
      // Part of the way: the bar moves as the bytes go.
      await a.page.waitForFunction((bar) => {
        const now = Number(bar.getAttribute('aria-valuenow'));
        return now > 0 && now < 100;
      }, await progress.elementHandle());
      await contract.getByRole('button', { name: 'Remove scan.pdf' }).waitFor({ timeout: 60_000 });
    } finally {
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
      await cdp.detach();
    }
    await save(dialog);
    await b.row('Archive scan').getByRole('button', { name: 'Download scan.pdf' }).waitFor();
    const stored = (await server.api('GET', '/api/budgets?q=Archive')).body.data[0].contract;
    assert.equal(stored.size, bytes.length);
    assert.equal(stored.id, sha256(bytes));

    // Plain text, named as a PDF: the server reads what it is.
    const other = await contractOf(a, 'Loose notes');
    await other.contract
      .locator('input[type=file]')
      .setInputFiles({ name: 'notes.pdf', mimeType: 'application/pdf', buffer: Buffer.from('just some notes\n') });
    await other.contract
      .getByRole('alert')
      .filter({ hasText: 'This file is plain text (text/plain); Contract takes application/pdf, image/png, image/jpeg.' })
      .waitFor();
    await other.contract.getByRole('button', { name: 'Choose file for Contract' }).waitFor();
    await other.dialog.getByRole('button', { name: 'Cancel' }).click();
    await other.dialog.waitFor({ state: 'detached' });
  });
});
