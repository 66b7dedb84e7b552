// End-to-end checks of the dashboard in Debian's headless Chromium, driven by
// playwright-core. hub/tests/dashboard.rs starts a hub and hands over (environment):
//   REMORA_E2E_HUB          the hub's API, http://127.0.0.1:PORT
//   REMORA_E2E_TOKEN        a token it accepts
//   REMORA_E2E_SIGNED_IN    (volume, map) the address `remora dashboard` printed
//   REMORA_E2E_SIDECAR      JSON [program, ...args]: a sidecar replaying captures to it
//                           (views: started once the list is open, to see it fill live)
//   REMORA_E2E_ITEMS        how many items those captures make
//   REMORA_E2E_SCREENSHOTS  where each view's screenshot goes
//   REMORA_E2E_EXAMPLE      path of examples/scripts/errors-and-slow-calls.js
// node e2e/dashboard.mjs views|volume|map

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, openSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const scenario = process.argv[2];
const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (hub/tests/dashboard.rs sets it)`);
  return value;
};
const hub = env('REMORA_E2E_HUB');
const token = env('REMORA_E2E_TOKEN');
const shots = env('REMORA_E2E_SCREENSHOTS');
const expectedItems = Number(env('REMORA_E2E_ITEMS'));
mkdirSync(shots, { recursive: true });

// The flags Chromium needs as root on a machine with no outside network.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1400, height: 850 }, acceptDownloads: true });
const page = await context.newPage();
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
let sidecar = null;

async function step(name, run) {
  const started = Date.now();
  try {
    await run();
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    await page.screenshot({ path: join(shots, `failed-${name.replace(/\W+/g, '-')}.png`) }).catch(() => {});
    throw new Error(`${name}: ${e.message}`);
  }
}
const shot = (name) => page.screenshot({ path: join(shots, `${name}.png`) });
const count = async () => Number((await page.locator('[data-testid=item-count]').textContent()).replace(/,/g, ''));
const waitForCount = (n, timeout = 60000) =>
  page.waitForFunction((n) => Number(document.querySelector('[data-testid=item-count]')?.textContent.replace(/,/g, '')) === n, n, { timeout });
const rows = () => page.locator('.scroller .row');
const filter = async (kfl) => {
  await page.locator('input[name=kfl]').fill(kfl);
  await page.locator('input[name=kfl]').press('Enter');
};
function startSidecar() {
  const [program, ...args] = JSON.parse(env('REMORA_E2E_SIDECAR'));
  const log = openSync(join(shots, 'sidecar.log'), 'w');
  sidecar = spawn(program, args, { stdio: ['ignore', log, log] });
}

async function views() {
  await step('sign-in refuses a wrong token, then takes the right one', async () => {
    await page.goto(`${hub}/`);
    await page.locator('input[name=token]').fill('not-the-token');
    await page.locator('button[type=submit]').click();
    await page.getByRole('alert').filter({ hasText: 'refused the token' }).waitFor();
    await shot('01-sign-in');
    await page.locator('input[name=token]').fill(token);
    await page.locator('button[type=submit]').click();
    await page.locator('header.top').waitFor();
    assert.equal(await count(), 0, 'no item before the sidecar starts');
  });

  await step('the list fills live as the sidecar replays', async () => {
    await page.locator('.status-line .live').waitFor();
    startSidecar();
    await waitForCount(expectedItems);
    await page.locator('header.top', { hasText: '1 sidecar connected' }).waitFor();
    // Newest first: the rows in the order the hub stored the items, the last stored on
    // top (the hub's own answer, newest first, read beside the list).
    const shown = await rows().locator('.request').allTextContents();
    assert.ok(shown.length >= 20, `rows shown: ${shown.length}`);
    const stored = await page.evaluate(async (t) => {
      const answer = await fetch('/api/items?limit=1000&summary=true', { headers: { Authorization: `Bearer ${t}` } });
      return (await answer.json()).items.map((i) => i.summary.request);
    }, token);
    assert.deepEqual(shown, stored.slice(0, shown.length), 'the list is the hub\'s order, newest first');
    assert.notDeepEqual(stored, [...stored].reverse(), 'the order tells newest from oldest');
    await shot('02-items');
  });

  await step('a failed item is red, a passed one green', async () => {
    const failed = rows().filter({ has: page.locator('.status', { hasText: /^NXDOMAIN$/ }) }).first();
    assert.match(await failed.getAttribute('class'), /\bfailed\b/);
    assert.equal(await failed.evaluate((e) => getComputedStyle(e).backgroundColor), 'rgb(255, 235, 233)');
    const passed = rows().filter({ has: page.locator('.status', { hasText: /^200$/ }) }).first();
    assert.match(await passed.getAttribute('class'), /\bpassed\b/);
    assert.equal(await passed.evaluate((e) => getComputedStyle(e).backgroundColor), 'rgb(218, 251, 225)');
  });

  await step('a KFL filter narrows the list; a bad one is shown at its position', async () => {
    await filter('dns');
    await waitForCount(14);
    const protocols = await rows().locator('.proto').allTextContents();
    assert.deepEqual([...new Set(protocols)], ['DNS']);
    await filter('dns and');
    const alert = page.locator('.kfl-error');
    await alert.waitFor();
    assert.match(await alert.textContent(), /expected a value after 'and'/);
    assert.equal(await alert.locator('mark').count(), 1, 'the error position is marked');
    await shot('03-kfl-error');
    await filter('http');
    await waitForCount(12);
  });

  let method = '';
  await step('item detail, and a field clicked into the filter', async () => {
    await rows().first().click();
    const detail = page.locator('[data-testid=detail]');
    await detail.locator('h3', { hasText: 'Request' }).waitFor();
    const methodRow = detail.locator('tr', { has: page.locator('th', { hasText: /^method$/ }) }).first();
    method = (await methodRow.locator('.value > span').textContent()).trim();
    await detail.getByRole('button', { name: 'response' }).click();
    await detail.locator('h3', { hasText: 'Response' }).waitFor();
    await shot('04-detail');
    await detail.getByRole('button', { name: 'request' }).click();
    await methodRow.hover();
    await methodRow.locator('button.add').click();
    assert.equal(await page.locator('input[name=kfl]').inputValue(), `http and request.method == "${method}"`);
    await page.waitForFunction(() => document.querySelectorAll('.scroller .row').length > 0);
    const requests = await rows().locator('.request').allTextContents();
    assert.ok(requests.length > 0 && requests.every((r) => r.startsWith(`${method} `)), `${method} rows only: ${requests}`);
  });

  await step("the item's stream downloads as a PCAP", async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid=detail]').getByRole('button', { name: 'PCAP' }).click()]);
    const path = join(shots, 'item-stream.pcap');
    await download.saveAs(path);
    // tshark reads the file: one TCP connection, between the ports the detail shows, and
    // it carries the request the detail shows.
    const detail = page.locator('[data-testid=detail]');
    // The header's own text (the endpoints), not its status or verdict.
    const heading = await detail.locator('header').first().evaluate((h) => [...h.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join(''));
    const ports = [...heading.matchAll(/:(\d+)\b/g)].map((m) => m[1]).sort();
    assert.equal(ports.length, 2, `two endpoints in ${heading}`);
    const pathRow = detail.locator('tr', { has: page.locator('th', { hasText: /^path$/ }) }).first();
    const itemPath = (await pathRow.locator('.value > span').textContent()).trim();
    const fields = execFileSync('tshark', ['-r', path, '-T', 'fields', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'http.request.uri'], { encoding: 'utf8' });
    const packets = fields.trim().split('\n').map((line) => line.split('\t'));
    assert.ok(packets.length > 2, `packets in the file: ${packets.length}`);
    assert.deepEqual([...new Set(packets.flatMap((p) => [p[0], p[1]]))].sort(), ports, `the stream's ports: ${fields}`);
    assert.ok(packets.some((p) => p[2] === itemPath || (p[2] || '').startsWith(`${itemPath}?`)), `${itemPath} among ${fields}`);
  });

  await step('scripts: list, view, examples, and an edit that takes effect', async () => {
    await page.goto(`${hub}/#/scripts`);
    await page.getByRole('link', { name: 'verdict.js' }).click();
    const editor = page.locator('.cm-content');
    await page.waitForFunction(() => document.querySelector('.cm-content')?.textContent.includes('onItemQueried'));
    const example = readFileSync(env('REMORA_E2E_EXAMPLE'), 'utf8');
    await page.getByLabel('Examples').selectOption('errors-and-slow-calls.js');
    await page.waitForFunction((line) => document.querySelector('.cm-content')?.textContent.includes(line), example.split('\n').find((l) => l.trim().length > 20).trim());
    assert.equal(await page.getByLabel('Script name').inputValue(), 'errors-and-slow-calls.js');
    await shot('05-scripts');
    await page.getByRole('link', { name: 'verdict.js' }).click();
    await editor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(
      'function onItemQueried(data) {\n  console.log("edited verdict saw " + data.protocol.name);\n  if (data.protocol.name == "dns") { test.fail(data); } else { test.pass(data); }\n  return data;\n}\n' +
        'jobs.schedule("hourly-report", "0 0 * * * *", function () { console.clear(); console.log("hourly report ran"); });\n',
    );
    await page.getByRole('button', { name: /^Save/ }).click();
    await page.locator('.editor-bar .message', { hasText: 'saved verdict.js' }).waitFor();
    // Who changed it last, from the hub's audit log: the dashboard's own token.
    const listed = page.locator('.script-list li', { has: page.getByRole('link', { name: 'verdict.js' }) });
    await listed.locator('.last-change', { hasText: /changed by \S+ \(admin\)/ }).waitFor();
  });

  await step('a script that does not load is named under "Last load", then deleted', async () => {
    await page.getByRole('button', { name: 'New script' }).click();
    await page.getByLabel('Script name').fill('broken.js');
    await page.locator('.cm-content').click();
    await page.keyboard.insertText('function onItemCaptured(data) {\n  console.log("never"\n');
    await page.getByRole('button', { name: /^Save/ }).click();
    const errors = page.locator('.load-errors');
    await errors.filter({ hasText: 'broken.js' }).waitFor();
    await shot('05b-load-error');
    page.once('dialog', (dialog) => dialog.accept());
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.locator('.editor-bar .message', { hasText: 'deleted broken.js' }).waitFor();
    await page.getByRole('link', { name: 'broken.js' }).waitFor({ state: 'detached' });
  });

  await step('the edited script marks every DNS item failed', async () => {
    await page.goto(`${hub}/#/items`);
    const deadline = Date.now() + 20000;
    for (;;) {
      await filter('dns');
      await waitForCount(14);
      const failed = await page.locator('.scroller .row.failed').count();
      if (failed === 14) break;
      assert.ok(Date.now() < deadline, `failed rows after the edit: ${failed} of 14`);
      await page.waitForTimeout(500);
      await filter('');
    }
    await shot('06-edited-script');
  });

  await step('the console shows every source, filtered by pod', async () => {
    await page.goto(`${hub}/#/console`);
    const lines = page.locator('[data-testid=console] .console-line');
    await lines.filter({ hasText: 'edited verdict saw dns' }).filter({ has: page.locator('.source', { hasText: /^hub$/ }) }).first().waitFor();
    await lines.filter({ hasText: 'captured dns' }).filter({ has: page.locator('.source', { hasText: /^shop\/demo-1$/ }) }).first().waitFor();
    await page.getByLabel('Pod').selectOption('shop/demo-1');
    const sources = await lines.locator('.source').allTextContents();
    assert.ok(sources.length > 0 && sources.every((s) => s === 'shop/demo-1'), `sources after the pod filter: ${[...new Set(sources)]}`);
    // onItemCaptured saw every replayed item: the replay waited for the pod's scripts.
    assert.equal(await lines.filter({ hasText: /captured (dns|http)$/ }).count(), expectedItems);
    await shot('07-console');
  });

  await step('jobs: next run, and run now', async () => {
    await page.goto(`${hub}/#/jobs`);
    const job = page.locator('tr[data-tag=hourly-report]');
    await job.waitFor();
    assert.match(await job.textContent(), /in \d+ (s|min|h)/);
    await job.getByRole('button', { name: 'Run now' }).click();
    await page.locator('.jobs', { hasText: 'run requested' }).waitFor();
    await shot('08-jobs');
    // The job clears the console first, in the hub and in the pod: each clears its own lines.
    await page.goto(`${hub}/#/console`);
    const lines = page.locator('[data-testid=console] .console-line');
    await lines.filter({ hasText: 'hourly report ran' }).first().waitFor();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=console] .console-line.cleared').length === 2);
    assert.deepEqual((await lines.filter({ hasText: 'cleared its console' }).allTextContents()).sort(), ['hub cleared its console (verdict.js)', 'shop/demo-1 cleared its console (verdict.js)']);
    assert.equal(await lines.filter({ hasText: /captured|edited verdict saw/ }).count(), 0, 'lines before the clear are gone');
    await shot('08b-console-cleared');
  });
}

