// The dashboard's shell: the token form, the header with the hub's sidecars, and the
// five views (#/items, #/map, #/scripts, #/console, #/jobs).

import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { json, setToken, token } from './api.js';
import { Items } from './items.jsx';
import { ServiceMap } from './map.jsx';
import { Scripts } from './scripts.jsx';
import { Console } from './console.jsx';
import { Jobs } from './jobs.jsx';
import './style.css';

const VIEWS = { items: Items, map: ServiceMap, scripts: Scripts, console: Console, jobs: Jobs };
const TITLES = { items: 'Items', map: 'Map', scripts: 'Scripts', console: 'Console', jobs: 'Jobs' };

function currentView() {
  const name = location.hash.replace(/^#\/?/, '').split('?')[0];
  return VIEWS[name] ? name : 'items';
}

/** `#token=...` (as `remora dashboard` opens it) signs in without the form; the fragment never reaches a server. */
function takeTokenFromUrl() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match) {
    setToken(decodeURIComponent(match[1]));
    history.replaceState(null, '', '#/items');
  }
}

function SignIn({ refused, onDone }) {
  const [value, setValue] = useState('');
  return (
    <form
      class="sign-in"
      onSubmit={(e) => {
        e.preventDefault();
        setToken(value.trim());
        onDone();
      }}
    >
      <h1>Remora</h1>
      <p>The hub's API token (a line of the remora-hub-tokens Secret, or the hub's --token-file).</p>
      {refused && <p class="kfl-error" role="alert">The hub refused the token. Check it and try again.</p>}
      <input type="password" name="token" autocomplete="off" placeholder="token" value={value} onInput={(e) => setValue(e.currentTarget.value)} />
      <button type="submit" disabled={!value.trim()}>
        Sign in
      </button>
    </form>
  );
}

function Sidecars() {
  const [count, setCount] = useState(null);
  useEffect(() => {
    const load = () =>
      json('/api/sidecars')
        .then((s) => setCount(s.sidecars.length))
        .catch(() => setCount(null));
    load();
    const timer = setInterval(load, 5000);
    return () => clearInterval(timer);
  }, []);
  return <span class="muted">{count === null ? 'hub unreachable' : `${count} sidecar${count === 1 ? '' : 's'} connected`}</span>;
}

function App() {
  const [view, setView] = useState(currentView);
  const [signedIn, setSignedIn] = useState(() => Boolean(token()));
  const [refused, setRefused] = useState(false);

  useEffect(() => {
    const onHash = () => setView(currentView());
    const onRefused = () => {
      setRefused(true);
      setSignedIn(false);
    };
    window.addEventListener('hashchange', onHash);
    window.addEventListener('remora-unauthorized', onRefused);
    return () => {
      window.removeEventListener('hashchange', onHash);
      window.removeEventListener('remora-unauthorized', onRefused);
    };
  }, []);

  if (!signedIn) return <SignIn refused={refused} onDone={() => { setRefused(false); setSignedIn(true); }} />;
  const View = VIEWS[view];
  return (
    <div class="app">
      <header class="top">
        <strong class="brand">Remora</strong>
        <nav class="tabs">
          {Object.keys(VIEWS).map((name) => (
            <a href={`#/${name}`} class={view === name ? 'active' : ''}>
              {TITLES[name]}
            </a>
          ))}
        </nav>
        <Sidecars />
        <button
          class="sign-out"
          onClick={() => {
            setToken('');
            setSignedIn(false);
          }}
        >
          Sign out
        </button>
      </header>
      <main>
        <View />
      </main>
    </div>
  );
}

takeTokenFromUrl();
render(<App />, document.getElementById('app'));
