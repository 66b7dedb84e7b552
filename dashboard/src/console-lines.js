// The console stream's lines (docs/api.md): `[source] [script.js] text`, and the clear
// marker a script's console.clear() sends, whose text is a single form feed.

/** Lines kept in the page. */
export const KEEP = 5000;
const LINE = /^\[([^\]]*)\]\s*(?:\[([^\]]*\.js)\]\s*)?(.*)$/s;
const CLEAR = /^\[([^\]]*)\] \[([^\]]*)\] \f$/;

export function parseLine(text) {
  const clear = CLEAR.exec(text);
  if (clear) return { source: clear[1], script: clear[2], text: '', clear: true };
  const m = LINE.exec(text);
  return m ? { source: m[1], script: m[2] || '', text: m[3] } : { source: '', script: '', text };
}

/** `lines` with `fresh` added: a clear marker drops the earlier lines of its source. */
export function append(lines, fresh) {
  let out = lines.slice();
  for (const line of fresh) {
    if (line.clear) out = out.filter((l) => l.source !== line.source);
    out.push(line);
  }
  return out.slice(-KEEP);
}
