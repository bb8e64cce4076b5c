// `cargo xtask bench browser`: the budgets list, open in Chromium on a page
// of rows, while 1,000 changes a second are made to a feature of 100,000
// budgets. The state manager holds the page the list shows (the server
// serves at most 200 rows a page), and every event about the 100,000 rows
// reaches it: a row of the page changes where it stands, a row elsewhere
// may move into the page or out of it, the total moves.
//
// Measured in the page, without touching the app:
// - an init script wraps the WebSocket's `message` handler: each frame's
//   receive time (parsing it; an event then waits for the next animation
//   frame);
// - a PerformanceObserver keeps the runtime's `aegis: events applied`
//   measures: each animation frame's application of the events that
//   waited (the state managers and the signals they set; the render
//   follows). An event's apply time is its receive time plus its share of
//   its frame's application;
// - the same observer counts long animation frames (Chromium's, over
//   50 ms) and long tasks;
// - Chromium's own counters (CDP `Performance.getMetrics`) give the main
//   thread's busy time in all, rendering included, per 1,000 events.
//
// `cargo xtask bench browser` starts it with Chromium on a CPU of its own
// and the server and this writer on the others, where there are two.
//
// Environment: as the end-to-end suite's (AEGIS_E2E_BIN, AEGIS_E2E_WEB,
// AEGIS_E2E_CHROMIUM); AEGIS_BENCH_ROWS, AEGIS_BENCH_RATE and
// AEGIS_BENCH_SECONDS change the defaults (100,000, 1,000 and 10).

import { Server, Tab, launch, settled } from './harness.mjs';

const ROWS = Number(process.env.AEGIS_BENCH_ROWS ?? 100_000);
const RATE = Number(process.env.AEGIS_BENCH_RATE ?? 1_000);
const SECONDS = Number(process.env.AEGIS_BENCH_SECONDS ?? 10);
/** Requests in flight at most: the writer's concurrency. */
const IN_FLIGHT = 64;
const STATUSES = ['draft', 'submitted', 'approved'];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs in the page before the app: times every WebSocket message and keeps long frames. */
function instrument() {
  const bench = { measuring: false, applies: [], batches: [], frames: [], tasks: [] };
  window.__bench = bench;
  const timed = (handler) =>
    function (event) {
      if (!bench.measuring) {
        return handler.call(this, event);
      }
      const started = performance.now();
      try {
        return handler.call(this, event);
      } finally {
        const took = performance.now() - started;
        const action = typeof event.data === 'string' ? /"action":"(\w+)"/.exec(event.data)?.[1] : undefined;
        bench.applies.push([action ?? 'other', took]);
      }
    };
  const descriptor = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'onmessage');
  Object.defineProperty(WebSocket.prototype, 'onmessage', {
    configurable: true,
    get() {
      return descriptor.get.call(this);
    },
    set(handler) {
      descriptor.set.call(this, typeof handler === 'function' ? timed(handler) : handler);
    },
  });
  const add = WebSocket.prototype.addEventListener;
  WebSocket.prototype.addEventListener = function (type, listener, options) {
    const wrapped = type === 'message' && typeof listener === 'function' ? timed(listener) : listener;
    return add.call(this, type, wrapped, options);
  };
  const observe = (type, into) => {
    try {
      new PerformanceObserver((list) => {
        if (bench.measuring) {
          into.push(
            ...list.getEntries().map((entry) => ({
              duration: entry.duration,
              // Where a long frame's time went: its scripts, then style,
              // layout and paint after `renderStart`.
              render: entry.renderStart ? entry.startTime + entry.duration - entry.renderStart : 0,
              scripts: (entry.scripts ?? []).map((script) => ({
                invoker: script.invoker,
                duration: Math.round(script.duration),
                function: script.sourceFunctionName,
              })),
            })),
          );
        }
      }).observe({ type });
    } catch {
      // an entry type this Chromium does not know
    }
  };
  new PerformanceObserver((list) => {
    if (bench.measuring) {
      for (const entry of list.getEntriesByName('aegis: events applied')) {
        bench.batches.push([entry.duration, entry.detail.events]);
      }
    }
  }).observe({ type: 'measure' });
  observe('long-animation-frame', bench.frames);
  observe('longtask', bench.tasks);
}

/** Fills the feature with `rows` budgets through one import, and waits for it. */
async function seed(server, rows) {
  const lines = ['name,amount,fiscal_year,status'];
  for (let n = 1; n <= rows; n++) {
    lines.push(`Budget ${String(n).padStart(6, '0')},${(n % 9973) + 0.5},${2020 + (n % 7)},${STATUSES[n % 3]}`);
  }
  const response = await fetch(`${server.base}/api/budgets/import`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'text/csv' },
    body: lines.join('\n'),
  });
  if (response.status !== 202) {
    throw new Error(`the import answered ${response.status}: ${await response.text()}`);
  }
  const { jobId } = await response.json();
  for (;;) {
    const job = (await server.api('GET', `/api/budgets/import/${jobId}`)).body;
    if (job.state === 'completed') {
      if (job.successfulRows !== rows) {
        throw new Error(`the import wrote ${job.successfulRows} of ${rows} rows`);
      }
      return;
    }
    if (job.state === 'failed') {
      throw new Error(`the import failed: ${JSON.stringify(job.errors.slice(0, 3))}`);
    }
    await sleep(200);
  }
}

