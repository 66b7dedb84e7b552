//! The hub's item store: items kept as the JSON text sidecars sent (so `--max-bytes`
//! bounds exactly what is kept), newest kept, bounded by count and by bytes, with an index
//! of each item's protocol, namespace and time (`item_text::INDEXED`, `timestamp`).
//!
//! A query is decided from the index wherever it can be (`Query::decide_known`): an item
//! the index rules out is never parsed, one it rules in is answered as its text. Only the
//! items the index leaves open are parsed and evaluated, and that happens outside the
//! store's lock: the lock is held for one chunk of the index at a time ([`SCAN_CHUNK`]),
//! so queries never hold ingestion up for long.

use std::collections::{HashMap, VecDeque};
use std::mem::size_of;
use std::sync::Arc;

use remora_kfl::Query;
use serde_json::Value;

use crate::item_text::{known_value, Incoming, ItemText, INDEXED, TIME};

/// One stored item, its place in arrival order and its index entry.
struct Stored {
    seq: u64,
    /// `timestamp`, or [`NO_TIME`].
    time: i64,
    /// Its indexed values' number in [`Index`], or [`UNINDEXED`].
    known: u32,
    text: ItemText,
}

const NO_TIME: i64 = i64::MIN;
const UNINDEXED: u32 = u32::MAX;

/// What one item costs beyond its text's bytes: its slot, and the shared `String` with
/// its counts.
pub const ITEM_OVERHEAD: usize = size_of::<Stored>() + 2 * size_of::<usize>() + size_of::<String>();

/// What an item of this text counts for in [`ItemStore::bytes`].
fn cost(text: &ItemText) -> usize {
    text.capacity() + ITEM_OVERHEAD
}

/// The distinct indexed values of the stored items, each numbered once (protocols times
/// namespaces: few). Past [`MAX_KNOWN`] new ones are left unindexed, so the index stays
/// small whatever sidecars send.
#[derive(Default)]
struct Index {
    ids: HashMap<String, u32>,
    values: Vec<Value>,
}

const MAX_KNOWN: usize = 16_384;

impl Index {
    fn id(&mut self, key: Option<&str>) -> u32 {
        let Some(key) = key else { return UNINDEXED };
        if let Some(id) = self.ids.get(key) {
            return *id;
        }
        if self.values.len() >= MAX_KNOWN {
            return UNINDEXED;
        }
        let id = self.values.len() as u32;
        self.values.push(known_value(key));
        self.ids.insert(key.to_string(), id);
        id
    }
}

pub struct ItemStore {
    items: VecDeque<Stored>,
    index: Index,
    max_items: usize,
    max_bytes: usize,
    bytes: usize,
    next_seq: u64,
    /// Items pushed out by newer ones.
    pub evicted: u64,
}

/// A page of results, newest first (each item's JSON text); `next` is the cursor of the
/// following page.
#[derive(Debug)]
pub struct Page {
    pub items: Vec<ItemText>,
    pub next: Option<u64>,
}

impl ItemStore {
    pub fn new(max_items: usize, max_bytes: usize) -> ItemStore {
        ItemStore { items: VecDeque::new(), index: Index::default(), max_items: max_items.max(1), max_bytes: max_bytes.max(1), bytes: 0, next_seq: 0, evicted: 0 }
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

    /// The items' text (the bytes allocated for it) plus [`ITEM_OVERHEAD`] each.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The sequence number the next item will get (items stored since the start).
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The stored items' JSON text, oldest first.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(|s| s.text.as_str())
    }

    /// Stores `item`, evicting the oldest past either bound.
    pub fn push(&mut self, item: Incoming) {
        let bytes = cost(&item.text);
        let known = self.index.id(item.known.as_deref());
        self.items.push_back(Stored { seq: self.next_seq, time: item.time.unwrap_or(NO_TIME), known, text: item.text });
        self.next_seq += 1;
        self.bytes += bytes;
        while self.items.len() > self.max_items || (self.bytes > self.max_bytes && self.items.len() > 1) {
            if let Some(old) = self.items.pop_front() {
                self.bytes -= cost(&old.text);
                self.evicted += 1;
            }
        }
    }

