//! The language on documents from the reference's own examples, and the errors users see.

use remora_kfl::Query;
use serde_json::{json, Value};

fn check(query: &str, doc: &Value) -> bool {
    Query::compile(query).unwrap_or_else(|e| panic!("{query}: {e}\n{}", e.caret())).matches_value_at(doc, 1_700_000_000_000)
}

#[test]
fn reference_examples_of_selectors_and_wildcards() {
    let car = json!({"model":"Camaro","brand":{"name":"Chevrolet"},"year":2021,"salesYear":2021});
    assert!(check("brand.name.startsWith(\"Chev\")", &car));
    assert!(check("brand.name.endsWith(\"let\")", &car));
    assert!(check("brand.name.contains(\"ro\")", &car));
    assert!(!check("brand.name.contains(\"xx\")", &car));
    assert!(check("year == salesYear", &car));
    assert!(!check("year != salesYear", &car));
    let path = json!({"request":{"path":["api","v1","example"]}});
    assert!(check("request.path.* == \"v1\"", &path));
    assert!(!check("request.path.* == \"v2\"", &path));
    assert!(check("request.path.* != \"v2\"", &path));
    assert!(check("request.path[1] == \"v1\"", &path));
    assert!(check("request.path[*] == \"v1\"", &path), "[*] is the same wildcard");
    let numbers = json!({"request":{"path":[1, 2, 3]},"response":{"header":[1, 2, 3]}});
    assert!(check("request.path.* > 2", &numbers));
    assert!(!check("request.path.* > 4", &numbers));
    assert!(check("request.path.* == response.header.*", &numbers));
    // Two wildcards compare element by element (KFL v1).
    let pairs = json!({"request":{"path":[1, 2, 3]},"response":{"header":[-1, -2, -3]},"other":[0, 5, 1],"short":[0, 0]});
    assert!(check("request.path.* > response.header.*", &pairs));
    assert!(check("response.header.* < request.path.*", &pairs));
    assert!(!check("request.path.* > other.*", &pairs), "2 > 5 fails one pair");
    assert!(!check("request.path.* > short.*", &pairs), "lengths differ");
    assert!(check("request.path.* != other.*", &pairs));
    let objects = json!({"request":{"path":[{"x":1}, {"x":2}, {"x":3}]}});
    assert!(check("request.path.*.x and true", &objects));
    assert!(check("request.path.*.x == 2", &objects));
    // The reference says both that empty arrays are false and that `request.path.* and
    // true` is true for an empty array; an empty wildcard is false here.
    assert!(!check("request.path.* and true", &json!({"request":{"path":[]}})));
}

#[test]
fn literals_operators_and_precedence() {
    let doc = json!({"a": 1, "b": "x", "c": true, "n": null, "q": {"a": 45}, "h": {"x": "y"}});
    assert!(check("a == 1 and b == \"x\" and c == true", &doc));
    assert!(check("a == 1.0", &doc));
    assert!(check("-a == -1 and !false and !(a == 2)", &doc));
    assert!(check("n == nil and missing == nil and missing.deeper == nil", &doc));
    assert!(check("a != nil and !(missing != nil)", &doc));
    assert!(check("q.a > 42 or h[\"x\"] == \"z\"", &doc));
    assert!(check("h[\"x\"] == \"y\"", &doc));
    assert!(check("false or true and true", &doc), "and binds tighter than or");
    assert!(!check("(false or true) and false", &doc));
    assert!(check("a >= 1 && a <= 1 && a < 2 && a > 0", &doc));
    assert!(!check("b > 1 or b == 1 or c == \"true\"", &doc), "type mismatches are false");
    assert!(check("b != 1", &doc), "a mismatched != is true: they are not equal");
    assert!(!check("missing", &doc) && !check("n", &doc) && check("h", &doc));
}

#[test]
fn regexes_match_the_whole_text_of_the_left_side() {
    let doc = json!({"response": {"status": 404}, "name": "api-v2"});
    assert!(check("response.status == r\"4.*\"", &doc));
    assert!(!check("response.status == r\"2.*\"", &doc));
    assert!(check("response.status != r\"2.*\"", &doc));
    assert!(!check("name == r\"v2\"", &doc), "anchored: the whole text");
    assert!(check("name.matches(\"v2\")", &doc), "matches() finds the pattern anywhere, as CEL does");
}

#[test]
fn cel_syntax_in_size_and_lists() {
    let doc = json!({"request": {"headers": {"authorization": "x"}, "method": "GET"}, "tags": ["a", "b"]});
    assert!(check("\"authorization\" in request.headers && !(\"cookie\" in request.headers)", &doc));
    assert!(check("request.method in [\"GET\", \"POST\"]", &doc));
    assert!(check("\"b\" in tags && size(tags) == 2 && tags.size() == 2 && request.method.size() == 3", &doc));
    assert!(check("\"ET\" in request.method", &doc), "in on a string is a substring test");
    assert!(check("tags.contains(\"a\")", &doc));
}

