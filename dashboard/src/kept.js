// The item list's bookkeeping: which items it holds (by id, so the tail and the pages
// never show one twice) and its cap, past which the oldest rows go, counted.

/** Rows kept in the page; older ones go (counted) so a long session stays light. */
export const MAX_ROWS = 100000;

export class Kept {
  constructor(max = MAX_ROWS) {
    this.max = max;
    this.ids = new Set();
    this.dropped = 0;
  }

  /** The items not held yet, each held from now on. */
  fresh(items) {
    const fresh = items.filter((item) => item && item.id && !this.ids.has(item.id));
    fresh.forEach((item) => this.ids.add(item.id));
    return fresh;
  }

  /** `list` (newest first) cut to the newest `max`; what goes is forgotten and counted. */
  cap(list) {
    if (list.length <= this.max) return list;
    const gone = list.slice(this.max);
    this.dropped += gone.length;
    gone.forEach((item) => this.ids.delete(item.id));
    return list.slice(0, this.max);
  }

  /** Whether the list is full: older pages would only be let go again. */
  full(list) {
    return list.length >= this.max;
  }
}
