// Map: the workloads and the calls between them over a window, narrowed by the KFL box
// (/api/servicemap); an edge clicked, on the map or in the table, opens Items filtered
// to exactly its items.

import { useEffect, useState } from 'preact/hooks';
import { json } from './api.js';
import { FilterForm, KflError, keepQuery, kflError, rememberQuery, startingQuery } from './filter.jsx';
import { WINDOWS, NODE, edgeFilter, health, layout, mapPath, millis, percent, strokeWidth } from './servicemap.js';

const REFRESH_MS = 15000;
const WINDOW_KEY = 'remora.map.window';

const edgeKey = (e) => `${e.source} → ${e.target} ${e.protocol}`;

const counted = (n, word) => `${n.toLocaleString()} ${word}${n === 1 ? '' : 's'}`;

function short(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function Node({ node, at }) {
  const title = node.kind === 'address' ? `${node.name} (no name resolved)` : `${node.id}\n${node.members.join('\n')}${node.membersOmitted ? `\n… and ${node.membersOmitted} more` : ''}`;
  return (
    <g class={`node ${node.kind}`} data-node={node.id} transform={`translate(${at.x},${at.y})`}>
      <title>{title}</title>
      <rect width={NODE.width} height={NODE.height} rx="7" />
      <text x="12" y={node.kind === 'address' ? 27 : 19} class="name">
        {short(node.name, 24)}
      </text>
      {node.kind === 'workload' && (
        <text x="12" y="34" class="namespace">
          {short(node.namespace || '(no namespace)', 28)}
        </text>
      )}
    </g>
  );
}

function Edge({ placed, busiest, hovered, onHover, onOpen }) {
  const { edge, path, label } = placed;
  const text = `${edge.protocol.toUpperCase()} ${edge.count.toLocaleString()} · ${percent(edge.errorRate)}`;
  const width = text.length * 6.6 + 10;
  return (
    <g class={`edge ${health(edge)}${hovered ? ' hovered' : ''}`} data-edge={edgeKey(edge)} onMouseEnter={() => onHover(edgeKey(edge))} onMouseLeave={() => onHover(null)} onClick={() => onOpen(edge)}>
      <title>{`${edgeKey(edge)}: ${edge.count} requests, ${edge.errors} errors; p50 ${millis(edge.p50)}, p95 ${millis(edge.p95)}, p99 ${millis(edge.p99)}`}</title>
      <path d={path} class="hit" />
      <path d={path} class="line" style={{ strokeWidth: strokeWidth(edge, busiest) }} marker-end={`url(#arrow-${health(edge)})`} />
      <rect x={label.x - width / 2} y={label.y - 9} width={width} height="18" rx="9" class="label" />
      <text x={label.x} y={label.y + 4} text-anchor="middle" class="label">
        {text}
      </text>
    </g>
  );
}

function Markers() {
  return (
    <defs>
      {['ok', 'degraded', 'failing'].map((kind) => (
        <marker id={`arrow-${kind}`} class={kind} viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto">
          <path d="M0,0 L10,5 L0,10 z" />
        </marker>
      ))}
    </defs>
  );
}

export function ServiceMap() {
  const [input, setInput] = useState(startingQuery);
  const [kfl, setKfl] = useState(startingQuery);
  const [windowLabel, setWindowLabel] = useState(() => sessionStorage.getItem(WINDOW_KEY) || '1h');
  const [map, setMap] = useState(null);
  const [error, setError] = useState(null);
  const [hovered, setHovered] = useState(null);

  useEffect(() => {
    let cancelled = false;
    const load = () =>
      json(mapPath(kfl, windowLabel))
        .then((answer) => {
          if (cancelled) return;
          setMap(answer);
          setError(null);
        })
        .catch((e) => !cancelled && setError(kflError(e, kfl)));
    load();
    const timer = setInterval(load, REFRESH_MS);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [kfl, windowLabel]);

  const apply = (query) => {
    setInput(query);
    setKfl(query);
    keepQuery('map', query);
  };
  const open = (edge) => {
    const { kfl: filter } = edgeFilter(map, edge, kfl);
    rememberQuery(filter);
    location.hash = `#/items?kfl=${encodeURIComponent(filter)}`;
  };

  const placed = map && layout(map);
  const busiest = map ? Math.max(1, ...map.edges.map((e) => e.count)) : 1;
  const omitted = map?.omitted;
  return (
    <div class="map">
      <FilterForm input={input} setInput={setInput} kfl={kfl} error={error} apply={apply}>
        <select
          aria-label="Window"
          value={windowLabel}
          onChange={(e) => {
            sessionStorage.setItem(WINDOW_KEY, e.currentTarget.value);
            setWindowLabel(e.currentTarget.value);
          }}
        >
          {WINDOWS.map(([label]) => (
            <option value={label}>{label === 'all' ? 'all stored' : `last ${label}`}</option>
          ))}
        </select>
      </FilterForm>
      {error && <KflError error={error} />}
      <div class="status-line" data-testid="map-summary">
        {map ? `${counted(map.items, 'item')} · ${counted(map.nodes.length, 'node')} · ${counted(map.edges.length, 'edge')}` : 'loading'}
        {omitted && (omitted.nodes > 0 || omitted.edges > 0) && (
          <span class="warning">
            the busiest shown: {omitted.nodes} nodes, {omitted.edges} edges ({omitted.items.toLocaleString()} items) left out; narrow the filter
          </span>
        )}
        {map?.nodes.some((n) => n.membersOmitted > 0) && <span class="warning">some workloads carry more than 50 names: an edge's Items filter lists the first 50</span>}
        {(map?.warnings || []).map((w) => (
          <span class="warning">{w}</span>
        ))}
      </div>
      {map && map.edges.length === 0 ? (
        <p class="muted empty">No items match in this window.</p>
      ) : (
        placed && (
          <div class="map-split">
            <div class="map-canvas">
              <svg width={placed.width} height={placed.height} viewBox={`0 0 ${placed.width} ${placed.height}`} role="img" aria-label="service map">
                <Markers />
                {placed.edges.map((p) => (
                  <Edge placed={p} busiest={busiest} hovered={hovered === edgeKey(p.edge)} onHover={setHovered} onOpen={open} />
                ))}
                {map.nodes.map((node) => (
                  <Node node={node} at={placed.nodes.get(node.id)} />
                ))}
              </svg>
            </div>
            <div class="edge-table">
              <table class="grid">
                <thead>
                  <tr>
                    <th>client → server</th>
                    <th>proto</th>
                    <th>requests</th>
                    <th>errors</th>
                    <th>p50</th>
                    <th>p95</th>
                    <th>p99</th>
                  </tr>
                </thead>
                <tbody>
                  {map.edges.map((edge) => (
                    <tr
                      data-edge={edgeKey(edge)}
                      class={`${health(edge)}${hovered === edgeKey(edge) ? ' hovered' : ''}`}
                      title="show these items"
                      onMouseEnter={() => setHovered(edgeKey(edge))}
                      onMouseLeave={() => setHovered(null)}
                      onClick={() => open(edge)}
                    >
                      <td class="ends">
                        {edge.source} → {edge.target}
                      </td>
                      <td>{edge.protocol}</td>
                      <td class="number">{edge.count.toLocaleString()}</td>
                      <td class="number">
                        {edge.errors.toLocaleString()} ({percent(edge.errorRate)})
                      </td>
                      <td class="number">{millis(edge.p50)}</td>
                      <td class="number">{millis(edge.p95)}</td>
                      <td class="number">{millis(edge.p99)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </div>
        )
      )}
    </div>
  );
}