async function volume() {
  // The hub holds every item already: the list pages back through them as it scrolls.
  await step(`${expectedItems} items page in, with few rows in the page`, async () => {
    await page.goto(env('REMORA_E2E_SIGNED_IN'));
    await page.locator('header.top').waitFor();
    const deadline = Date.now() + 240000;
    while ((await count()) < expectedItems) {
      assert.ok(Date.now() < deadline, `rows loaded: ${await count()} of ${expectedItems}`);
      await page.locator('.scroller').evaluate((e) => (e.scrollTop = e.scrollHeight));
      await page.waitForTimeout(100);
    }
    assert.equal(await count(), expectedItems);
    await page.locator('.scroller').evaluate((e) => (e.scrollTop = e.scrollHeight));
    await page.waitForFunction((n) => document.querySelector(`.scroller .row[data-index="${n - 1}"]`), expectedItems);
    const inPage = await rows().count();
    assert.ok(inPage < 120, `rows in the DOM: ${inPage} (the list must be virtualised)`);
    await shot('09-volume');
  });
}

/** The edge table's rows: [client → server protocol, requests, errors, p50, p95, p99]. */
const edgeRows = () =>
  page.locator('.edge-table tbody tr').evaluateAll((rows) => rows.map((r) => [r.dataset.edge, ...[...r.cells].slice(2).map((c) => c.textContent)]));
