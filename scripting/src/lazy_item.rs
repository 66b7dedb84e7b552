//! `data` for `onItemCaptured` without building it: a Proxy whose fields are made from
//! the Rust item the first time a script reads them. A hook that reads two fields pays
//! for two fields, not for the whole item; `JSON.stringify(data)`, `Object.keys`,
//! `for ... in`, writes and deletes behave as on a plain object (the proxy fills in every
//! field first where they need it). The item stays reachable from the proxy for as long
//! as a script keeps it, so a `data` stored for a later job still reads correctly.

use std::rc::Rc;

use remora_model::Item;
use rquickjs::{Ctx, Function, Persistent, Result, Value};

/// The item's top-level fields, in the order JSON shows them.
const FIELDS: [&str; 21] = [
    "id", "index", "stream", "worker", "node", "protocol", "tls", "src", "dst", "namespace", "outgoing", "timestamp",
    "elapsedTime", "request", "response", "startTime", "requestSize", "responseSize", "passed", "failed", "error",
];

/// The proxy factory, in JavaScript: `make(load)` returns a lazy item.
const FACTORY: &str = r#"(function (FIELDS) {
    var INDEX = {};
    for (var n = 0; n < FIELDS.length; n++) INDEX[FIELDS[n]] = n;
    var SRC = Symbol('remora.item'), DONE = Symbol('remora.done');
    function field(k) { return typeof k === 'string' && Object.prototype.hasOwnProperty.call(INDEX, k) ? INDEX[k] : -1; }
    function fill(t, i) {
        var bit = 1 << i;
        if ((t[DONE] & bit) === 0) { t[DONE] |= bit; t[FIELDS[i]] = t[SRC](FIELDS[i]); }
    }
    function mark(t, i) { t[DONE] |= 1 << i; }
    // Everything at once: one parse of the whole item rather than one per field.
    function fillAll(t) {
        if (t[DONE] === ALL) return;
        var all = t[SRC]('*');
        for (var i = 0; i < FIELDS.length; i++) {
            var bit = 1 << i;
            if ((t[DONE] & bit) === 0) { t[DONE] |= bit; t[FIELDS[i]] = all[FIELDS[i]]; }
        }
    }
    var ALL = (1 << FIELDS.length) - 1;
    // JSON.stringify(data) asks for toJSON first: hand it the filled plain object, so it
    // walks that directly instead of trapping on every key.
    // Legacy capitalised access (`data.Protocol.Name`, `data.Request.Path`, `data.Src.IP`),
    // as scripts for older versions read it: a capitalised name that is not there reads
    // the field spelt with a lower-case first letter (or all lower case), and an object
    // reached so reads its fields the same way. Only a miss pays; keys, `in` and JSON
    // never show the capitalised names.
    var UPPER = /^[A-Z]/;
    function legacyName(o, k) {
        if (typeof k !== 'string' || !UPPER.test(k) || k in o) return null;
        var first = k.charAt(0).toLowerCase() + k.slice(1);
        if (first in o) return first;
        var lower = k.toLowerCase();
        return lower in o ? lower : null;
    }
    var legacyHandler = {
        get: function (o, k) { var l = legacyName(o, k); return l === null ? o[k] : legacy(o[l]); },
        set: function (o, k, v) { var l = legacyName(o, k); o[l === null ? k : l] = v; return true; }
    };
    function legacy(v) { return v !== null && typeof v === 'object' ? new Proxy(v, legacyHandler) : v; }
    function legacyField(k) {
        if (typeof k !== 'string' || !UPPER.test(k)) return -1;
        var i = field(k.charAt(0).toLowerCase() + k.slice(1));
        return i >= 0 ? i : field(k.toLowerCase());
    }
    var handler = {
        get: function (t, k) {
            var i = field(k);
            if (i >= 0) fill(t, i);
            else if (k === 'toJSON' && !(k in t)) { fillAll(t); return function () { return t; }; }
            else if (!(k in t) && (i = legacyField(k)) >= 0) { fill(t, i); return legacy(t[FIELDS[i]]); }
            return t[k];
        },
        set: function (t, k, v) { var i = field(k); if (i >= 0) mark(t, i); t[k] = v; return true; },
        has: function (t, k) { var i = field(k); if (i >= 0) fill(t, i); return k in t; },
        deleteProperty: function (t, k) { var i = field(k); if (i >= 0) mark(t, i); return delete t[k]; },
        ownKeys: function (t) { fillAll(t); return Reflect.ownKeys(t).filter(function (k) { return k !== SRC && k !== DONE; }); },
        getOwnPropertyDescriptor: function (t, k) { var i = field(k); if (i >= 0) fill(t, i); return Object.getOwnPropertyDescriptor(t, k); },
        defineProperty: function (t, k, d) { var i = field(k); if (i >= 0) mark(t, i); Object.defineProperty(t, k, d); return true; }
    };
    var last = null;
    // The source and the bitmask of fields made sit on the target under symbols, which
    // JSON.stringify, Object.keys and for-in do not show (ownKeys leaves them out too).
    function make(load) {
        var t = {};
        t[SRC] = load;
        t[DONE] = 0;
        last = t;
        return new Proxy(t, handler);
    }
    // What the hooks set on the last item, read off its target (no traps, no loads):
    // 1 for passed, 2 for failed. A field never written still has the item's value.
    // The same legacy reading over a plain object (the hub's onItemQueried items).
    make.legacy = legacy;
    make.verdict = function () {
        var t = last;
        last = null;
        return t === null ? 0 : (t.passed === true ? 1 : 0) | (t.failed === true ? 2 : 0);
    };
    return make;
})"#;