#[test]
fn decoding_helpers() {
    let doc = json!({"response": {"body": "{\"brand\": {\"name\": \"Chevrolet\"}}", "xml": "<car><brand><name>Chevrolet</name></brand><wheel>1</wheel><wheel>2</wheel></car>", "bad": "{"}});
    assert!(check("response.body.json().brand.name == \"Chevrolet\"", &doc));
    assert!(check("response.xml.xml().car.brand.name == \"Chevrolet\"", &doc));
    assert!(check("response.xml.xml().car.wheel.* == \"2\"", &doc));
    assert!(!check("response.bad.json().x == nil and false", &doc));
    assert!(check("response.bad.json() == nil", &doc), "undecodable JSON is nil, not an error");
    // A base64 body is decoded first (KFL v1): {"brand": {"name": "Chevrolet"}}.
    let encoded = json!({"response": {"body": "eyJicmFuZCI6IHsibmFtZSI6ICJDaGV2cm9sZXQifX0="}});
    assert!(check("response.body.json().brand.name == \"Chevrolet\"", &encoded));
}

#[test]
fn time_helpers() {
    let now = 1_700_000_000_000i64;
    let doc = json!({"timestamp": now - 30_000});
    assert!(check("timestamp > now() - duration(\"1m\") and timestamp < now()", &doc));
    assert!(check("timestamp > seconds(-60) and timestamp < minutes(1)", &doc));
    assert!(check("timestamp > hours(-1) and timestamp > days(-1) and timestamp > weeks(-1) and timestamp > months(-1) and timestamp > years(-1)", &doc));
    assert!(check("datetime(\"10/19/2021, 6:29:02 PM\") == 1634668142000", &doc));
    // KFL v1 also reads milliseconds, in UTC.
    assert!(check("datetime(\"10/19/2021, 6:29:02.000 PM\") == 1634668142000", &doc));
    assert!(check("datetime(\"10/19/2021, 6:29:02.250 PM\") == 1634668142250", &doc));
    assert!(!check("timestamp > datetime(\"not a date\")", &doc), "an unknown format is false");
    assert!(check("timestamp(\"2023-11-14T22:13:20Z\") == 1700000000000", &doc));
}

#[test]
fn limit_redact_and_undefined_helpers() {
    let query = Query::compile("http and limit(10) and redact(\"request.headers.authorization\", \"response.body\")").expect("compiles");
    assert_eq!(query.limit(), Some(10));
    assert_eq!(query.redactions(), ["request.headers.authorization", "response.body"]);
    let mut doc = json!({"protocol": {"name": "http"}, "request": {"headers": {"authorization": "secret"}}, "response": {"body": "x"}});
    assert!(query.matches_value(&doc));
    assert_eq!(doc["request"]["headers"]["authorization"], "secret", "deciding leaves the item whole");
    assert!(query.evaluate(&mut doc));
    assert_eq!(doc["request"]["headers"]["authorization"], "[REDACTED]");
    assert_eq!(doc["response"]["body"], "[REDACTED]");
    let undefined = Query::compile("http and frobnicate(1)").expect("an unknown helper still parses");
    assert!(!undefined.matches_value(&doc), "and makes the whole query false");
    assert_eq!(undefined.warnings(), ["frobnicate() is not a KFL helper; the query is false"]);
}

/// KFL v1's `redact()` takes effect where evaluation reaches it: conditions after it see
/// the redacted value, one in a branch not taken redacts nothing, and its paths are
/// selectors (`..name`, wildcards, indexes) that reach inside JSON and XML bodies. The
/// rows with a KFL v1 counterpart are its own evaluation table's.
#[test]
fn redact_takes_effect_where_it_stands() {
    let car = json!({"id": 114905, "model": "Camaro", "brand": {"name": "Chevrolet"}, "year": 2021});
    let cases = [
        ("id == 114905 and redact(\"model\", \"brand.name\")", true, json!({"id": 114905, "model": "[REDACTED]", "brand": {"name": "[REDACTED]"}, "year": 2021})),
        ("id == 114905 and redact(\"modelx\", \"brand.name\")", true, json!({"id": 114905, "model": "Camaro", "brand": {"name": "[REDACTED]"}, "year": 2021})),
        ("id == 114906 and redact(\"model\", \"brand.name\")", false, car.clone()),
        ("redact(\"model\", \"brand.name\") and id == 114906", false, json!({"id": 114905, "model": "[REDACTED]", "brand": {"name": "[REDACTED]"}, "year": 2021})),
        ("redact(\"id\", \"brand.name\") and id == 114905", false, json!({"id": "[REDACTED]", "model": "Camaro", "brand": {"name": "[REDACTED]"}, "year": 2021})),
        ("model == \"Camaro\" or redact(\"model\")", true, car.clone()),
        ("redact(\"..name\") and brand.name == \"[REDACTED]\"", true, json!({"id": 114905, "model": "Camaro", "brand": {"name": "[REDACTED]"}, "year": 2021})),
        ("redact(\"$..name\", \"brand.*\") and !(brand.name == \"Chevrolet\")", true, json!({"id": 114905, "model": "Camaro", "brand": {"name": "[REDACTED]"}, "year": 2021})),
    ];
    for (query, truth, after) in cases {
        let compiled = Query::compile(query).expect(query);
        assert_eq!(compiled.matches_value(&car), truth, "{query}: deciding on its own");
        let mut item = car.clone();
        assert_eq!(compiled.evaluate(&mut item), truth, "{query}");
        assert_eq!(item, after, "{query}");
    }

    // Inside an encoded body: the body is decoded, redacted and written back as it came.
    let login = json!({"request": {"body": "{\"user\":\"ann\",\"password\":\"hunter2\"}"}});
    let query = Query::compile("redact(\"request.body.json().password\") and request.body.json().user == \"ann\"").expect("compiles");
    let mut item = login.clone();
    assert!(query.evaluate(&mut item));
    assert_eq!(item["request"]["body"], "{\"password\":\"[REDACTED]\",\"user\":\"ann\"}");

    // Where it cannot take effect where it stands, or a path is no path: false, and said.
    let inside = Query::compile("redact(\"model\") == true").expect("parses");
    assert!(!inside.matches_value(&car));
    assert!(inside.warnings()[0].starts_with("redact() stands as a condition of its own"), "{:?}", inside.warnings());
    let bad = Query::compile("redact(\"a == 1\")").expect("parses");
    assert!(!bad.matches_value(&car));
    assert!(bad.warnings()[0].starts_with("redact(\"a == 1\"): not a path"), "{:?}", bad.warnings());
}

