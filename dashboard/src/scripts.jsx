// Scripts: the hub's source of scripts (a directory or the scripts ConfigMap), each
// viewed and edited in CodeMirror and saved back; the hub hands the new set to every
// sidecar. Errors of the last load come from the hub's own load of the same set; who
// changed each script last (through the API) from the hub's audit log.

import { useEffect, useRef, useState } from 'preact/hooks';
import { EditorView, basicSetup } from 'codemirror';
import { javascript } from '@codemirror/lang-javascript';
import { json, request } from './api.js';
import { EXAMPLES } from './examples.js';

const NAME = /^[A-Za-z0-9_.-]+\.js$/;

export function Scripts() {
  const [list, setList] = useState({ scripts: [], errors: [], source: '' });
  const [name, setName] = useState('');
  const [message, setMessage] = useState('');
  const [dirty, setDirty] = useState(false);
  const host = useRef(null);
  const view = useRef(null);

  const reload = () =>
    json('/api/scripts')
      .then(setList)
      .catch((e) => setMessage(e.message));

  useEffect(() => {
    view.current = new EditorView({
      doc: '',
      extensions: [basicSetup, javascript(), EditorView.updateListener.of((u) => u.docChanged && setDirty(true))],
      parent: host.current,
    });
    reload();
    return () => view.current.destroy();
  }, []);

  const show = (scriptName, source) => {
    const editor = view.current;
    editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: source } });
    setName(scriptName);
    setDirty(false);
    setMessage('');
  };

  const save = async () => {
    if (!NAME.test(name)) {
      setMessage(`"${name}" is not a script name: letters, digits, - _ . and ending in .js`);
      return;
    }
    try {
      const answer = await json(`/api/scripts/${encodeURIComponent(name)}`, { method: 'PUT', body: view.current.state.doc.toString() });
      setDirty(false);
      setMessage(answer.changed ? `saved ${name}; every sidecar runs it within seconds` : `${name} was already so`);
      await reload();
      // The hub reloads its own scripts a moment later: ask again for the load's errors.
      setTimeout(reload, 1500);
    } catch (e) {
      setMessage(`not saved: ${e.message}`);
    }
  };

  const remove = async () => {
    if (!confirm(`Delete ${name} from every sidecar?`)) return;
    try {
      await request(`/api/scripts/${encodeURIComponent(name)}`, { method: 'DELETE' });
      show('', '');
      setMessage(`deleted ${name}`);
      await reload();
      setTimeout(reload, 1500);
    } catch (e) {
      setMessage(`not deleted: ${e.message}`);
    }
  };

  const groups = [...new Set(EXAMPLES.map((e) => e.group))];
  return (
    <div class="scripts">
      <div class="script-list">
        <div class="muted">{list.source || 'no scripts source'}</div>
        <ul>
          {list.scripts.map((s) => (
            <li class={s.name === name ? 'active' : ''}>
              <a href="#/scripts" onClick={(e) => { e.preventDefault(); show(s.name, s.source); }}>
                {s.name}
              </a>{' '}
              <span class="muted">{s.bytes} B</span>
              {s.lastChange && (
                <div class="muted last-change" title={`${s.lastChange.time}, SHA-256 ${s.lastChange.sha256 || ''}`}>
                  changed by {s.lastChange.who} ({s.lastChange.role}), {new Date(s.lastChange.time).toLocaleString()}
                </div>
              )}
            </li>
          ))}
        </ul>
        <button onClick={() => show('new-script.js', '')}>New script</button>
        <select
          aria-label="Examples"
          value=""
          onChange={(e) => {
            const example = EXAMPLES.find((x) => x.name === e.currentTarget.value);
            if (example) show(example.name, example.source);
          }}
        >
          <option value="">Examples…</option>
          {groups.map((g) => (
            <optgroup label={g}>
              {EXAMPLES.filter((x) => x.group === g).map((x) => (
                <option value={x.name}>{x.name}</option>
              ))}
            </optgroup>
          ))}
        </select>
        {list.errors?.length > 0 && (
          <div class="load-errors" role="alert">
            <h4>Last load</h4>
            {list.errors.map((e) => (
              <pre>{e}</pre>
            ))}
          </div>
        )}
      </div>
      <div class="editor-pane">
        <div class="editor-bar">
          <input aria-label="Script name" value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="name.js" />
          <button onClick={save} disabled={!name}>
            Save{dirty ? ' *' : ''}
          </button>
          <button onClick={remove} disabled={!list.scripts.some((s) => s.name === name)}>
            Delete
          </button>
          <span class="message">{message}</span>
        </div>
        <div class="editor" ref={host} />
      </div>
    </div>
  );
}
