// Items: the live list (newest first, virtualised), the KFL filter, and the detail of
// the item clicked.

import { useEffect, useRef, useState } from 'preact/hooks';
import { useVirtualizer } from '@tanstack/react-virtual';
import { json, followStream } from './api.js';
import { addClause } from './kfl.js';
import { endpoint, time } from './format.js';
import { ItemDetail } from './detail.jsx';
import { Kept, MAX_ROWS } from './kept.js';
import { FilterForm, KflError, keepQuery, kflError, startingQuery } from './filter.jsx';

const PAGE = 1000;
const ROW_HEIGHT = 26;

function rowClass(item, selected) {
  const verdict = item.failed ? ' failed' : item.passed ? ' passed' : '';
  return `row${verdict}${selected ? ' selected' : ''}${item.error ? ' incomplete' : ''}`;
}

export function Items() {
  const [input, setInput] = useState(startingQuery);
  const [kfl, setKfl] = useState(startingQuery);
  const [rows, setRows] = useState([]);
  const [next, setNext] = useState(null);
  const [error, setError] = useState(null);
  const [warnings, setWarnings] = useState([]);
  const [stream, setStream] = useState('connecting');
  const [selected, setSelected] = useState(null);
  const kept = useRef(new Kept());
  const loading = useRef(false);
  // Bumped when the filter changes: answers asked for under an older filter are dropped.
  const generation = useRef(0);
  const scroller = useRef(null);

  const cap = (list) => kept.current.cap(list);
  const take = (items) => kept.current.fresh(items);

  // A filter applies: new items from now on (tail), and the newest page before them.
  useEffect(() => {
    let cancelled = false;
    generation.current += 1;
    loading.current = false;
    kept.current = new Kept();
    setRows([]);
    setNext(null);
    setError(null);
    setWarnings([]);
    const q = encodeURIComponent(kfl);
    let pending = [];
    let frame = 0;
    const flush = () => {
      frame = 0;
      const fresh = take(pending).reverse();
      pending = [];
      if (fresh.length) setRows((old) => cap(fresh.concat(old)));
    };
    const stop = followStream(
      `/api/tail?summary=true&kfl=${q}`,
      (line) => {
        const item = JSON.parse(line);
        if (item.warning) {
          setWarnings((old) => [...old.slice(-4), item.warning]);
          return;
        }
        pending.push(item);
        if (!frame) frame = requestAnimationFrame(flush);
      },
      setStream,
    );
    json(`/api/items?summary=true&limit=${PAGE}&kfl=${q}`)
      .then((page) => {
        if (cancelled) return;
        const older = take(page.items);
        setRows((old) => cap(old.concat(older)));
        setNext(page.next ?? null);
        setWarnings(page.warnings || []);
      })
      .catch((e) => {
        if (cancelled) return;
        setError(kflError(e, kfl));
        stop();
      });
    return () => {
      cancelled = true;
      stop();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [kfl]);

  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 15,
  });
  const visible = virtualizer.getVirtualItems();

  // Older pages as the user scrolls to the end of what is loaded.
  const last = visible.length ? visible[visible.length - 1].index : 0;
  useEffect(() => {
    if (next === null || loading.current || last < rows.length - 50 || kept.current.full(rows)) return;
    loading.current = true;
    const asked = generation.current;
    json(`/api/items?summary=true&limit=${PAGE}&before=${next}&kfl=${encodeURIComponent(kfl)}`)
      .then((page) => {
        if (asked !== generation.current) return;
        const older = take(page.items);
        setRows((old) => cap(old.concat(older)));
        setNext(page.next ?? null);
      })
      .catch((e) => asked === generation.current && setWarnings((old) => [...old, `older items: ${e.message}`]))
      .finally(() => {
        if (asked === generation.current) loading.current = false;
      });
  }, [last, next, rows.length, kfl]);

  const apply = (query) => {
    setInput(query);
    setKfl(query);
    keepQuery('items', query);
  };
  const addFilter = (clause) => apply(addClause(input, clause));

  return (
    <div class="items">
      <FilterForm input={input} setInput={setInput} kfl={kfl} error={error} apply={apply} />
      {error && <KflError error={error} />}
      <div class="status-line">
        <span data-testid="item-count">{rows.length.toLocaleString()}</span> items
        {kept.current.dropped > 0 && ` (newest ${MAX_ROWS.toLocaleString()} kept; ${kept.current.dropped.toLocaleString()} older let go)`}
        {kept.current.full(rows) && next !== null && kept.current.dropped === 0 && ` (the newest ${MAX_ROWS.toLocaleString()}; narrow the filter to see older ones)`}
        {!error && (
          <>
            {' · '}
            <span class={stream === 'live' ? 'live' : 'offline'}>{stream}</span>
          </>
        )}
        {warnings.map((w) => (
          <span class="warning">{w}</span>
        ))}
      </div>
      <div class="split">
        <div class="list">
          <div class="row head">
            <span>time</span>
            <span>proto</span>
            <span>source</span>
            <span>destination</span>
            <span>request</span>
            <span>status</span>
            <span>latency</span>
          </div>
          <div class="scroller" ref={scroller}>
            <div style={{ height: `${virtualizer.getTotalSize()}px`, position: 'relative' }}>
              {visible.map((v) => {
                const item = rows[v.index];
                return (
                  <div
                    key={item.id}
                    data-id={item.id}
                    data-index={v.index}
                    class={rowClass(item, selected?.id === item.id)}
                    style={{ transform: `translateY(${v.start}px)`, height: `${ROW_HEIGHT}px` }}
                    onClick={() => setSelected(item)}
                  >
                    <span>{time(item)}</span>
                    <span
                      class="proto"
                      title="add this protocol to the filter"
                      onClick={(e) => {
                        e.stopPropagation();
                        addFilter(item.protocol?.macro || item.protocol?.name);
                      }}
                    >
                      {item.protocol?.abbr}
                    </span>
                    <span title={`${item.src?.ip}:${item.src?.port}`}>{endpoint(item.src)}</span>
                    <span title={`${item.dst?.ip}:${item.dst?.port}`}>{endpoint(item.dst)}</span>
                    <span class="request" title={item.error?.msg || ''}>
                      {item.summary?.request}
                    </span>
                    <span class="status">{item.summary?.status}</span>
                    <span class="elapsed">{item.elapsedTime} ms</span>
                  </div>
                );
              })}
            </div>
          </div>
        </div>
        {selected && <ItemDetail item={selected} onFilter={addFilter} onClose={() => setSelected(null)} />}
      </div>
    </div>
  );
}
