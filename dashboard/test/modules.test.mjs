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
