// The dashboard's pure modules under Node's own test runner (`node --test test/`):
// building KFL from clicks, reading console lines, showing bodies. With REMORA_BIN (the
// `remora` binary; hub/tests/dashboard.rs sets it) every clause built is also read by the
// real KFL parser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { addClause, equals, literal, selector } from '../src/kfl.js';
import { append, KEEP, parseLine } from '../src/console-lines.js';
import { endpoint, prettyBody } from '../src/format.js';
import { Kept, MAX_ROWS } from '../src/kept.js';
import { edgeFilter, health, layout, mapPath, millis, percent, strokeWidth } from '../src/servicemap.js';

/** What `remora kfl check` prints for a query: its reading, or the error. */
function kflCheck(query) {
  return execFileSync(process.env.REMORA_BIN, ['kfl', 'check', query], { encoding: 'utf8' }).trim();
}

test('selectors quote what is not a name', () => {
  assert.equal(selector(['request', 'method']), 'request.method');
  assert.equal(selector(['request', 'headers', 'content-type']), 'request.headers["content-type"]');
  assert.equal(selector(['request', 'questions', 0, 'name']), 'request.questions.0.name');
  assert.equal(selector(['response', 'headers', 'x "odd" \\ key']), 'response.headers["x \\"odd\\" \\\\ key"]');
});

test('literals use only the escapes KFL knows', () => {
  assert.equal(literal('GET'), '"GET"');
  assert.equal(literal('a"b\\c\td\ne'), '"a\\"b\\\\c\\td\\ne"');
  assert.equal(literal('carriage\rreturn'), '"carriage\rreturn"');
  assert.equal(literal(404), '404');
  assert.equal(literal(true), 'true');
  assert.equal(literal(null), 'nil');
});

test('a clause joins the filter, which keeps its meaning', () => {
  assert.equal(addClause('', 'dns'), 'dns');
  assert.equal(addClause('  http ', 'request.method == "GET"'), 'http and request.method == "GET"');
  assert.equal(addClause('dns or redis', 'src.ip == "10.0.0.1"'), '(dns or redis) and src.ip == "10.0.0.1"');
  assert.equal(addClause('dns || redis', 'x == 1'), '(dns || redis) and x == 1');
});

test('the real KFL parser reads the clauses as meant', { skip: !process.env.REMORA_BIN && 'REMORA_BIN is not set' }, () => {
  assert.equal(kflCheck(addClause('dns or redis', equals(['request', 'headers', 'x-a'], 'a"b\\c\td'))), 'ok: ((dns or redis) and (request.headers["x-a"] == "a\\"b\\\\c\\td"))');
  assert.equal(kflCheck(equals(['response', 'status'], 404)), 'ok: (response.status == 404)');
  assert.equal(kflCheck(equals(['request', 'questions', 0, 'name'], 'www.example.com')), 'ok: (request.questions[0].name == "www.example.com")');
});

test('console lines: source, script, text; the clear marker', () => {
  assert.deepEqual(parseLine('[shop/web-1] [a.js] hello [x]'), { source: 'shop/web-1', script: 'a.js', text: 'hello [x]' });
  assert.deepEqual(parseLine('[hub] script not loaded: b.js:3: oops'), { source: 'hub', script: '', text: 'script not loaded: b.js:3: oops' });
  assert.deepEqual(parseLine('[shop/web-1] [a.js] \f'), { source: 'shop/web-1', script: 'a.js', text: '', clear: true });
  assert.equal(parseLine('[shop/web-1] [a.js] \fnot alone').clear, undefined);
});

test('a clear marker clears only its own source', () => {
  const lines = ['[a/1] [s.js] one', '[b/2] [s.js] two', '[a/1] [s.js] three'].map(parseLine);
  const after = append(lines, [parseLine('[a/1] [s.js] \f'), parseLine('[a/1] [s.js] four')]);
  assert.deepEqual(after.map((l) => (l.clear ? `${l.source} cleared` : l.text)), ['two', 'a/1 cleared', 'four']);
  assert.equal(lines.length, 3, 'the old list is left as it was');
  const many = append([], Array.from({ length: KEEP + 10 }, (_, i) => parseLine(`[a/1] [s.js] ${i}`)));
  assert.equal(many.length, KEEP);
  assert.equal(many[0].text, '10');
});

