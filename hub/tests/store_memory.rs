//! The store's byte bound is memory: what `ItemStore::bytes` counts for the items it
//! keeps (their JSON text and `ITEM_OVERHEAD` each) against what the allocator was really
//! asked for while they were stored, for items of the shapes the sidecars send (HTTP with
//! many headers and a JSON body, DNS with answer lists, a small Redis command).

use remora_hub::item_text::Incoming;
use remora_hub::store::ItemStore;
/// Counts the bytes live on the heap; the test measures around its own parsing only.
#[global_allocator]
static ALLOCATOR: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

fn http_item(n: usize) -> String {
    let headers: Vec<String> = (0..15).map(|h| format!(r#""x-header-{h}":"value {h} of request {n}""#)).collect();
    let fields: Vec<String> = (0..40).map(|f| format!(r#""field{f}":{{"id":{f},"name":"item {f}","tags":["a","b"]}}"#)).collect();
    format!(
        r#"{{"id":"shop/web-1/{n}","protocol":{{"name":"http","version":"1.1","layer4":"tcp"}},"src":{{"ip":"198.18.0.2","port":"51234","name":"web","namespace":"shop"}},"request":{{"method":"POST","url":"/api/orders?page={n}","pathSegments":["api","orders"],"headers":{{{}}},"postData":{{"mimeType":"application/json","text":"{{\"order\":{n}}}"}}}},"response":{{"status":200,"content":{{"json":{{{}}}}}}},"elapsedTime":12,"timestamp":1733560000000}}"#,
        headers.join(","),
        fields.join(",")
    )
}

fn dns_item(n: usize) -> String {
    let answers: Vec<String> = (0..6).map(|a| format!(r#"{{"name":"svc-{n}.shop.svc.cluster.local","type":"A","ttl":30,"data":"198.18.1.{a}"}}"#)).collect();
    format!(r#"{{"protocol":{{"name":"dns"}},"request":{{"questions":[{{"name":"svc-{n}.shop.svc.cluster.local","type":"A"}}]}},"response":{{"answers":[{}]}}}}"#, answers.join(","))
}

fn redis_item(n: usize) -> String {
    format!(r#"{{"protocol":{{"name":"redis"}},"request":{{"command":"GET","key":"session:{n}"}},"response":{{"type":"bulk","value":null}}}}"#)
}

#[test]
fn the_byte_count_is_what_storing_allocated() {
    for (shape, make) in [("http", http_item as fn(usize) -> String), ("dns", dns_item), ("redis", redis_item)] {
        // 512: the store's ring of slots grows by doubling, so it is full here.
        let texts: Vec<String> = (0..512).map(make).collect();
        let text: usize = texts.iter().map(String::len).sum();
        let mut store = ItemStore::new(100_000, 1 << 30);
        let before = ALLOCATOR.allocated();
        for item in &texts {
            store.push(Incoming::from_text(item, None).expect("object"));
        }
        let allocated = (ALLOCATOR.allocated() - before) as f64;
        let counted = store.bytes();
        let ratio = counted as f64 / allocated;
        eprintln!("{shape}: {text} bytes of JSON, {allocated} allocated, {counted} counted ({ratio:.3})");
        assert!((0.9..=1.1).contains(&ratio), "{shape}: counted {counted} bytes for {allocated} allocated");
    }
}
