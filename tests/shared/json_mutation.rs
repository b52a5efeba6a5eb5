//! Shared by the clients' property tests (`crates/*/tests/parsers_never_panic.rs`, included by
//! path): a real-looking JSON document with some of its values replaced, so the parsers meet
//! wrong types and extreme values where they expect real ones.

use proptest::sample::Index;
use serde_json::Value;

/// Every JSON pointer into `v` (the root included).
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let k = k.replace('~', "~0").replace('/', "~1");
                pointers(child, format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                pointers(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// `template` (JSON) with each replacement put where its index points among the document's
/// values at that moment (a field, an item, or the whole).
pub fn replaced(template: &str, replacements: Vec<(Index, Value)>) -> Value {
    let mut doc: Value = serde_json::from_str(template).expect("templates are JSON");
    for (index, replacement) in replacements {
        let mut all = Vec::new();
        pointers(&doc, String::new(), &mut all);
        let at = index.get(&all).clone();
        if let Some(slot) = doc.pointer_mut(&at) {
            *slot = replacement;
        }
    }
    doc
}
