// The service map's pure parts: the windows offered, how numbers read, the KFL that
// selects an edge's items, and a deterministic layered layout (clients left of the
// servers they call) as SVG geometry.

import { addClause, equals, literal } from './kfl.js';

/** The windows the page offers: label and seconds (`null`: every stored item). */
export const WINDOWS = [
  ['5m', 300],
  ['15m', 900],
  ['1h', 3600],
  ['6h', 21600],
  ['24h', 86400],
  ['all', null],
];

/** `/api/servicemap`'s address for a query and a window label. */
export function mapPath(kfl, windowLabel) {
  const seconds = WINDOWS.find(([label]) => label === windowLabel)?.[1] ?? null;
  const params = new URLSearchParams({ kfl });
  if (seconds !== null) params.set('window', String(seconds));
  return `/api/servicemap?${params}`;
}

export function percent(rate) {
  if (!rate) return '0%';
  if (rate < 0.001) return '<0.1%';
  const value = rate * 100;
  return `${value >= 10 || Number.isInteger(value) ? Math.round(value) : value.toFixed(1)}%`;
}

export function millis(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60000).toFixed(1)} min`;
}

/** How an edge is drawn: by its error rate. */
export function health(edge) {
  if (edge.errors === 0) return 'ok';
  return edge.errorRate >= 0.05 ? 'failing' : 'degraded';
}

/** The clauses that select one side's items: a workload by its namespace and the names
 *  its items carry, an address by the address (and no name). */
function sideClauses(side, node) {
  if (node.kind === 'address') return [equals([side, 'name'], ''), equals([side, 'ip'], node.name)];
  const names = node.members.length === 1 ? equals([side, 'name'], node.members[0]) : `${side}.name in [${node.members.map(literal).join(', ')}]`;
  return [equals([side, 'namespace'], node.namespace), names];
}

/**
 * The KFL that selects exactly an edge's items: both ends, the protocol and the map's
 * window, added to the query the map was drawn with. `exact` is false when a node has
 * more names than the hub listed (the filter then selects the listed ones).
 */
export function edgeFilter(map, edge, query) {
  const nodes = new Map(map.nodes.map((n) => [n.id, n]));
  const source = nodes.get(edge.source);
  const target = nodes.get(edge.target);
  const clauses = [...sideClauses('src', source), ...sideClauses('dst', target), equals(['protocol', 'macro'], edge.protocol)];
  if (map.from !== null && map.from !== undefined) clauses.push(`timestamp >= ${map.from}`);
  if (map.to !== null && map.to !== undefined) clauses.push(`timestamp < ${map.to}`);
  return { kfl: addClause(query, clauses.join(' and ')), exact: !source.membersOmitted && !target.membersOmitted };
}

export const NODE = { width: 190, height: 44 };
const GAP = { column: 220, row: 24, margin: 24 };

/** Edges between distinct nodes, by id, in a stable order. */
function links(edges) {
  return edges.filter((e) => e.source !== e.target).map((e) => [e.source, e.target]);
}

/** Layers: a node sits one right of the rightmost node calling it; calls that close a
 *  cycle (found depth first, in id order) are left out of the layering. */
function layers(ids, edges) {
  const out = new Map(ids.map((id) => [id, []]));
  for (const [a, b] of links(edges)) out.get(a).push(b);
  for (const targets of out.values()) targets.sort();
  const state = new Map();
  const order = [];
  const back = new Set();
  const visit = (id) => {
    state.set(id, 'open');
    for (const next of out.get(id)) {
      if (state.get(next) === 'open') back.add(`${id}\n${next}`);
      else if (!state.has(next)) visit(next);
    }
    state.set(id, 'done');
    order.push(id);
  };
  for (const id of ids) if (!state.has(id)) visit(id);
  const layer = new Map(ids.map((id) => [id, 0]));
  for (const id of order.reverse()) {
    for (const next of out.get(id)) {
      if (!back.has(`${id}\n${next}`)) layer.set(next, Math.max(layer.get(next), layer.get(id) + 1));
    }
  }
  return layer;
}

/** Orders each column by the mean row of its neighbours in the column before (and then
 *  after), a few sweeps, ties by id: fewer crossings, same answer every time. */
function orderColumns(columns, edges) {
  const neighbours = new Map();
  const link = (a, b) => {
    if (!neighbours.has(a)) neighbours.set(a, []);
    neighbours.get(a).push(b);
  };
  for (const [a, b] of links(edges)) {
    link(a, b);
    link(b, a);
  }
  const row = new Map();
  const place = (column) => column.forEach((id, i) => row.set(id, i));
  columns.forEach(place);
  const sweep = (column, from) => {
    const mean = (id) => {
      const known = (neighbours.get(id) || []).filter((n) => from.includes(n)).map((n) => row.get(n));
      return known.length ? known.reduce((s, r) => s + r, 0) / known.length : row.get(id);
    };
    const keys = new Map(column.map((id) => [id, mean(id)]));
    column.sort((a, b) => keys.get(a) - keys.get(b) || (a < b ? -1 : a > b ? 1 : 0));
    place(column);
  };
  for (let pass = 0; pass < 4; pass++) {
    for (let c = 1; c < columns.length; c++) sweep(columns[c], columns[c - 1]);
    for (let c = columns.length - 2; c >= 0; c--) sweep(columns[c], columns[c + 1]);
  }
  return columns;
}

/** The point of a cubic Bézier at t = 0.5. */
function middle([p0, p1, p2, p3]) {
  return { x: (p0.x + 3 * p1.x + 3 * p2.x + p3.x) / 8, y: (p0.y + 3 * p1.y + 3 * p2.y + p3.y) / 8 };
}

/**
 * Where everything goes: `{width, height, nodes: Map(id → {x, y, column}), edges: [{edge,
 * path, label: {x, y}}]}`. Nodes in columns by layer, edges as curves from a client's
 * right side to a server's left; calls backwards or within a column loop below, a node's
 * calls to itself loop on its right. Several protocols between the same two nodes are
 * spread apart.
 */
export function layout(map) {
  const ids = map.nodes.map((n) => n.id).sort();
  const layer = layers(ids, map.edges);
  const columns = [];
  for (const id of ids) (columns[layer.get(id)] ||= []).push(id);
  orderColumns(columns, map.edges);
  const tallest = Math.max(1, ...columns.map((c) => c.length));
  const height = GAP.margin * 2 + tallest * NODE.height + (tallest - 1) * GAP.row + 40;
  const width = GAP.margin * 2 + columns.length * NODE.width + Math.max(0, columns.length - 1) * GAP.column;
  const nodes = new Map();
  columns.forEach((column, c) => {
    const used = column.length * NODE.height + (column.length - 1) * GAP.row;
    const top = (height - 40 - used) / 2;
    column.forEach((id, r) => nodes.set(id, { x: GAP.margin + c * (NODE.width + GAP.column), y: top + r * (NODE.height + GAP.row), column: c }));
  });
  // Edges sharing both ends get offsets, centred on the node's middle.
  const pairs = new Map();
  for (const e of map.edges) {
    const key = [e.source, e.target].sort().join('\n');
    pairs.set(key, [...(pairs.get(key) || []), e]);
  }
  const edges = map.edges.map((edge) => {
    const siblings = pairs.get([edge.source, edge.target].sort().join('\n'));
    const spread = (siblings.indexOf(edge) - (siblings.length - 1) / 2) * 10;
    const a = nodes.get(edge.source);
    const b = nodes.get(edge.target);
    let points;
    if (edge.source === edge.target) {
      const x = a.x + NODE.width;
      const y = a.y + NODE.height / 2 + spread;
      points = [{ x, y: y - 8 }, { x: x + 60, y: y - 40 }, { x: x + 60, y: y + 40 }, { x, y: y + 8 }];
    } else if (b.column > a.column) {
      const start = { x: a.x + NODE.width, y: a.y + NODE.height / 2 + spread };
      const end = { x: b.x, y: b.y + NODE.height / 2 + spread };
      const bend = (end.x - start.x) / 2;
      points = [start, { x: start.x + bend, y: start.y }, { x: end.x - bend, y: end.y }, end];
    } else {
      const start = { x: a.x + NODE.width / 2 + spread, y: a.y + NODE.height };
      const end = { x: b.x + NODE.width / 2 + spread, y: b.y + NODE.height };
      const drop = 50 + Math.abs(a.column - b.column) * 20;
      points = [start, { x: start.x, y: Math.max(start.y, end.y) + drop }, { x: end.x, y: Math.max(start.y, end.y) + drop }, end];
    }
    const [p0, p1, p2, p3] = points.map((p) => ({ x: Math.round(p.x * 10) / 10, y: Math.round(p.y * 10) / 10 }));
    const path = `M${p0.x},${p0.y} C${p1.x},${p1.y} ${p2.x},${p2.y} ${p3.x},${p3.y}`;
    return { edge, path, label: middle([p0, p1, p2, p3]) };
  });
  const lowest = Math.max(height, ...edges.map((e) => e.label.y + 30));
  return { width, height: lowest, nodes, edges };
}

/** Edge stroke width by its share of the busiest edge's requests. */
export function strokeWidth(edge, busiest) {
  return 1.5 + 4.5 * Math.sqrt(edge.count / Math.max(1, busiest));
}
