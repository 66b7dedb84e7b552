//! The hub's item store: newest kept, bounded by item count and by the memory the items
//! really take (a parsed `Value` costs about twice its JSON text: [`value_cost`]), queried
//! with KFL newest first with paging, a chunk at a time ([`SCAN_CHUNK`]) so that a long
//! scan never holds ingestion up for more than one chunk.

use std::collections::VecDeque;
use std::mem::size_of;

use remora_kfl::Query;
use serde_json::Value;

/// One stored item and its place in arrival order.
struct Stored {
    seq: u64,
    bytes: usize,
    item: Value,
}

pub struct ItemStore {
    items: VecDeque<Stored>,
    max_items: usize,
    max_bytes: usize,
    bytes: usize,
    next_seq: u64,
    /// Items pushed out by newer ones.
    pub evicted: u64,
}

/// A page of results, newest first; `next` is the cursor of the following page.
#[derive(Debug, serde::Serialize)]
pub struct Page {
    pub items: Vec<Value>,
    pub next: Option<u64>,
}

impl ItemStore {
    pub fn new(max_items: usize, max_bytes: usize) -> ItemStore {
        ItemStore { items: VecDeque::new(), max_items: max_items.max(1), max_bytes: max_bytes.max(1), bytes: 0, next_seq: 0, evicted: 0 }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The bound on `bytes` (`--max-bytes`): past it the oldest items go.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The stored items, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Value> {
        self.items.iter().map(|s| &s.item)
    }

    /// Stores `item`, evicting the oldest past either bound.
    pub fn push(&mut self, item: Value) {
        let bytes = value_cost(&item) + size_of::<Stored>();
        self.items.push_back(Stored { seq: self.next_seq, bytes, item });
        self.next_seq += 1;
        self.bytes += bytes;
        while self.items.len() > self.max_items || (self.bytes > self.max_bytes && self.items.len() > 1) {
            if let Some(old) = self.items.pop_front() {
                self.bytes -= old.bytes;
                self.evicted += 1;
            }
        }
    }

    /// Items matching `query`, newest first, at most `limit`, older than the cursor
    /// `before` when given. The query's own `limit(n)` caps the page too. In one go: a
    /// caller that shares the store with ingestion uses [`Self::scan`] a chunk at a time.
    pub fn query(&self, query: &Query, limit: usize, before: Option<u64>) -> Page {
        let mut scan = Scan::new(query, limit, before);
        while !scan.done() {
            self.scan(query, &mut scan);
        }
        scan.page
    }

    /// Goes on with `scan`: at most [`SCAN_CHUNK`] items, newest first, from where it
    /// stopped. Items stored meanwhile are newer than the scan began with: not seen.
    pub fn scan(&self, query: &Query, scan: &mut Scan) {
        let Some(from) = scan.from.take() else { return };
        scan.from = self.scan_chunk(query, from, |seq, item| {
            if scan.page.items.len() == scan.limit {
                scan.page.next = Some(seq + 1);
                return false;
            }
            scan.page.items.push(item.clone());
            true
        });
    }

    /// Shows `visit` the items matching `query` among at most [`SCAN_CHUNK`] older than
    /// `from` (`None`: from the newest), newest first, until it returns false; as the
    /// query's `redact()`s leave them (the stored item stays whole). Returns where to go
    /// on, or `None` when there is nothing more to see.
    pub fn scan_chunk(&self, query: &Query, from: Option<u64>, mut visit: impl FnMut(u64, &Value) -> bool) -> Option<Option<u64>> {
        // Sequence numbers grow with position: where the items older than `from` end.
        let end = self.items.partition_point(|s| from.is_none_or(|b| s.seq < b));
        let start = end.saturating_sub(SCAN_CHUNK);
        let redacts = !query.redactions().is_empty();
        for stored in self.items.range(start..end).rev() {
            // One evaluation decides and redacts, so what is shown is what was decided.
            let shown = if redacts {
                let mut copy = stored.item.clone();
                query.evaluate(&mut copy).then_some(std::borrow::Cow::Owned(copy))
            } else {
                query.matches_value(&stored.item).then_some(std::borrow::Cow::Borrowed(&stored.item))
            };
            if shown.is_some_and(|item| !visit(stored.seq, &item)) {
                return None;
            }
        }
        (start > 0).then(|| Some(self.items[start].seq))
    }
}

/// Stored items one hold of the store's lock looks at, at most: about a millisecond of KFL.
pub const SCAN_CHUNK: usize = 4096;

/// A query under way, newest first ([`ItemStore::scan`]).
pub struct Scan {
    page: Page,
    limit: usize,
    /// Where to go on: below this sequence number (`None`: from the newest); `None`
    /// when the scan is done.
    from: Option<Option<u64>>,
}

impl Scan {
    pub fn new(query: &Query, limit: usize, before: Option<u64>) -> Scan {
        let limit = query.limit().map_or(limit, |l| usize::try_from(l).unwrap_or(usize::MAX).min(limit)).max(1);
        Scan { page: Page { items: Vec::new(), next: None }, limit, from: Some(before) }
    }