test('bodies: JSON pretty-printed, the rest as sent', () => {
  assert.deepEqual(prettyBody({ mimeType: 'application/json', text: '{"a":[1,2]}' }), { text: '{\n  "a": [\n    1,\n    2\n  ]\n}', json: true });
  assert.deepEqual(prettyBody({ mimeType: 'application/json', text: '{"cut": "at the lim' }), { text: '{"cut": "at the lim', json: false });
  assert.deepEqual(prettyBody({ mimeType: 'image/png', text: 'iVBORw0K', encoding: 'base64' }), { text: 'iVBORw0K', json: false });
  assert.deepEqual(prettyBody(null), { text: '', json: false });
});

test('endpoints: cluster names when known, addresses otherwise', () => {
  assert.equal(endpoint({ ip: '10.0.0.1', port: '80', name: 'web', namespace: 'shop' }), 'shop/web');
  assert.equal(endpoint({ ip: '10.0.0.1', port: '80', name: '', namespace: '' }), '10.0.0.1:80');
  assert.equal(endpoint({ ip: '2001:db8::1', port: '53', name: '', namespace: '' }), '[2001:db8::1]:53');
});

test('the list holds each item once and at most its cap, newest first', () => {
  const kept = new Kept(3);
  const item = (n) => ({ id: `w/1-${n}` });
  assert.deepEqual(kept.fresh([item(5), item(4), null, { id: '' }]).map((i) => i.id), ['w/1-5', 'w/1-4']);
  assert.deepEqual(kept.fresh([item(4), item(3)]).map((i) => i.id), ['w/1-3'], 'an item seen on the tail is not added again from a page');
  let list = kept.cap([item(5), item(4), item(3)]);
  assert.equal(list.length, 3);
  assert.ok(kept.full(list));
  list = kept.cap([item(7), item(6), ...list]);
  assert.deepEqual(list.map((i) => i.id), ['w/1-7', 'w/1-6', 'w/1-5']);
  assert.equal(kept.dropped, 2);
  assert.deepEqual(kept.fresh([item(3)]).map((i) => i.id), ['w/1-3'], 'what was let go is forgotten');
  assert.equal(MAX_ROWS, 100000);
});

// A service map as /api/servicemap answers it (the shop of hub/tests/support/shop.rs).
const node = (id, kind, members, extra = {}) => {
  const [namespace, name] = kind === 'address' ? ['', id] : id.split('/');
  return { id, kind, name, namespace, members, membersOmitted: 0, received: 0, sent: 0, ...extra };
};
const edge = (source, target, protocol, count, errors) => ({ source, target, protocol, count, errors, errorRate: errors / count, answered: count, p50: 1, p95: 2, p99: 3 });
const shopMap = {
  from: 1767225600000,
  to: null,
  items: 15,
  nodes: [
    node('shop/web', 'workload', ['web-7d4b9c8f6d-b4c5d', 'web-7d4b9c8f6d-x2kqz']),
    node('shop/checkout', 'workload', ['checkout', 'checkout-5c9f8b7d-4xk2p']),
    node('shop/db', 'workload', ['db-0']),
    node('kube-system/kube-dns', 'workload', ['kube-dns']),
    node('93.184.216.34', 'address', ['93.184.216.34']),
  ],
  edges: [
    edge('shop/web', 'shop/checkout', 'http', 6, 2),
    edge('shop/checkout', 'shop/db', 'postgres', 4, 1),
    edge('shop/web', 'kube-system/kube-dns', 'dns', 3, 1),
    edge('shop/checkout', '93.184.216.34', 'http', 2, 0),
  ],
};

test('service map numbers read short', () => {
  assert.deepEqual([0, 0.0004, 0.01, 0.025, 1 / 3, 1].map(percent), ['0%', '<0.1%', '1%', '2.5%', '33%', '100%']);
  assert.deepEqual([null, 0, 999, 1054, 30935, 125000].map(millis), ['—', '0 ms', '999 ms', '1.1 s', '30.9 s', '2.1 min']);
  assert.equal(mapPath('dns and x == "a b"', '15m'), '/api/servicemap?kfl=dns+and+x+%3D%3D+%22a+b%22&window=900');
  assert.equal(mapPath('', 'all'), '/api/servicemap?kfl=');
  assert.deepEqual(shopMap.edges.map(health), ['failing', 'failing', 'failing', 'ok']);
  assert.equal(health({ errors: 1, errorRate: 0.01 }), 'degraded');
  assert.equal(strokeWidth({ count: 6 }, 6), 6);
  assert.equal(strokeWidth({ count: 0 }, 6), 1.5);
});

const WEB_TO_CHECKOUT =
  'src.namespace == "shop" and src.name in ["web-7d4b9c8f6d-b4c5d", "web-7d4b9c8f6d-x2kqz"] and dst.namespace == "shop" and dst.name in ["checkout", "checkout-5c9f8b7d-4xk2p"] and protocol.macro == "http" and timestamp >= 1767225600000';
