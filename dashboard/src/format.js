// How items read in the list and the detail view.

export function time(item) {
  const start = item.startTime || '';
  return start.length >= 23 ? start.slice(11, 23) : start;
}

export function endpoint(end) {
  if (!end) return '';
  if (end.name) return end.namespace ? `${end.namespace}/${end.name}` : end.name;
  return end.ip && end.ip.includes(':') ? `[${end.ip}]:${end.port}` : `${end.ip}:${end.port}`;
}

/** Whether `text` (of the given content type) is JSON, and its pretty form. */
export function prettyBody(body) {
  if (!body || !body.text) return { text: '', json: false };
  if (body.encoding === 'base64') return { text: body.text, json: false };
  const looksJson = /json/i.test(body.mimeType || '') || /^\s*[[{]/.test(body.text);
  if (looksJson) {
    try {
      return { text: JSON.stringify(JSON.parse(body.text), null, 2), json: true };
    } catch {
      // Not JSON after all (or cut at the body limit): shown as sent.
    }
  }
  return { text: body.text, json: false };
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1 << 20)).toFixed(1)} MiB`;
}