    /// Stores a parsed item (tests); false for one that is not a JSON object.
    pub fn push_value(&mut self, item: &Value) -> bool {
        Incoming::from_value(item, None).map(|item| self.push(item)).is_ok()
    }

    /// Items matching `query`, newest first, at most `limit`, older than the cursor
    /// `before` when given. The query's own `limit(n)` caps the page too.
    pub fn query(&self, query: &Query, limit: usize, before: Option<u64>) -> Page {
        page(query, limit, before, |filter, from, out| self.candidates(filter, from, out))
    }

    /// The items among at most [`SCAN_CHUNK`] older than `from` (`None`: from the newest)
    /// that `filter`'s index does not rule out, newest first, into `out` (at most
    /// [`MAX_CANDIDATES`]). Returns where to go on, or `None` when there is nothing more.
    pub fn candidates(&self, filter: &mut Filter, from: Option<u64>, out: &mut Vec<Candidate>) -> Option<Option<u64>> {
        // Sequence numbers grow with position: where the items older than `from` end.
        let end = self.items.partition_point(|s| from.is_none_or(|b| s.seq < b));
        let start = end.saturating_sub(SCAN_CHUNK);
        for stored in self.items.range(start..end).rev() {
            let verdict = filter.verdict(&self.index, stored.known, stored.time);
            if verdict == Some(false) {
                continue;
            }
            out.push(Candidate { seq: stored.seq, text: stored.text.clone(), decided: verdict.is_some() });
            if out.len() >= MAX_CANDIDATES {
                return Some(Some(stored.seq));
            }
        }
        (start > 0).then(|| Some(self.items[start].seq))
    }
}

/// Index entries one hold of the store's lock looks at, at most (a few nanoseconds each).
pub const SCAN_CHUNK: usize = 32_768;
/// Items one hold hands out to be parsed outside the lock, at most.
pub const MAX_CANDIDATES: usize = 1024;

/// An item the index did not rule out: `decided` when it ruled it in.
pub struct Candidate {
    seq: u64,
    text: ItemText,
    decided: bool,
}

/// An item that matches, as the query shows it (redacted where it redacts).
pub struct Found {
    pub seq: u64,
    text: ItemText,
    value: Option<Value>,
}

impl Found {
    pub fn into_text(self) -> ItemText {
        self.text
    }

    /// The item parsed (once; `None` if its text is not JSON, which the store never keeps).
    pub fn value(&mut self) -> Option<&Value> {
        if self.value.is_none() {
            self.value = serde_json::from_str(&self.text).ok();
        }
        self.value.as_ref()
    }
}

/// What the index says of an item's indexed values, for one query.
#[derive(Clone, Copy, PartialEq)]
enum Verdict {
    Unset,
    No,
    Yes,
    Open,
}

/// The paths the index holds, with the time.
const COVERED_WITH_TIME: [&[&str]; 7] = [INDEXED[0], INDEXED[1], INDEXED[2], INDEXED[3], INDEXED[4], INDEXED[5], TIME];

/// A query under way: what the index decides for each distinct indexed value (worked out
/// once), with `now()` fixed for the whole scan.
pub struct Filter<'q> {
    query: &'q Query,
    now_ms: i64,
    /// Whether the index may decide: not for a query that redacts (what follows a
    /// `redact()` sees the redacted item).
    indexed: bool,
    reads_time: bool,
    verdicts: Vec<Verdict>,
    /// The indexed values with a `timestamp` to set, for queries that read the time.
    timed: HashMap<u32, Value>,
    /// Text every match holds (`Query::needles`): an item without it is not parsed.
    needles: Vec<memchr::memmem::Finder<'static>>,
    /// Items parsed to be decided (what the index could not spare).
    pub parsed: u64,
}

