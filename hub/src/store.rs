//! The hub's item store: newest kept, bounded by item count and by bytes, queried with
//! KFL newest first with paging.

use std::collections::VecDeque;

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

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The stored items, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Value> {
        self.items.iter().map(|s| &s.item)
    }

    /// Stores `item` (`bytes`: its JSON size), evicting the oldest past either bound.
    pub fn push(&mut self, item: Value, bytes: usize) {
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
    /// `before` when given. The query's own `limit(n)` caps the page too.
    pub fn query(&self, query: &Query, limit: usize, before: Option<u64>) -> Page {
        let limit = query.limit().map_or(limit, |l| usize::try_from(l).unwrap_or(usize::MAX).min(limit)).max(1);
        let mut items = Vec::new();
        let mut next = None;
        let newest_first = self.items.iter().rev().filter(|s| before.is_none_or(|b| s.seq < b));
        for stored in newest_first {
            if !query.matches_value(&stored.item) {
                continue;
            }
            if items.len() == limit {
                next = Some(stored.seq + 1);
                break;
            }
            let mut item = stored.item.clone();
            query.apply_redactions(&mut item);
            items.push(item);
        }
        Page { items, next }
    }
}

impl ItemStore {
    /// The streams of the items matching `query`, newest first, at most `max`: each as
    /// (namespace, worker, stream), which names the sidecar holding its PCAP file.
    pub fn streams(&self, query: &Query, max: usize) -> Vec<(String, String, String)> {
        let mut seen = std::collections::HashSet::new();
        let mut streams = Vec::new();
        for stored in self.items.iter().rev() {
            if streams.len() == max {
                break;
            }
            if !query.matches_value(&stored.item) {
                continue;
            }
            let text = |key: &str| stored.item.get(key).and_then(Value::as_str).unwrap_or("").to_string();
            let key = (text("namespace"), text("worker"), text("stream"));
            if !key.2.is_empty() && seen.insert(key.clone()) {
                streams.push(key);
            }
        }
        streams
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
            store.push(item(status), 100);
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
        let mut store = ItemStore::new(100, 250);
        for _ in 0..5 {
            store.push(item(200), 100);
        }
        assert_eq!(store.len(), 2);
        assert!(store.bytes() <= 250);
        let q = Query::compile("http and redact(\"request.headers.authorization\")").expect("kfl");
        let page = store.query(&q, 10, None);
        assert_eq!(page.items.len(), 2);
        assert_ne!(page.items[0]["request"]["headers"]["authorization"], "secret");
    }
}