const TO_ADDRESS = 'src.namespace == "shop" and src.name in ["checkout", "checkout-5c9f8b7d-4xk2p"] and dst.name == "" and dst.ip == "93.184.216.34" and protocol.macro == "http"';

test("an edge's filter selects both ends, the protocol and the window", () => {
  assert.deepEqual(edgeFilter(shopMap, shopMap.edges[0], ''), { kfl: WEB_TO_CHECKOUT, exact: true });
  const all = { ...shopMap, from: null };
  assert.equal(edgeFilter(all, shopMap.edges[3], 'dns or http').kfl, `(dns or http) and ${TO_ADDRESS}`);
  assert.equal(edgeFilter(all, shopMap.edges[1], '').kfl, 'src.namespace == "shop" and src.name in ["checkout", "checkout-5c9f8b7d-4xk2p"] and dst.namespace == "shop" and dst.name == "db-0" and protocol.macro == "postgres"');
  const bounded = { ...shopMap, to: 1767229200000, nodes: shopMap.nodes.map((n) => (n.id === 'shop/web' ? { ...n, membersOmitted: 3 } : n)) };
  const { kfl, exact } = edgeFilter(bounded, shopMap.edges[0], '');
  assert.ok(kfl.endsWith('timestamp >= 1767225600000 and timestamp < 1767229200000'), kfl);
  assert.equal(exact, false, 'a node with names left out is not selected exactly');
});

test('the real KFL parser reads the edge filters as meant', { skip: !process.env.REMORA_BIN && 'REMORA_BIN is not set' }, () => {
  assert.equal(
    kflCheck(WEB_TO_CHECKOUT),
    'ok: ((((((src.namespace == "shop") and (src.name in ["web-7d4b9c8f6d-b4c5d","web-7d4b9c8f6d-x2kqz"])) and (dst.namespace == "shop")) and (dst.name in ["checkout","checkout-5c9f8b7d-4xk2p"])) and (protocol.macro == "http")) and (timestamp >= 1767225600000))',
  );
  assert.equal(
    kflCheck(`(dns or http) and ${TO_ADDRESS}`),
    'ok: ((((((dns or http) and (src.namespace == "shop")) and (src.name in ["checkout","checkout-5c9f8b7d-4xk2p"])) and (dst.name == "")) and (dst.ip == "93.184.216.34")) and (protocol.macro == "http"))',
  );
});

test('the layout: clients left of their servers, the same every time', () => {
  const placed = layout(shopMap);
  const column = (id) => placed.nodes.get(id).column;
  assert.deepEqual(
    shopMap.nodes.map((n) => [n.id, column(n.id)]),
    [['shop/web', 0], ['shop/checkout', 1], ['shop/db', 2], ['kube-system/kube-dns', 1], ['93.184.216.34', 2]],
  );
  // The order the nodes come in does not matter.
  const shuffled = layout({ ...shopMap, nodes: [...shopMap.nodes].reverse(), edges: shopMap.edges });
  assert.deepEqual([...shuffled.nodes.entries()], [...placed.nodes.entries()]);
  assert.deepEqual(shuffled.edges.map((e) => e.path), placed.edges.map((e) => e.path));
  // Nodes of one column do not overlap; edges go from a right side to a left side.
  const ys = [...placed.nodes.values()].filter((p) => p.column === 2).map((p) => p.y).sort((a, b) => a - b);
  assert.ok(ys[1] - ys[0] >= 44, `rows ${ys}`);
  const web = placed.nodes.get('shop/web');
  assert.match(placed.edges[0].path, new RegExp(`^M${web.x + 190},`));
  assert.ok(placed.width >= 3 * 190 && placed.height > 0);
});

test('the layout survives cycles, calls to itself and two protocols on one pair', () => {
  const map = {
    nodes: [node('a/a', 'workload', ['a']), node('a/b', 'workload', ['b'])],
    edges: [edge('a/a', 'a/b', 'http', 1, 0), edge('a/b', 'a/a', 'http', 1, 0), edge('a/a', 'a/b', 'grpc', 1, 0), edge('a/b', 'a/b', 'redis', 1, 0)],
  };
  const placed = layout(map);
  assert.deepEqual([placed.nodes.get('a/a').column, placed.nodes.get('a/b').column], [0, 1]);
  const paths = placed.edges.map((e) => e.path);
  assert.equal(new Set(paths).size, 4, 'every edge has its own curve');
  assert.ok(placed.edges.every((e) => Number.isFinite(e.label.x) && Number.isFinite(e.label.y)));
});