impl<'q> Filter<'q> {
    pub fn new(query: &'q Query) -> Filter<'q> {
        Filter {
            query,
            now_ms: chrono::Utc::now().timestamp_millis(),
            indexed: query.redactions().is_empty(),
            reads_time: query.reads_path(TIME),
            verdicts: Vec::new(),
            timed: HashMap::new(),
            needles: query.needles().iter().map(|n| memchr::memmem::Finder::new(n.as_bytes()).into_owned()).collect(),
            parsed: 0,
        }
    }

    /// With `now()` at `now_ms` (tests).
    pub fn at(query: &'q Query, now_ms: i64) -> Filter<'q> {
        Filter { now_ms, ..Filter::new(query) }
    }

    fn verdict(&mut self, index: &Index, known: u32, time: i64) -> Option<bool> {
        if !self.indexed || known == UNINDEXED {
            return None;
        }
        let slot = known as usize;
        if slot >= self.verdicts.len() {
            self.verdicts.resize(index.values.len().max(slot + 1), Verdict::Unset);
        }
        if self.verdicts[slot] == Verdict::Unset {
            self.verdicts[slot] = match self.query.decide_known(&index.values[slot], &INDEXED, self.now_ms) {
                Some(true) => Verdict::Yes,
                Some(false) => Verdict::No,
                None => Verdict::Open,
            };
        }
        match self.verdicts[slot] {
            Verdict::Yes => Some(true),
            Verdict::No => Some(false),
            _ if !self.reads_time || time == NO_TIME => None,
            _ => {
                let known = self.timed.entry(known).or_insert_with(|| {
                    let mut value = index.values[slot].clone();
                    if let Some(object) = value.as_object_mut() {
                        object.insert(TIME[0].into(), Value::from(0));
                    }
                    value
                });
                if let Some(slot) = known.get_mut(TIME[0]) {
                    *slot = Value::from(time);
                }
                self.query.decide_known(known, &COVERED_WITH_TIME, self.now_ms)
            }
        }
    }

    /// Decides a candidate the index left open (parsing it) and shows it as the query
    /// does; `None` when it does not match.
    pub fn settle(&mut self, candidate: Candidate) -> Option<Found> {
        let Candidate { seq, text, decided } = candidate;
        if decided {
            return Some(Found { seq, text, value: None });
        }
        // Items are written by serde_json (the sidecar's, or the hub's own for an item it
        // had to parse), which writes a string one way only.
        if !self.needles.iter().all(|needle| needle.find(text.as_bytes()).is_some()) {
            return None;
        }
        self.parsed += 1;
        let mut value: Value = serde_json::from_str(&text).ok()?;
        if self.indexed {
            return self.query.matches_value_at(&value, self.now_ms).then_some(Found { seq, text, value: Some(value) });
        }
        // One evaluation decides and redacts, so what is shown is what was decided.
        self.query.evaluate_at(&mut value, self.now_ms).then(|| Found { seq, text: Arc::new(value.to_string()), value: Some(value) })
    }
}

/// Shows `visit` the items matching `query`, newest first from the cursor `before`,
/// until it returns false: `chunk` hands out one chunk's candidates at a time (taking the
/// store's lock for it, when the store is shared), which are decided after.
pub fn scan(query: &Query, before: Option<u64>, chunk: impl FnMut(&mut Filter, Option<u64>, &mut Vec<Candidate>) -> Option<Option<u64>>, visit: impl FnMut(Found) -> bool) -> Filter<'_> {
    scan_with(Filter::new(query), before, chunk, visit)
}

/// [`scan`] with a filter made beforehand (a pinned clock).
pub fn scan_with<'q>(
    mut filter: Filter<'q>,
    before: Option<u64>,
    mut chunk: impl FnMut(&mut Filter, Option<u64>, &mut Vec<Candidate>) -> Option<Option<u64>>,
    mut visit: impl FnMut(Found) -> bool,
) -> Filter<'q> {
    let mut from = Some(before);
    let mut candidates = Vec::new();
    while let Some(at) = from {
        from = chunk(&mut filter, at, &mut candidates);
        for candidate in candidates.drain(..) {
            if let Some(found) = filter.settle(candidate) {
                if !visit(found) {
                    return filter;
                }
            }
        }
    }
    filter
}

/// A page of the items matching `query` (see [`ItemStore::query`]), through `chunk`.
pub fn page(query: &Query, limit: usize, before: Option<u64>, chunk: impl FnMut(&mut Filter, Option<u64>, &mut Vec<Candidate>) -> Option<Option<u64>>) -> Page {
    let limit = query.limit().map_or(limit, |l| usize::try_from(l).unwrap_or(usize::MAX).min(limit)).max(1);
    let mut page = Page { items: Vec::new(), next: None };
    scan(query, before, chunk, |found| {
        if page.items.len() == limit {
            page.next = Some(found.seq + 1);
            return false;
        }
        page.items.push(found.into_text());
        true
    });
    page
}