/// The factory and its verdict reader, compiled once per host.
pub struct Factory {
    pub make: Persistent<Function<'static>>,
    pub verdict: Persistent<Function<'static>>,
    /// Wraps a plain item object for legacy capitalised access.
    pub legacy: Persistent<Function<'static>>,
}

pub fn factory(ctx: &Ctx<'_>) -> Result<Factory> {
    let outer: Function = ctx.eval(FACTORY)?;
    let make: Function = outer.call((FIELDS.to_vec(),))?;
    let verdict: Function = make.get("verdict")?;
    let legacy: Function = make.get("legacy")?;
    Ok(Factory { make: Persistent::save(ctx, make), verdict: Persistent::save(ctx, verdict), legacy: Persistent::save(ctx, legacy) })
}

/// `(passed, failed)` as the hooks left them on the last item made.
pub fn verdict(ctx: &Ctx<'_>, factory: &Factory) -> (bool, bool) {
    let bits: i32 = factory.verdict.clone().restore(ctx).and_then(|f| f.call(())).unwrap_or(0);
    (bits & 1 != 0, bits & 2 != 0)
}

/// The JSON of one top-level field of `item`.
fn field_json(item: &Item, key: &str) -> serde_json::Result<String> {
    use serde_json::to_string as json;
    match key {
        "*" => json(item),
        "id" => json(&item.id),
        "index" => json(&item.index),
        "stream" => json(&item.stream),
        "worker" => json(&item.worker),
        "node" => json(&item.node),
        "protocol" => json(&item.protocol),
        "tls" => json(&item.tls),
        "src" => json(&item.src),
        "dst" => json(&item.dst),
        "namespace" => json(&item.namespace),
        "outgoing" => json(&item.outgoing),
        "timestamp" => json(&item.timestamp),
        "elapsedTime" => json(&item.elapsed_time),
        "request" => json(&item.request),
        "response" => json(&item.response),
        "startTime" => json(&item.start_time),
        "requestSize" => json(&item.request_size),
        "responseSize" => json(&item.response_size),
        "passed" => json(&item.passed),
        "failed" => json(&item.failed),
        "error" => json(&item.error),
        _ => Ok("null".into()),
    }
}

/// A lazy `data` for `item`.
pub fn make<'js>(ctx: &Ctx<'js>, factory: &Factory, item: &Rc<Item>) -> Result<Value<'js>> {
    let source = item.clone();
    let load = Function::new(ctx.clone(), move |ctx: Ctx<'js>, key: String| -> Result<Value<'js>> {
        match field_json(&source, &key) {
            Ok(json) => ctx.json_parse(json),
            Err(_) => Ok(Value::new_null(ctx)),
        }
    })?;
    factory.make.clone().restore(ctx)?.call((load,))
}

/// A plain item object (JSON parsed) with legacy capitalised access.
pub fn legacy<'js>(ctx: &Ctx<'js>, factory: &Factory, data: Value<'js>) -> Result<Value<'js>> {
    factory.legacy.clone().restore(ctx)?.call((data,))
}

/// Takes the item back from the proxies: without a copy when no script kept `data`.
pub fn reclaim(item: Rc<Item>) -> Item {
    Rc::try_unwrap(item).unwrap_or_else(|shared| (*shared).clone())
}