/// KFL v1's recursive descent: `..name` selects every value under that key at any depth,
/// from a selector or (leading) from the item itself; it reads back as written.
#[test]
fn recursive_descent_finds_a_name_at_any_depth() {
    let doc = json!({"request": {"body": {"user": {"id": 7, "card": {"id": 99}}, "items": [{"id": 1}, {"sku": "x"}]}}, "id": "top"});
    assert!(check("request..id == 99", &doc));
    assert!(check("request..id == 1", &doc), "inside lists too");
    assert!(!check("request..id == \"top\"", &doc), "only below request");
    assert!(check("..id == \"top\"", &doc), "a leading .. starts at the item");
    assert!(check("size(request..id) == 3", &doc));
    assert!(check("request.body..card.id == 99", &doc), "more selection after it");
    assert!(!check("request..missing", &doc));
    assert_eq!(Query::compile("request..id == 1").expect("parses").explain(), "(request..id == 1)");
    assert!(Query::compile("request..").is_err());
}

/// KFL v1's truth: 0, "", an empty list and nil are false in a boolean context; escaped
/// quotes stay in string literals.
#[test]
fn zero_empty_and_nil_are_false() {
    let doc = json!({"zero": 0, "one": 1, "empty": "", "text": "x", "none": [], "some": [0], "nil": null, "quoted": "\"hello\" world"});
    for falsy in ["true and 0", "zero", "empty", "none", "nil", "0.0", "\"\"", "missing"] {
        assert!(!check(falsy, &doc), "{falsy} is false");
        assert!(check(&format!("!({falsy})"), &doc), "!({falsy}) is true");
    }
    for truthy in ["one", "text", "some", "1", "\"0\"", "true and 1"] {
        assert!(check(truthy, &doc), "{truthy} is true");
    }
    assert!(check(r#"quoted == "\"hello\" world""#, &doc));
}

/// KFL v1: an empty query (or one of blanks) matches everything.
#[test]
fn an_empty_query_matches_every_item() {
    for query in ["", "   ", "\n\t"] {
        let q = Query::compile(query).expect(query);
        assert!(q.matches_value(&serde_json::json!({"protocol": {"name": "dns"}})), "{query:?}");
        assert!(q.matches_value(&serde_json::json!({})), "{query:?}");
    }
}

#[test]
fn errors_name_the_position_with_a_caret() {
    let cases = [
        ("http and response.status ==", "expected a value after '==' at 27"),
        ("http and", "expected a value after 'and' at 8"),
        ("request.method = \"GET\"", "'=' is not an operator; compare with '==' at 15"),
        ("(http or dns", "expected ')', found end of query at 12"),
        ("response.status == \"500", "a string that is never closed at 19"),
        ("a == 1 == 2", "comparisons do not chain; join them with 'and' at 7"),
        ("status == r\"(\"", "bad regex r\"(\": unclosed group at 10"),
        ("a # b", "unexpected character '#' at 2"),
        ("request.path[*) == 1", "expected ']', found ')' at 14"),
    ];
    for (query, want) in cases {
        let error = Query::compile(query).expect_err(query);
        assert_eq!(error.to_string(), want, "{query}");
    }
    let deep = format!("{}http{}", "(".repeat(100_000), ")".repeat(100_000));
    assert!(Query::compile(&deep).expect_err("too deep").message.contains("nests deeper than 128 levels"));
    assert!(Query::compile(&"!".repeat(100_000)).is_err());
    let error = Query::compile("http and response.status ==").expect_err("error");
    assert_eq!(error.caret(), "http and response.status ==\n                           ^");
}