const mapSummary = (text) => page.locator('[data-testid=map-summary]', { hasText: text }).waitFor();

async function map() {
  // The hub holds a small shop's items (hub/tests/support/shop.rs: the last minute, and
  // one two hours old) and the example captures' (replayed by a sidecar, years old).
  await step('the map of every stored item: workloads, addresses and exact counts', async () => {
    await page.goto(env('REMORA_E2E_SIGNED_IN'));
    await page.getByRole('link', { name: 'Map' }).click();
    await page.getByLabel('Window').selectOption('all');
    await mapSummary(`${expectedItems} items · 15 nodes · 9 edges`);
    assert.deepEqual(await edgeRows(), [
      ['192.168.170.8 → 192.168.170.20 dns', '11', '1 (9.1%)', '72 ms', '832 ms', '832 ms'],
      ['shop/web → shop/checkout http', '7', '2 (29%)', '20 ms', '50 ms', '50 ms'],
      ['192.168.122.1 → 192.168.122.87 http', '6', '0 (0%)', '1 ms', '30.9 s', '30.9 s'],
      ['192.168.1.104 → 63.245.209.11 http', '5', '0 (0%)', '7 ms', '18 ms', '18 ms'],
      ['shop/checkout → shop/db postgres', '4', '1 (25%)', '4 ms', '8 ms', '8 ms'],
      ['shop/web → kube-system/kube-dns dns', '3', '1 (33%)', '1 ms', '3 ms', '3 ms'],
      ['172.18.34.76 → 172.25.7.97 dns', '3', '2 (67%)', '0 ms', '0 ms', '0 ms'],
      ['shop/checkout → 93.184.216.34 http', '2', '0 (0%)', '100 ms', '300 ms', '300 ms'],
      ['192.168.3.103 → 128.146.216.51 http', '1', '0 (0%)', '1.1 s', '1.1 s', '1.1 s'],
    ]);
    assert.equal(await page.locator('svg g.node').count(), 15);
    assert.equal(await page.locator('svg g.edge').count(), 9);
    await shot('10-map-all');
  });

  await step('the last hour, narrowed by the KFL box', async () => {
    await page.getByLabel('Window').selectOption('1h');
    await mapSummary('15 items · 5 nodes · 4 edges');
    const nodes = await page.locator('svg g.node').evaluateAll((els) => els.map((e) => e.dataset.node).sort());
    assert.deepEqual(nodes, ['93.184.216.34', 'kube-system/kube-dns', 'shop/checkout', 'shop/db', 'shop/web']);
    // Clients left of the servers they call.
    const x = (id) => page.locator(`svg g.node[data-node="${id}"]`).evaluate((e) => e.getBoundingClientRect().x);
    assert.ok((await x('shop/web')) < (await x('shop/checkout')) && (await x('shop/checkout')) < (await x('shop/db')), 'web, checkout, db from left to right');
    const label = page.locator('svg g.edge[data-edge="shop/web → shop/checkout http"] text.label');
    assert.equal(await label.textContent(), 'HTTP 6 · 33%');
    await label.hover();
    assert.match(await page.locator('.edge-table tr[data-edge="shop/web → shop/checkout http"]').getAttribute('class'), /\bhovered\b/);
    await shot('11-map');
    await filter('dns');
    await mapSummary('3 items · 2 nodes · 1 edge');
    assert.deepEqual(await edgeRows(), [['shop/web → kube-system/kube-dns dns', '3', '1 (33%)', '1 ms', '3 ms', '3 ms']]);
    await filter('dns and');
    assert.match(await page.locator('.kfl-error').textContent(), /expected a value after 'and'/);
    await filter('');
    await mapSummary('15 items · 5 nodes · 4 edges');
  });

  await step('an edge clicked opens Items filtered to exactly its items', async () => {
    await page.locator('svg g.edge[data-edge="shop/web → shop/checkout http"] text.label').click();
    await page.locator('.items').waitFor();
    await waitForCount(6);
    const kfl = await page.locator('input[name=kfl]').inputValue();
    assert.match(kfl, /^src\.namespace == "shop" and src\.name in \["web-7d4b9c8f6d-b4c5d", "web-7d4b9c8f6d-x2kqz"\] and dst\.namespace == "shop" and dst\.name in \["checkout", "checkout-5c9f8b7d-4xk2p"\] and protocol\.macro == "http" and timestamp >= \d+$/);
    const cells = await rows().evaluateAll((els) => els.map((e) => [e.children[2].textContent, e.children[3].textContent, e.children[5].textContent]));
    assert.deepEqual(new Set(cells.map((c) => c[0])), new Set(['shop/web-7d4b9c8f6d-x2kqz', 'shop/web-7d4b9c8f6d-b4c5d']));
    assert.deepEqual(new Set(cells.map((c) => c[1])), new Set(['shop/checkout']));
    assert.deepEqual(cells.map((c) => c[2]).sort(), ['-', '200', '200', '200', '404', '500']);
    await shot('12-map-edge-items');
  });

  await step('back on the map, the filter carries over; an address edge selects its items', async () => {
    await page.getByRole('link', { name: 'Map' }).click();
    await mapSummary('6 items · 2 nodes · 1 edge');
    await filter('');
    await page.getByLabel('Window').selectOption('all');
    await mapSummary(`${expectedItems} items · 15 nodes · 9 edges`);
    await page.locator('.edge-table tr[data-edge="192.168.170.8 → 192.168.170.20 dns"]').click();
    await waitForCount(11);
    assert.equal(await page.locator('input[name=kfl]').inputValue(), 'src.name == "" and src.ip == "192.168.170.8" and dst.name == "" and dst.ip == "192.168.170.20" and protocol.macro == "dns"');
  });
}

try {
  if (scenario === 'views') await views();
  else if (scenario === 'volume') await volume();
  else if (scenario === 'map') await map();
  else throw new Error(`unknown scenario ${scenario}: views, volume or map`);
  assert.deepEqual(pageErrors, [], 'no error in the page');
} finally {
  await browser.close();
  if (sidecar) sidecar.kill('SIGTERM');
}
