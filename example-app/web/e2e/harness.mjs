// The end-to-end harness: the example app's server on a free port with a
// fresh data dir, Debian's Chromium through playwright-core, two browser
// contexts as two users, and artifacts when a scenario fails.

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

const BIN = process.env.AEGIS_E2E_BIN;
const WEB = process.env.AEGIS_E2E_WEB;
const CHROMIUM = process.env.AEGIS_E2E_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = process.env.AEGIS_E2E_ARTIFACTS ?? join(process.cwd(), 'e2e-artifacts');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The example app (or any app of the shared command line), restartable on
 * the same port and data, also as another build (`bin` and `web` may
 * change between a stop and a start). In dev mode unless `dev` is false;
 * `env` adds variables (an identity provider's, say).
 */
export class Server {
  constructor({ bin = BIN, web = WEB, dev = true, env = {} } = {}) {
    if (!bin || !web) {
      throw new Error('set AEGIS_E2E_BIN (the example-app binary) and AEGIS_E2E_WEB (its built web app)');
    }
    this.bin = bin;
    this.web = web;
    this.dev = dev;
    this.env = env;
    this.dataDir = mkdtempSync(join(tmpdir(), 'aegis-e2e-'));
    this.log = [];
  }

  async start() {
    this.port ??= await freePort();
    this.base = `http://127.0.0.1:${this.port}`;
    const args = ['--port', String(this.port), '--data-dir', this.dataDir, '--web', this.web];
    this.process = spawn(this.bin, this.dev ? ['--dev', ...args] : args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...this.env },
    });
    const keep = (chunk) => this.log.push(chunk.toString());
    this.process.stdout.on('data', keep);
    this.process.stderr.on('data', keep);
    for (let i = 0; i < 200; i++) {
      try {
        const response = await fetch(`${this.base}/api/${this.dev ? 'dev/token' : 'auth/config'}`);
        if (response.ok) {
          this.token = this.dev ? (await response.json()).token : undefined;
          return;
        }
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    throw new Error(`the server did not start:\n${this.log.join('')}`);
  }

  async stop() {
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    this.process.kill('SIGKILL');
    await exited;
  }

  /** Stops the server and removes its data dir. */
  async dispose() {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** A token for `user` that may change `features`, signed with the server's secret. */
  mint(user, features) {
    const printed = execFileSync(this.bin, ['token', user, '--write', features.join(','), '--data-dir', this.dataDir]);
    return printed.toString().trim();
  }

  /** A request to the REST API, as the dev user or with `token`. */
  async api(method, path, body, token = this.token) {
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }
}

/** One user's browser tab, with its console and requests recorded. */
export class Tab {
  /** A tab on `url`; with `token`, the app signs in with it instead of the dev token. */
  static async open(browser, name, url, token) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    if (token !== undefined) {
      const expiresAt = Math.floor(Date.now() / 1000) + 3600;
      await context.route('**/api/dev/token', (route) => route.fulfill({ json: { token, expiresAt } }));
    }
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const tab = new Tab(name, context, page);
    await page.goto(url);
    return tab;
  }

  constructor(name, context, page) {
    this.name = name;
    this.context = context;
    this.page = page;
    this.console = [];
    this.requests = [];
    page.on('console', (message) => this.console.push(`[${message.type()}] ${message.text()}`));
    page.on('pageerror', (error) => this.console.push(`[pageerror] ${error.message}`));
    page.on('request', (request) => this.requests.push({ method: request.method(), url: request.url(), at: Date.now() }));
    /** The features whose `subscribed` frame this tab has received. */
    this.subscribed = new Set();
    page.on('websocket', (socket) =>
      socket.on('framereceived', ({ payload }) => {
        try {
          const frame = JSON.parse(String(payload));
          if (frame.type === 'subscribed') {
            this.subscribed.add(frame.feature);
          }
        } catch {
          // not a frame of the protocol
        }
      }),
    );
  }

  /**
   * Waits (at most 20 s) until the tab's subscription to `feature` has gone
   * live: a change made from now on reaches it as an event. One made before
   * is in the list it reads, but comes as no event (no live mark).
   */
  async live(feature) {
    for (let i = 0; i < 200 && !this.subscribed.has(feature); i++) {
      await sleep(100);
    }
    if (!this.subscribed.has(feature)) {
      throw new Error(`${this.name}: no subscription to ${feature} went live`);
    }
  }

  row(text) {
    return this.page.locator('tr.mat-mdc-row', { hasText: text });
  }

  async saveArtifacts(label) {
    mkdirSync(ARTIFACTS, { recursive: true });
    const stem = join(ARTIFACTS, `${label}-${this.name}`.replace(/[^\w.-]+/g, '_'));
    await this.page.screenshot({ path: `${stem}.png`, fullPage: true }).catch(() => {});
    writeFileSync(`${stem}.console.log`, this.console.join('\n'));
    writeFileSync(`${stem}.requests.log`, this.requests.map((r) => `${r.method} ${r.url}`).join('\n'));
  }
}

/** Headless Chromium; `args` adds switches. */
export async function launch(args = []) {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...args,
    ],
  });
}

