// Console: the scripts' lines from every pod and the hub, live, labelled with where
// they came from; filtered by pod. A script's console.clear() (a line whose text is a
// form feed, docs/api.md) clears the lines of its pod (or the hub) and leaves a marker.

import { useEffect, useRef, useState } from 'preact/hooks';
import { followStream } from './api.js';
import { append, parseLine } from './console-lines.js';

export function Console() {
  const [lines, setLines] = useState([]);
  const [state, setState] = useState('connecting');
  const [pod, setPod] = useState('');
  const [follow, setFollow] = useState(true);
  const box = useRef(null);
  const counter = useRef(0);

  useEffect(() => {
    let pending = [];
    let frame = 0;
    const flush = () => {
      frame = 0;
      const fresh = pending;
      pending = [];
      setLines((old) => append(old, fresh));
    };
    return followStream(
      '/api/console',
      (text) => {
        pending.push({ n: counter.current++, ...parseLine(text) });
        if (!frame) frame = requestAnimationFrame(flush);
      },
      setState,
    );
  }, []);

  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines, follow, pod]);

  const sources = [...new Set(lines.map((l) => l.source))].filter(Boolean).sort();
  const shown = pod ? lines.filter((l) => l.source === pod) : lines;
  return (
    <div class="console">
      <div class="console-bar">
        <select aria-label="Pod" value={pod} onChange={(e) => setPod(e.currentTarget.value)}>
          <option value="">all pods</option>
          {sources.map((s) => (
            <option value={s}>{s}</option>
          ))}
        </select>
        <label>
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.currentTarget.checked)} /> follow
        </label>
        <span class={state === 'live' ? 'live' : 'offline'}>{state}</span>
        <span class="muted">{shown.length} lines</span>
      </div>
      <div class="console-lines" ref={box} data-testid="console">
        {shown.map((l) =>
          l.clear ? (
            <div key={l.n} class="console-line cleared">
              {l.source} cleared its console ({l.script})
            </div>
          ) : (
            <div key={l.n} class="console-line">
              <span class="source">{l.source}</span>
              {l.script && <span class="script">{l.script}</span>}
              <span class="text">{l.text}</span>
            </div>
          ),
        )}
      </div>
    </div>
  );
}
