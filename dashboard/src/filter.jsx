// The KFL box the Items and Map views share: the query they start from (the address's
// `?kfl=`, else the last one applied in this tab), the form, and a bad query shown with
// the character at the error marked.

const KEY = 'remora.kfl';

/** The query a view opens with. */
export function startingQuery() {
  const fromAddress = new URLSearchParams(location.hash.split('?')[1] || '').get('kfl');
  return fromAddress ?? sessionStorage.getItem(KEY) ?? '';
}

/** The query the next view opens with. */
export function rememberQuery(query) {
  sessionStorage.setItem(KEY, query);
}

/** Applies `query` in the view `view`: remembered for the other view, kept in the address. */
export function keepQuery(view, query) {
  rememberQuery(query);
  history.replaceState(null, '', `#/${view}?kfl=${encodeURIComponent(query)}`);
}

/** The hub's 400 for a bad query, as `{message, position, query}`. */
export function kflError(e, query) {
  const position = typeof e.body?.position === 'number' ? e.body.position : null;
  return { message: e.message, position, query };
}

export function FilterForm({ input, setInput, kfl, error, apply, children }) {
  return (
    <form
      class="filter"
      onSubmit={(e) => {
        e.preventDefault();
        apply(input);
      }}
    >
      <input
        name="kfl"
        class={error ? 'invalid' : ''}
        placeholder='KFL filter, e.g. http and response.status >= 500'
        value={input}
        spellcheck={false}
        onInput={(e) => setInput(e.currentTarget.value)}
      />
      <button type="submit">Apply</button>
      {kfl && (
        <button type="button" onClick={() => apply('')}>
          Clear
        </button>
      )}
      {children}
    </form>
  );
}

export function KflError({ error }) {
  const { query, position, message } = error;
  if (position === null) {
    return (
      <div class="kfl-error" role="alert">
        {message}
      </div>
    );
  }
  const chars = [...query];
  return (
    <div class="kfl-error" role="alert">
      <code>
        {chars.slice(0, position).join('')}
        <mark>{chars[position] ?? ' '}</mark>
        {chars.slice(position + 1).join('')}
      </code>
      <div>{message}</div>
    </div>
  );
}