/// The streams of the items matching a query, newest first, at most `max`: each as
/// (namespace, worker, stream), which names the sidecar holding its PCAP file.
pub fn streams(query: &Query, max: usize, chunk: impl FnMut(&mut Filter, Option<u64>, &mut Vec<Candidate>) -> Option<Option<u64>>) -> Vec<(String, String, String)> {
    let mut seen = std::collections::HashSet::new();
    let mut found = Vec::new();
    scan(query, None, chunk, |mut item| {
        if found.len() == max {
            return false;
        }
        let Some(item) = item.value() else { return true };
        let text = |key: &str| item.get(key).and_then(Value::as_str).unwrap_or("").to_string();
        let key = (text("namespace"), text("worker"), text("stream"));
        if !key.2.is_empty() && seen.insert(key.clone()) {
            found.push(key);
        }
        true
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(status: u64) -> Value {
        json!({"protocol": {"name": "http"}, "response": {"status": status}, "request": {"headers": {"authorization": "secret"}}})
    }

    fn values(page: &Page) -> Vec<Value> {
        page.items.iter().map(|t| serde_json::from_str(t).expect("json")).collect()
    }

    #[test]
    fn newest_first_with_paging_and_bounds() {
        let mut store = ItemStore::new(5, 1 << 20);
        for status in [200, 500, 200, 503, 500, 200, 500] {
            assert!(store.push_value(&item(status)));
        }
        assert_eq!(store.len(), 5);
        assert_eq!(store.evicted, 2);
        let errors = Query::compile("response.status >= 500").expect("kfl");
        let first = store.query(&errors, 2, None);
        let statuses: Vec<Value> = values(&first).iter().map(|i| i["response"]["status"].clone()).collect();
        assert_eq!(statuses, [json!(500), json!(500)]);
        let second = store.query(&errors, 2, first.next);
        assert_eq!(values(&second).len(), 1);
        assert_eq!(values(&second)[0]["response"]["status"], 503);
        assert_eq!(second.next, None);
    }

    #[test]
    fn the_byte_bound_is_the_text_kept_and_redaction_shows_a_redacted_copy() {
        let text = item(200).to_string();
        let cost = Incoming::from_value(&item(200), None).expect("object").text.capacity() + ITEM_OVERHEAD;
        let mut store = ItemStore::new(100, cost * 5 / 2);
        for _ in 0..5 {
            store.push_value(&item(200));
        }
        assert_eq!(store.len(), 2);
        assert_eq!(store.bytes(), 2 * cost);
        assert_eq!(store.texts().collect::<Vec<_>>(), [text.as_str(), text.as_str()]);
        assert_eq!(ITEM_OVERHEAD, 72, "docs/api.md and --max-bytes's help say so");
        let q = Query::compile("http and redact(\"request.headers.authorization\")").expect("kfl");
        let page = store.query(&q, 10, None);
        assert_eq!(page.items.len(), 2);
        assert_ne!(values(&page)[0]["request"]["headers"]["authorization"], "secret");
        assert!(store.texts().all(|t| t.contains("secret")), "the stored item stays whole");
    }

    #[test]
    fn a_scan_goes_a_chunk_at_a_time_and_sees_what_a_single_pass_sees() {
        let mut store = ItemStore::new(1_000_000, 1 << 30);
        let total = 2 * SCAN_CHUNK as u64 + 10;
        for n in 0..total {
            store.push_value(&json!({"n": n, "response": {"status": if n % 10_000 == 7 { 500 } else { 200 }}}));
        }
        let errors = Query::compile("response.status == 500").expect("kfl");
        let whole = store.query(&errors, 1000, None);
        let mut chunks = 0;
        let mut numbers = Vec::new();
        scan(&errors, None, |filter, from, out| {
            chunks += 1;
            store.candidates(filter, from, out)
        }, |mut found| {
            numbers.push(found.value().and_then(|v| v["n"].as_i64()).expect("n"));
            true
        });
        // Every item is open to the index (no indexed field is read): MAX_CANDIDATES a hold.
        assert_eq!(chunks, total.div_ceil(MAX_CANDIDATES as u64));
        assert_eq!(numbers, [60007, 50007, 40007, 30007, 20007, 10007, 7]);
        assert_eq!(values(&whole).iter().map(|v| v["n"].as_i64().expect("n")).collect::<Vec<_>>(), numbers);

        // Paging across a hold's edge: the cursor goes on where the page stopped.
        let first = store.query(&errors, 3, None);
        let rest = store.query(&errors, 100, first.next);
        let mut all = values(&first);
        all.extend(values(&rest));
        assert_eq!(all.iter().map(|v| v["n"].as_i64().expect("n")).collect::<Vec<_>>(), numbers);
        assert!(streams(&Query::compile("true").expect("kfl"), 2, |f, at, out| store.candidates(f, at, out)).is_empty(), "items without a stream name none");
    }

    /// Items of several protocols, namespaces and times, some odd.
    fn mixed_store() -> (ItemStore, Vec<Value>) {
        let mut store = ItemStore::new(100_000, 1 << 30);
        let mut kept = Vec::new();
        for n in 0..3000i64 {
            let protocol = ["http", "dns", "redis"][(n % 3) as usize];
            let namespace = ["shop", "pay", "ops", "shopping"][(n % 4) as usize];
            let status = [200, 404, 500][(n % 5 % 3) as usize];
            let reason = ["OK", "Not Found", "Server Error"][(n % 5 % 3) as usize];
            let mut item = json!({
                "protocol": {"name": protocol, "macro": if n % 7 == 0 { "grpc" } else { protocol }, "layer4": if protocol == "dns" { "udp" } else { "tcp" }},
                "namespace": namespace,
                "timestamp": 1_764_547_200_000i64 + n * 1000,
                "response": {"status": status, "reason": reason},
                "outgoing": n % 2 == 0,
            });
            match n % 97 {
                1 => item["timestamp"] = json!(1.5),
                2 => item["protocol"] = json!("odd"),
                3 => item["namespace"] = json!(null),
                4 => item["protocol"]["name"] = json!("x".repeat(300)),
                _ => {}
            }
            assert!(store.push_value(&item));
            kept.push(item);
        }
        (store, kept)
    }

    #[test]
    fn the_index_answers_what_parsing_every_item_answers_and_parses_only_what_it_must() {
        let (store, kept) = mixed_store();
        let now = 1_764_547_200_000i64 + 3000 * 1000;
        let cases = [
            ("dns", 0),
            ("http and namespace == \"shop\"", 0),
            ("grpc or namespace.startsWith(\"shop\")", 0),
            ("udp and !outgoing", 0),
            ("redis and timestamp >= now() - 60000", 0),
            ("timestamp < now() - 2990000 and namespace == \"pay\"", 0),
            ("http and response.status == 500", 1000),
            // Only items whose text holds `Not Found` are parsed: 2 in 5.
            ("response.reason == \"Not Found\"", 1200),
            ("response.reason == \"Not Found\" or dns", 3000),
            ("dns and namespace == \"ops\" and response.status != 200", 250),
            ("protocol == \"odd\" or ..status == 404", 3000),
            ("redact(\"namespace\") and namespace == \"[REDACTED]\"", 3000),
        ];
        for (source, most_parsed) in cases {
            let query = Query::compile(source).expect("kfl");
            let mut expected: Vec<Value> = kept.iter().rev().filter_map(|item| {
                let mut item = item.clone();
                query.evaluate_at(&mut item, now).then_some(item)
            }).collect();
            expected.truncate(5000);
            let mut got = Vec::new();
            let filter = scan_with(Filter::at(&query, now), None, |f, at, out| store.candidates(f, at, out), |mut found| {
                got.push(found.value().cloned().expect("json"));
                true
            });
            assert_eq!(got.len(), expected.len(), "{source}");
            assert!(got == expected, "{source}: the index's answer differs");
            // Odd items (every 97th few) are parsed whatever the query.
            assert!(filter.parsed as usize <= most_parsed + 4 * 31, "{source}: {} items parsed", filter.parsed);
        }
    }
}