/**
 * Changes the feature at `rate` a second for `seconds`: nine in ten are
 * updates of a random row (its version kept here: this is the only
 * writer), one in twenty a create, one in twenty a delete. How many
 * succeeded.
 */
async function write(server, rate, seconds, rows) {
  const versions = new Map();
  const deleted = new Set();
  let next = rows + 1;
  let done = 0;
  const inFlight = new Set();
  const started = performance.now();
  const total = rate * seconds;
  // Seeded row n has status STATUSES[n % 3]; an approved budget may not be
  // deleted (the example's hook), one this writer saved or created may.
  const approved = (id) => id <= rows && id % 3 === 2 && !versions.has(id);
  const pick = (toDelete) => {
    for (;;) {
      const id = 1 + Math.floor(Math.random() * (next - 1));
      if (!deleted.has(id) && !inFlight.has(id) && !(toDelete && approved(id))) {
        return id;
      }
    }
  };
  const one = async (n) => {
    const roll = n % 20;
    if (roll === 0) {
      const created = await server.api('POST', '/api/budgets', {
        name: `Budget new ${n}`,
        amount: n % 1000,
        fiscal_year: 2026,
        status: 'draft',
      });
      if (created.status !== 201) throw new Error(`a create answered ${created.status}`);
      next = Math.max(next, created.body.id + 1);
      return;
    }
    const id = pick(roll === 1);
    inFlight.add(id);
    try {
      if (roll === 1) {
        const gone = await server.api('DELETE', `/api/budgets/${id}`);
        if (gone.status !== 204) throw new Error(`a delete answered ${gone.status}`);
        deleted.add(id);
        return;
      }
      const version = versions.get(id) ?? 1;
      const saved = await server.api('PUT', `/api/budgets/${id}`, {
        name: `Budget ${String(id).padStart(6, '0')} r${n}`,
        amount: (n % 5000) + 0.25,
        fiscal_year: 2026,
        status: 'draft',
        version,
      });
      if (saved.status !== 200) throw new Error(`an update answered ${saved.status}: ${JSON.stringify(saved.body)}`);
      versions.set(id, saved.body.version);
    } finally {
      inFlight.delete(id);
    }
  };
  const running = new Set();
  for (let n = 0; n < total; n++) {
    const due = started + (n * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    while (running.size >= IN_FLIGHT) await Promise.race(running);
    const request = one(n).then(() => {
      done++;
      running.delete(request);
    });
    running.add(request);
  }
  await Promise.all(running);
  return { done, seconds: (performance.now() - started) / 1000 };
}

function quantile(sorted, q) {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.round((sorted.length - 1) * q))];
}

