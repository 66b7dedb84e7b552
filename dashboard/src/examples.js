// Ready scripts for the Examples menu: the project's examples, every example of the
// public reference (conformance/), the runnable repair where the original is a fragment,
// and one for each helper beyond the reference pages (conformance/extended/).

const found = import.meta.glob(['../../examples/scripts/*.js', '../../conformance/scripts/*.js', '../../conformance/repaired/*.js', '../../conformance/extended/*.js'], {
  query: '?raw',
  import: 'default',
  eager: true,
});

function group(path) {
  if (path.includes('/examples/')) return 'Remora examples';
  return path.includes('/extended/') ? 'More helpers' : 'Reference examples';
}

const byName = new Map();
for (const [path, source] of Object.entries(found).sort(([a], [b]) => a.localeCompare(b))) {
  const name = path.split('/').pop();
  // repaired/ sorts after scripts/: its version replaces the fragment.
  if (path.includes('/repaired/') || !byName.has(name)) byName.set(name, { name, group: group(path), source });
}

export const EXAMPLES = [...byName.values()].sort((a, b) => a.group.localeCompare(b.group) || a.name.localeCompare(b.name));