/** How many times the tab has read `feature`'s list. */
export function listReads(tab, feature) {
  const list = new RegExp(`/api/${feature}(\\?|$)`);
  return tab.requests.filter((r) => r.method === 'GET' && list.test(r.url)).length;
}

/**
 * Waits until the tab has stopped reading `feature`'s list (its first load,
 * and the reload a subscription that could not replay asks for, are done).
 */
export async function settled(tab, feature) {
  let reads = -1;
  while (reads !== listReads(tab, feature)) {
    reads = listReads(tab, feature);
    await sleep(500);
  }
}

/** A form control by its name: labels are for people, and not unique enough. */
export function control(dialog, name) {
  return dialog.locator(`[formcontrolname="${name}"]`);
}

/**
 * Clicks what opens a dialog and waits until the dialog has taken the focus:
 * typing earlier races the dialog's own autofocus, which would move the caret
 * to its first field in the middle of filling another.
 */
export async function openDialog(tab, trigger) {
  await trigger.click();
  const dialog = tab.page.getByRole('dialog');
  await dialog.waitFor();
  await tab.page.waitForFunction(() => document.activeElement?.closest('[role=dialog]') != null);
  return dialog;
}

/** Opens a tab's import dialog, chooses `content` as the file and validates it (a dry run). */
export async function openImport(tab, name, content) {
  const dialog = await openDialog(tab, tab.page.getByRole('button', { name: 'Import CSV' }));
  await dialog.locator('input[type=file]').setInputFiles({ name, mimeType: 'text/csv', buffer: content });
  await dialog.getByRole('button', { name: 'Validate' }).click();
  await dialog.getByTestId('import-preview').waitFor({ timeout: 60_000 });
  return dialog;
}

/**
 * What the tab's console says the server's content security policy refused
 * (Chromium reports each refusal there): a page that needs more than the
 * policy allows is broken for every user of that build.
 */
export function policyViolations(tab) {
  return tab.console.filter((line) => /Content Security Policy/i.test(line));
}

/**
 * Runs a scenario, then checks no tab's page was refused anything by the
 * content security policy; on failure saves both tabs' screenshots and
 * logs, and the server's, then reloads the tabs.
 */
export async function scenario(name, tabs, server, body) {
  try {
    await body();
    const refused = tabs.flatMap((tab) => policyViolations(tab).map((line) => `${tab.name}: ${line}`));
    if (refused.length > 0) {
      throw new Error(`${name}: the content security policy refused:\n${refused.join('\n')}`);
    }
  } catch (error) {
    for (const tab of tabs) {
      await tab.saveArtifacts(name);
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, `${name.replace(/[^\w.-]+/g, '_')}-server.log`), server.log.join(''));
    // What the failure left open (a dialog, a banner) must not fail the next scenario too.
    for (const tab of tabs) {
      await tab.page.reload().catch(() => {});
    }
    throw error;
  }
}

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/**
 * Waits until no finite animation or transition runs on the tab's page (an
 * endless one, a spinner's, is not waited for): a scan in the middle of one
 * (a focused label's colour fading in) reads colours never shown at rest.
 */
export async function animationsSettled(tab) {
  await tab.page.evaluate(async () => {
    const running = () =>
      document
        .getAnimations()
        .filter((a) => a.playState === 'running' && a.effect?.getComputedTiming().endTime !== Infinity);
    for (let now = running(); now.length > 0; now = running()) {
      await Promise.all(now.map((a) => a.finished.catch(() => undefined)));
    }
  });
}

/**
 * The serious and critical accessibility violations axe-core finds on the
 * tab's page as it is now, once its animations have settled (an open dialog
 * included), each as `rule: target (summary)`.
 */
export async function accessibilityViolations(tab) {
  await animationsSettled(tab);
  if (!(await tab.page.evaluate(() => 'axe' in window))) {
    // Evaluated, not added as a <script>: the page's content security
    // policy refuses inline scripts, as it should.
    await tab.page.evaluate(readFileSync(AXE, 'utf8'));
  }
  const violations = await tab.page.evaluate(async () => {
    // The CDK's focus-trap anchors (an open dialog's or menu's) are
    // aria-hidden sentinels that hand the focus straight back inside the
    // trap; axe counts them as hidden focusable content.
    const context = { exclude: [['.cdk-focus-trap-anchor']] };
    const results = await axe.run(context, { resultTypes: ['violations'] });
    return results.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')} (${n.failureSummary?.split('\n')[1]?.trim() ?? v.help})`));
  });
  return violations;
}

/** Fails with every serious or critical violation of the page as it is now. */
export async function assertAccessible(tab, what) {
  const violations = await accessibilityViolations(tab);
  if (violations.length > 0) {
    throw new Error(`${what}: ${violations.length} serious or critical accessibility violations:\n${violations.join('\n')}`);
  }
}