    pub fn done(&self) -> bool {
        self.from.is_none()
    }

    pub fn into_page(self) -> Page {
        self.page
    }
}

/// What `value` takes in memory, its own slot included: strings' bytes, arrays' slots, and
/// objects' B-tree nodes (serde_json's `Map` is a `BTreeMap`, whose nodes hold up to 11
/// entries each, allocated whole however few are used). Checked against an allocator's
/// count in tests/store_memory.rs.
pub fn value_cost(value: &Value) -> usize {
    size_of::<Value>()
        + match value {
            Value::String(text) => text.capacity(),
            Value::Array(values) => (values.capacity() - values.len()) * size_of::<Value>() + values.iter().map(value_cost).sum::<usize>(),
            Value::Object(map) => {
                map_nodes(map.len()) * BTREE_NODE + map.iter().map(|(key, value)| key.capacity() + value_cost(value) - size_of::<Value>()).sum::<usize>()
            }
            _ => 0,
        }
}

/// A B-tree node of `String` keys and `Value`s: 11 of each, parent link, lengths; an
/// internal node also has 12 child links.
const BTREE_NODE: usize = 11 * (size_of::<String>() + size_of::<Value>()) + 16;

/// The nodes of a B-tree of `len` entries: one leaf up to 11; past that, leaves about
/// two thirds full (splits leave halves, appends fill them up).
fn map_nodes(len: usize) -> usize {
    match len {
        0 => 0,
        1..=11 => 1,
        _ => len.div_ceil(8) + len.div_ceil(64),
    }
}

/// The streams of the items matching a query, newest first, at most `max`: each as
/// (namespace, worker, stream), which names the sidecar holding its PCAP file. Gathered
/// a chunk at a time, as [`Scan`] is.
pub struct Streams {
    seen: std::collections::HashSet<(String, String, String)>,
    pub found: Vec<(String, String, String)>,
    max: usize,
    from: Option<Option<u64>>,
}

impl Streams {
    pub fn new(max: usize) -> Streams {
        Streams { seen: Default::default(), found: Vec::new(), max, from: Some(None) }
    }

    pub fn done(&self) -> bool {
        self.from.is_none()
    }