const server = new Server();
await server.start();
// A cross-origin isolated page (below) is held to local network access
// checks that would refuse its WebSocket to 127.0.0.1.
const browser = await launch(['--disable-features=LocalNetworkAccessChecks']);
try {
  const seeding = performance.now();
  await seed(server, ROWS);
  console.log(`seeded ${ROWS} budgets in ${((performance.now() - seeding) / 1000).toFixed(1)} s`);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript(instrument);
  // Cross-origin isolated, the page's clock has 5 µs steps instead of 100.
  await context.route(`${server.base}/**`, async (route) => {
    if (route.request().resourceType() !== 'document') {
      return route.continue();
    }
    const response = await route.fetch();
    await route.fulfill({
      response,
      headers: {
        ...response.headers(),
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
      },
    });
  });
  const page = await context.newPage();
  const tab = new Tab('bench', context, page);
  await page.goto(`${server.base}/budgets`);
  await tab.row('Budget').first().waitFor();
  await settled(tab, 'budgets');
  const shown = await page.locator('tr.mat-mdc-row').count();
  if (!(await page.evaluate(() => window.crossOriginIsolated))) {
    throw new Error('the page is not cross-origin isolated: its clock would step by 100 µs');
  }
  // AEGIS_BENCH_PROFILE=1: where the page's time went, by function.
  const profiler = process.env.AEGIS_BENCH_PROFILE ? await context.newCDPSession(page) : null;
  if (profiler) {
    await profiler.send('Profiler.enable');
    await profiler.send('Profiler.setSamplingInterval', { interval: 100 });
    await profiler.send('Profiler.start');
  }
  const counters = await context.newCDPSession(page);
  await counters.send('Performance.enable');
  const metrics = async () =>
    Object.fromEntries((await counters.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
  const before = await metrics();
  await page.evaluate(() => {
    window.__bench.measuring = true;
  });
  const written = await write(server, RATE, SECONDS, ROWS);
  await sleep(1000);
  const after = await metrics();
  if (profiler) {
    const { profile } = await profiler.send('Profiler.stop');
    const self = new Map();
    const step = (profile.endTime - profile.startTime) / 1000 / profile.samples.length;
    for (const node of profile.nodes) {
      const frame = node.callFrame;
      const name = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').pop()}:${frame.lineNumber}`;
      self.set(name, (self.get(name) ?? 0) + node.hitCount * step);
    }
    const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 20);
    console.log('page CPU by function (self ms):');
    for (const [name, ms] of top) console.log(`  ${ms.toFixed(0).padStart(6)}  ${name}`);
  }
  const bench = await page.evaluate(() => {
    window.__bench.measuring = false;
    return window.__bench;
  });
  const applies = bench.applies.map(([, took]) => took).sort((a, b) => a - b);
  // Each event's share of its frame's application, in order.
  const shares = bench.batches.flatMap(([duration, events]) => Array(events).fill(duration / events));
  const received = bench.applies.filter(([action]) => action !== 'other').map(([, took]) => took);
  const perEvent = shares.map((share, n) => share + (received[n] ?? 0)).sort((a, b) => a - b);
  const batchTimes = bench.batches.map(([duration]) => duration).sort((a, b) => a - b);
  const busy = (name) => ((after[name] - before[name]) * 1000 * 1000) / Math.max(1, received.length);
  const byAction = new Map();
  for (const [action, took] of bench.applies) {
    byAction.set(action, [...(byAction.get(action) ?? []), took]);
  }
  const ms = (value) => value.toFixed(3);
  console.log(
    `${written.done} changes in ${written.seconds.toFixed(1)} s (${Math.round(written.done / written.seconds)}/s) ` +
      `to ${ROWS} budgets; the list showing a page of ${shown} rows`,
  );
  console.log(
    `event apply (ms, receive + share of its frame): n ${perEvent.length}, p50 ${ms(quantile(perEvent, 0.5))}, ` +
      `p99 ${ms(quantile(perEvent, 0.99))}, max ${ms(perEvent.at(-1) ?? NaN)}`,
  );
  console.log(
    `frames that applied events: ${batchTimes.length}, ${(shares.length / Math.max(1, batchTimes.length)).toFixed(1)} ` +
      `events each; apply (ms) p50 ${ms(quantile(batchTimes, 0.5))}, p99 ${ms(quantile(batchTimes, 0.99))}, ` +
      `max ${ms(batchTimes.at(-1) ?? NaN)}`,
  );
  console.log(
    `main thread per 1,000 events (ms): busy ${busy('TaskDuration').toFixed(0)}, scripts ${busy('ScriptDuration').toFixed(0)}, ` +
      `style and layout ${(busy('RecalcStyleDuration') + busy('LayoutDuration')).toFixed(0)}`,
  );
  console.log(
    `receive (ms): n ${applies.length}, p50 ${ms(quantile(applies, 0.5))}, p99 ${ms(quantile(applies, 0.99))}, ` +
      `max ${ms(applies.at(-1) ?? NaN)}`,
  );
  for (const [action, times] of byAction) {
    times.sort((a, b) => a - b);
    console.log(`  ${action}: n ${times.length}, p50 ${ms(quantile(times, 0.5))}, p99 ${ms(quantile(times, 0.99))}`);
  }
  const longest = [...bench.frames].sort((a, b) => b.duration - a.duration);
  console.log(
    `long animation frames (> 50 ms): ${bench.frames.length}` +
      (longest.length ? ` (longest ${Math.round(longest[0].duration)} ms)` : '') +
      `; long tasks: ${bench.tasks.length}`,
  );
  for (const frame of longest.slice(0, 3)) {
    const scripts = frame.scripts
      .sort((a, b) => b.duration - a.duration)
      .slice(0, 3)
      .map((script) => `${script.invoker} ${script.function || ''} ${script.duration} ms`)
      .join('; ');
    console.log(`  ${Math.round(frame.duration)} ms: render ${Math.round(frame.render)} ms; ${scripts}`);
  }
  if (process.env.AEGIS_BENCH_DEBUG) console.log(tab.console.join("\n"));
  const errors = tab.console.filter((line) => line.startsWith('[error]') || line.startsWith('[pageerror]'));
  if (applies.length < written.done * 0.99) {
    throw new Error(`the page applied ${applies.length} of ${written.done} events`);
  }
  if (errors.length > 0) {
    throw new Error(`the page logged errors:\n${errors.join('\n')}`);
  }
} finally {
  await browser.close();
  await server.dispose();
}
