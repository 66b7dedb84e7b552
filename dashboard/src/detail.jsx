// One item: request and response (headers, body pretty-printed when it is JSON), timing,
// and its stream's PCAP. Every plain field has a "+" that adds it to the filter.

import { useState } from 'preact/hooks';
import { download } from './api.js';
import { bytes, endpoint, prettyBody } from './format.js';
import { equals } from './kfl.js';

/** Bodies get their own view; these are shown with them, not as fields. */
const BODY_KEYS = new Set(['postData', 'content', 'payload', 'body']);
const MAX_DEPTH = 4;

function isPlain(value) {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

function Fields({ value, path, onFilter, depth = 0 }) {
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  if (!entries.length) return <span class="muted">none</span>;
  return (
    <table class="fields">
      <tbody>
        {entries
          .filter(([key]) => !BODY_KEYS.has(key))
          .map(([key, v]) => (
            <tr>
              <th>{key}</th>
              <td>
                {isPlain(v) ? (
                  <span class="value">
                    <span>{String(v)}</span>
                    <button class="add" title="add to the filter" onClick={() => onFilter(equals([...path, key], v))}>
                      +
                    </button>
                  </span>
                ) : depth < MAX_DEPTH ? (
                  <Fields value={v} path={[...path, key]} onFilter={onFilter} depth={depth + 1} />
                ) : (
                  <code>{JSON.stringify(v)}</code>
                )}
              </td>
            </tr>
          ))}
      </tbody>
    </table>
  );
}

function Body({ title, body }) {
  if (!body || !body.text) return null;
  const { text, json } = prettyBody(body);
  return (
    <div class="body">
      <h4>
        {title} <span class="muted">{body.mimeType} · {bytes(body.size || 0)}{json ? ' · JSON' : ''}{body.truncated ? ' · truncated' : ''}{body.encoding === 'base64' ? ' · base64' : ''}</span>
      </h4>
      <pre class={json ? 'json' : ''}>{text}</pre>
    </div>
  );
}

function Message({ title, message, path, onFilter }) {
  if (!message) {
    return (
      <section>
        <h3>{title}</h3>
        <span class="muted">none was seen</span>
      </section>
    );
  }
  const body = message.postData || message.content || message.body || (message.payload?.text !== undefined ? message.payload : null);
  return (
    <section>
      <h3>{title}</h3>
      <Fields value={message} path={path} onFilter={onFilter} />
      <Body title="body" body={body} />
    </section>
  );
}

export function ItemDetail({ item, onFilter, onClose }) {
  const [tab, setTab] = useState('request');
  const [pcap, setPcap] = useState('');
  const savePcap = async () => {
    setPcap('fetching…');
    const kfl = [equals(['worker'], item.worker), equals(['namespace'], item.namespace), equals(['stream'], item.stream)].join(' and ');
    try {
      const got = await download(`/api/pcap?kfl=${encodeURIComponent(kfl)}`, item.stream);
      setPcap(`saved ${got.name} (${bytes(got.bytes)})`);
    } catch (e) {
      setPcap(`no PCAP: ${e.message}`);
    }
  };
  const common = { id: item.id, worker: item.worker, namespace: item.namespace, stream: item.stream, protocol: item.protocol, src: item.src, dst: item.dst, error: item.error, passed: item.passed, failed: item.failed };
  return (
    <aside class="detail" data-testid="detail">
      <header>
        <strong>{item.protocol?.abbr}</strong> {endpoint(item.src)} → {endpoint(item.dst)}
        <span class="status">{item.summary?.status}</span>
        {item.failed && <span class="verdict failed">failed</span>}
        {item.passed && <span class="verdict passed">passed</span>}
        <button class="close" onClick={onClose} title="close">
          ×
        </button>
      </header>
      <div class="request-line">{item.summary?.request}</div>
      {item.error && <div class="item-error">{item.error.type}: {item.error.msg}</div>}
      <nav class="tabs small">
        {['request', 'response', 'timing', 'item', 'json'].map((t) => (
          <button class={tab === t ? 'active' : ''} onClick={() => setTab(t)}>
            {t}
          </button>
        ))}
        <button onClick={savePcap} title="the stream's packets, fetched from its sidecar">
          PCAP
        </button>
      </nav>
      {pcap && <div class="muted pcap-status">{pcap}</div>}
      <div class="detail-body">
        {tab === 'request' && <Message title="Request" message={item.request} path={['request']} onFilter={onFilter} />}
        {tab === 'response' && <Message title="Response" message={item.response} path={['response']} onFilter={onFilter} />}
        {tab === 'timing' && (
          <table class="fields">
            <tbody>
              <tr><th>started</th><td>{item.startTime}</td></tr>
              <tr><th>elapsed</th><td>{item.elapsedTime} ms</td></tr>
              <tr><th>request size</th><td>{bytes(item.requestSize || 0)}</td></tr>
              <tr><th>response size</th><td>{bytes(item.responseSize || 0)}</td></tr>
            </tbody>
          </table>
        )}
        {tab === 'item' && <Fields value={common} path={[]} onFilter={onFilter} />}
        {tab === 'json' && <pre class="json">{JSON.stringify(item, null, 2)}</pre>}
      </div>
    </aside>
  );
}
