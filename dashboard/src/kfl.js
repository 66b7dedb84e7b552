// Building KFL from clicks: a field path and a value become a clause added to the filter.

const NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `["request", "headers", "content-type"]` → `request.headers["content-type"]`. */
export function selector(path) {
  return path
    .map((part, i) => {
      if (typeof part === 'number') return `.${part}`;
      if (NAME.test(part)) return i === 0 ? part : `.${part}`;
      return `[${JSON.stringify(part)}]`;
    })
    .join('');
}

const ESCAPES = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\t': '\\t' };

/** A KFL literal. KFL strings know only the escapes `\"`, `\\`, `\n` and `\t` (docs/kfl.md);
 *  every other character, control characters included, stands as itself. */
export function literal(value) {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return `"${value.replace(/[\\"\n\t]/g, (c) => ESCAPES[c])}"`;
  return String(value);
}

/** `query and clause`, with parentheses kept where the old query had an `or`. */
export function addClause(query, clause) {
  const old = query.trim();
  if (!old) return clause;
  const wrapped = /\bor\b|\|\|/.test(old) ? `(${old})` : old;
  return `${wrapped} and ${clause}`;
}

export function equals(path, value) {
  return `${selector(path)} == ${literal(value)}`;
}