    /// Goes on through one chunk of `store`.
    pub fn scan(&mut self, store: &ItemStore, query: &Query) {
        let Some(from) = self.from.take() else { return };
        self.from = store.scan_chunk(query, from, |_, item| {
            if self.found.len() == self.max {
                return false;
            }
            let text = |key: &str| item.get(key).and_then(Value::as_str).unwrap_or("").to_string();
            let key = (text("namespace"), text("worker"), text("stream"));
            if !key.2.is_empty() && self.seen.insert(key.clone()) {
                self.found.push(key);
            }
            true
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(status: u64) -> Value {
        json!({"protocol": {"name": "http"}, "response": {"status": status}, "request": {"headers": {"authorization": "secret"}}})
    }

    #[test]
    fn newest_first_with_paging_and_bounds() {
        let mut store = ItemStore::new(5, 1 << 20);
        for status in [200, 500, 200, 503, 500, 200, 500] {
            store.push(item(status));
        }
        assert_eq!(store.len(), 5);
        assert_eq!(store.evicted, 2);
        let errors = Query::compile("response.status >= 500").expect("kfl");
        let first = store.query(&errors, 2, None);
        let statuses: Vec<&Value> = first.items.iter().map(|i| &i["response"]["status"]).collect();
        assert_eq!(statuses, [&json!(500), &json!(500)]);
        let second = store.query(&errors, 2, first.next);
        assert_eq!(second.items.len(), 1);
        assert_eq!(second.items[0]["response"]["status"], 503);
        assert_eq!(second.next, None);
    }

    #[test]
    fn byte_bound_and_redaction() {
        let cost = value_cost(&item(200)) + size_of::<Stored>();
        let mut store = ItemStore::new(100, cost * 5 / 2);
        for _ in 0..5 {
            store.push(item(200));
        }
        assert_eq!(store.len(), 2);
        assert!(store.bytes() <= cost * 5 / 2);
        let q = Query::compile("http and redact(\"request.headers.authorization\")").expect("kfl");
        let page = store.query(&q, 10, None);
        assert_eq!(page.items.len(), 2);
        assert_ne!(page.items[0]["request"]["headers"]["authorization"], "secret");
    }

    #[test]
    fn a_scan_goes_a_chunk_at_a_time_and_sees_what_a_single_pass_sees() {
        let mut store = ItemStore::new(100_000, 1 << 30);
        for n in 0..3 * SCAN_CHUNK as u64 + 10 {
            store.push(json!({"n": n, "response": {"status": if n % 1000 == 7 { 500 } else { 200 }}}));
        }
        let errors = Query::compile("response.status == 500").expect("kfl");
        let whole = store.query(&errors, 1000, None);
        let mut scan = Scan::new(&errors, 1000, None);
        let mut chunks = 0;
        while !scan.done() {
            store.scan(&errors, &mut scan);
            chunks += 1;
            // Ingestion between chunks: newer than the scan, so not in its answer.
            store.push(json!({"n": -1, "response": {"status": 500}}));
        }
        assert_eq!(chunks, 4, "three chunks and the rest");
        let page = scan.into_page();
        assert_eq!(page.items, whole.items);
        let numbers: Vec<i64> = page.items.iter().filter_map(|i| i["n"].as_i64()).collect();
        assert_eq!(numbers, [12007, 11007, 10007, 9007, 8007, 7007, 6007, 5007, 4007, 3007, 2007, 1007, 7]);

        // Paging across a chunk's edge: the cursor goes on where the page stopped.
        let first = store.query(&errors, 10, None);
        let rest = store.query(&errors, 100, first.next);
        let mut all: Vec<Value> = first.items;
        all.extend(rest.items);
        assert_eq!(all.iter().filter(|i| i["n"] == -1).count(), 4);
        assert_eq!(all.len(), 13 + 4);

        let mut streams = Streams::new(2);
        while !streams.done() {
            streams.scan(&store, &Query::compile("true").expect("kfl"));
        }
        assert!(streams.found.is_empty(), "items without a stream name none");
    }

    #[test]
    fn the_byte_bound_counts_what_parsed_items_take() {
        // 1,000 items of about 200 bytes of JSON each: 200 KB of text, about twice that parsed.
        let text = r#"{"protocol":{"name":"http","layer4":"tcp"},"request":{"method":"GET","path":"/api/v1/users","headers":{"host":"shop","accept":"*/*"}},"response":{"status":200}}"#;
        let mut store = ItemStore::new(100_000, 1 << 30);
        for _ in 0..1000 {
            store.push(serde_json::from_str(text).expect("json"));
        }
        let per_item = store.bytes() / 1000;
        assert!(per_item > 2 * text.len(), "{per_item} bytes per parsed item of {} bytes of text", text.len());
    }
}
