// The hub's API as the dashboard calls it: the user's bearer token on every request, a
// 401 sends the user back to the token form, streams read line by line.

const TOKEN_KEY = 'remora.token';

export function token() {
  return localStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(value) {
  if (value) localStorage.setItem(TOKEN_KEY, value);
  else localStorage.removeItem(TOKEN_KEY);
}

/** An answer that is not 2xx: `body` is the hub's JSON error (`error`, and for KFL `position`). */
export class ApiError extends Error {
  constructor(status, body) {
    super(body.error || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function request(path, options = {}) {
  const headers = { ...(options.headers || {}), Authorization: `Bearer ${token()}` };
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401) {
    window.dispatchEvent(new Event('remora-unauthorized'));
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new ApiError(response.status, body);
  }
  return response;
}

export async function json(path, options) {
  return (await request(path, options)).json();
}

/** Calls `onLine` with each line of a streaming answer until it ends or `signal` aborts. */
export async function streamLines(path, signal, onLine) {
  const response = await request(path, { signal });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let rest = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    rest += value;
    let end;
    while ((end = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, end);
      rest = rest.slice(end + 1);
      if (line) onLine(line);
    }
  }
}

/**
 * Keeps a stream open: reopens it after it ends or fails (the hub restarted), waiting a
 * little longer each time. `onState` hears 'live' or the reason it is retrying.
 */
export function followStream(path, onLine, onState) {
  const control = new AbortController();
  (async () => {
    let wait = 500;
    while (!control.signal.aborted) {
      try {
        onState('live');
        await streamLines(path, control.signal, onLine);
        onState('the hub closed the stream; reconnecting');
      } catch (e) {
        if (control.signal.aborted) return;
        // A refused token or a bad query will not get better by asking again.
        if (e instanceof ApiError && e.status < 500) {
          onState(e.message);
          return;
        }
        onState(`${e.message}; reconnecting`);
      }
      await new Promise((done) => setTimeout(done, wait));
      wait = Math.min(wait * 2, 10000);
    }
  })();
  return () => control.abort();
}

/** Fetches a file with the token and hands it to the browser as a download. */
export async function download(path, fallbackName) {
  const response = await request(path);
  const blob = await response.blob();
  const disposition = response.headers.get('content-disposition') || '';
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] || fallbackName;
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  return { name, bytes: blob.size, streams: response.headers.get('x-remora-streams') };
}
