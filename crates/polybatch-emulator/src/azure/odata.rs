//! The OData parts of list operations: query parameters, `$filter`, and `odata.nextLink` pages.

use std::collections::BTreeMap;
use std::ops::Bound;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use super::errors::Reject;

/// The decoded query string. Names are matched case-insensitively (the service accepts both
/// `timeout` and `timeOut`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub(crate) fn parse(raw: Option<&str>) -> Query {
        Query {
            pairs: raw
                .map(|q| {
                    url::form_urlencoded::parse(q.as_bytes())
                        .into_owned()
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first name not in `allowed`.
    pub(crate) fn unknown(&self, allowed: &[&str]) -> Option<&str> {
        self.pairs
            .iter()
            .map(|(k, _)| k.as_str())
            .find(|k| !allowed.iter().any(|a| a.eq_ignore_ascii_case(k)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Str(String),
    Int(i64),
}

#[derive(Debug, Clone)]
struct Comparison {
    path: Vec<String>,
    op: Op,
    literal: Literal,
}

/// A `$filter`: comparisons joined by `and` and `or` (`and` binds tighter, as in OData;
/// parentheses are not served), kept as alternatives of conjunctions.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    any_of: Vec<Vec<Comparison>>,
}

fn tokens(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '\'' {
            chars.next();
            let mut s = String::from("'");
            loop {
                match chars.next() {
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        s.push('\'');
                    }
                    Some('\'') => break,
                    Some(ch) => s.push(ch),
                    None => return Err("unterminated string literal".into()),
                }
            }
            out.push(s);
        } else {
            let mut s = String::new();
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() || ch == '\'' {
                    break;
                }
                s.push(ch);
                chars.next();
            }
            out.push(s);
        }
    }
    Ok(out)
}

impl Filter {
    /// Parses `prop op literal [and|or ...]`, accepting only the `allowed` property paths.
    pub(crate) fn parse(text: &str, allowed: &[&str]) -> Result<Filter, Reject> {
        let invalid = |reason: &str| {
            Reject::query("InvalidQueryParameterValue", "$filter", Some(text))
                .value("Reason", reason)
        };
        let toks = tokens(text).map_err(|e| invalid(&e))?;
        let mut any_of = Vec::new();
        let mut terms = Vec::new();
        let mut i = 0;
        loop {
            let (Some(prop), Some(op), Some(lit)) = (toks.get(i), toks.get(i + 1), toks.get(i + 2))
            else {
                return Err(invalid("expected 'property operator value'"));
            };
            let Some(canonical) = allowed.iter().find(|a| a.eq_ignore_ascii_case(prop)) else {
                return Err(invalid(&format!(
                    "the property '{prop}' cannot be filtered on"
                )));
            };
            let op = match op.to_ascii_lowercase().as_str() {
                "eq" => Op::Eq,
                "ne" => Op::Ne,
                "gt" => Op::Gt,
                "ge" => Op::Ge,
                "lt" => Op::Lt,
                "le" => Op::Le,
                other => return Err(invalid(&format!("unknown operator '{other}'"))),
            };
            let literal = if let Some(s) = lit.strip_prefix('\'') {
                Literal::Str(s.to_string())
            } else if let Ok(n) = lit.parse::<i64>() {
                Literal::Int(n)
            } else {
                return Err(invalid(&format!("invalid literal '{lit}'")));
            };
            if matches!(literal, Literal::Str(_)) && !matches!(op, Op::Eq | Op::Ne) {
                return Err(invalid("strings support only eq and ne"));
            }
            terms.push(Comparison {
                path: canonical.split('/').map(str::to_string).collect(),
                op,
                literal,
            });
            i += 3;
            match toks.get(i) {
                None => break,
                Some(t) if t.eq_ignore_ascii_case("and") => i += 1,
                Some(t) if t.eq_ignore_ascii_case("or") => {
                    any_of.push(std::mem::take(&mut terms));
                    i += 1;
                }
                Some(t) => {
                    return Err(invalid(&format!(
                        "unexpected '{t}' (terms are joined by 'and' or 'or')"
                    )));
                }
            }
        }
        any_of.push(terms);
        Ok(Filter { any_of })
    }

    pub(crate) fn matches(&self, item: &Value) -> bool {
        self.any_of.is_empty() || self.any_of.iter().any(|terms| all_match(terms, item))
    }
}

fn all_match(terms: &[Comparison], item: &Value) -> bool {
    terms.iter().all(|c| {
        let found = c.path.iter().try_fold(item, |v, p| v.get(p));
        match (&c.literal, found) {
            (Literal::Str(s), Some(Value::String(v))) => {
                let eq = v.eq_ignore_ascii_case(s);
                if c.op == Op::Eq { eq } else { !eq }
            }
            (Literal::Int(n), Some(v)) if v.is_i64() => {
                let v = v.as_i64().unwrap_or_default();
                match c.op {
                    Op::Eq => v == *n,
                    Op::Ne => v != *n,
                    Op::Gt => v > *n,
                    Op::Ge => v >= *n,
                    Op::Lt => v < *n,
                    Op::Le => v <= *n,
                }
            }
            // A missing or differently typed property only satisfies `ne`.
            _ => c.op == Op::Ne,
        }
    })
}

/// `maxresults`: 1..=1000, default 1000.
pub(crate) fn max_results(q: &Query) -> Result<usize, Reject> {
    let Some(raw) = q.get("maxresults") else {
        return Ok(1000);
    };
    let n: i64 = raw
        .trim()
        .parse()
        .map_err(|_| Reject::query("InvalidQueryParameterValue", "maxresults", Some(raw)))?;
    if !(1..=1000).contains(&n) {
        return Err(
            Reject::query("OutOfRangeQueryParameterValue", "maxresults", Some(raw))
                .value("Reason", "The value must be between 1 and 1000"),
        );
    }
    Ok(n as usize)
}

/// `$select` as a list of property names.
pub(crate) fn select(q: &Query) -> Option<Vec<String>> {
    q.get("$select").map(|s| {
        s.split(',')
            .map(|f| f.trim().to_string())
            .filter(|f| !f.is_empty())
            .collect()
    })
}

const VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One page of `entries` (in key order) after the key in `$skiptoken`, and the key to continue
/// from. `shown` renders an entry, or says `None` when the filter leaves it out. Only the
/// entries from the token on are rendered, and only up to one past the page, so a page costs
/// its own entries, not the whole collection's. The token is the last key of the page before:
/// an entry no longer listed (gone, or no longer matching) is refused, as a stale token is.
pub(crate) fn page<V>(
    entries: &BTreeMap<String, V>,
    after: Option<&str>,
    max: usize,
    mut shown: impl FnMut(&V) -> Option<Value>,
) -> Result<(Vec<Value>, Option<String>), Reject> {
    let rest: Box<dyn Iterator<Item = (&String, &V)> + '_> = match after {
        None => Box::new(entries.iter()),
        Some(token) => {
            if entries.get(token).and_then(&mut shown).is_none() {
                return Err(stale(token));
            }
            Box::new(entries.range::<str, _>((Bound::Excluded(token), Bound::Unbounded)))
        }
    };
    Ok(page_of(rest.filter_map(|(k, e)| Some((k, shown(e)?))), max))
}

/// [`page`] of items already rendered and filtered, in their order.
pub(crate) fn page_items(
    items: Vec<(String, Value)>,
    after: Option<&str>,
    max: usize,
) -> Result<(Vec<Value>, Option<String>), Reject> {
    let start = match after {
        None => 0,
        Some(token) => {
            items
                .iter()
                .position(|(k, _)| k == token)
                .ok_or_else(|| stale(token))?
                + 1
        }
    };
    Ok(page_of(
        items.iter().skip(start).map(|(k, v)| (k, v.clone())),
        max,
    ))
}

fn stale(token: &str) -> Reject {
    Reject::query("InvalidQueryParameterValue", "$skiptoken", Some(token))
}

/// Up to `max` of `shown` (key and rendered entry), and the last key when more follow.
fn page_of<'a>(
    shown: impl Iterator<Item = (&'a String, Value)>,
    max: usize,
) -> (Vec<Value>, Option<String>) {
    let mut page = Vec::new();
    let mut last = None;
    let mut more = false;
    for (key, value) in shown {
        if page.len() == max {
            more = true;
            break;
        }
        last = Some(key);
        page.push(value);
    }
    (page, last.filter(|_| more).cloned())
}

/// The absolute `odata.nextLink`: the same query (filter, select, page size, api-version)
/// plus `$skiptoken`.
pub(crate) fn next_link(base: &str, path: &str, q: &Query, token: &str) -> String {
    let mut parts = Vec::new();
    for name in ["api-version", "maxresults", "$filter", "$select", "$expand"] {
        if let Some(v) = q.get(name) {
            parts.push(format!("{name}={}", utf8_percent_encode(v, VALUE)));
        }
    }
    parts.push(format!("$skiptoken={}", utf8_percent_encode(token, VALUE)));
    format!("{base}{path}?{}", parts.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filter_terms() {
        let f = Filter::parse(
            "state eq 'completed' and executionInfo/result ne 'success'",
            &["state", "executionInfo/result"],
        )
        .unwrap();
        assert!(f.matches(&json!({"state": "completed", "executionInfo": {"result": "failure"}})));
        assert!(f.matches(&json!({"state": "completed", "executionInfo": {}})));
        assert!(!f.matches(&json!({"state": "active", "executionInfo": {}})));
        assert!(Filter::parse("nodeId eq 'x'", &["state"]).is_err());
        // `or` joins alternatives; `and` binds tighter.
        let or = Filter::parse(
            "state eq 'active' or state eq 'completed' and executionInfo/exitCode ne 0",
            &["state", "executionInfo/exitCode"],
        )
        .unwrap();
        assert!(or.matches(&json!({"state": "active"})));
        assert!(or.matches(&json!({"state": "completed", "executionInfo": {"exitCode": 3}})));
        assert!(!or.matches(&json!({"state": "completed", "executionInfo": {"exitCode": 0}})));
        assert!(!or.matches(&json!({"state": "running"})));
        assert!(Filter::parse("state eq 'x' xor state eq 'y'", &["state"]).is_err());
        assert!(Filter::parse("state eq 'x' or", &["state"]).is_err());
        assert!(Filter::parse("state gt 'x'", &["state"]).is_err());
        let q = Filter::parse("nodeId eq 'it''s'", &["nodeId"]).unwrap();
        assert!(q.matches(&json!({"nodeId": "it's"})));
    }

    #[test]
    fn paging() {
        let items: Vec<(String, Value)> = (0..5).map(|i| (format!("k{i}"), json!(i))).collect();
        let (p, next) = page_items(items.clone(), None, 2).unwrap();
        assert_eq!(p, vec![json!(0), json!(1)]);
        let (p, next) = page_items(items.clone(), next.as_deref(), 2).unwrap();
        assert_eq!(p, vec![json!(2), json!(3)]);
        let (p, next) = page_items(items.clone(), next.as_deref(), 2).unwrap();
        assert_eq!((p, next), (vec![json!(4)], None));
        assert!(page_items(items, Some("nope"), 2).is_err());
    }

    #[test]
    fn paging_a_map_renders_only_from_the_token_to_one_past_the_page() {
        let entries: BTreeMap<String, i64> = (0..9).map(|i| (format!("k{i}"), i)).collect();
        let rendered = std::cell::Cell::new(0);
        // Odd entries only, as a filter would keep them.
        let odd = |v: &i64| {
            rendered.set(rendered.get() + 1);
            (v % 2 == 1).then(|| json!(v))
        };
        let (p, next) = page(&entries, None, 2, odd).unwrap();
        assert_eq!((p, next.as_deref()), (vec![json!(1), json!(3)], Some("k3")));
        assert_eq!(
            rendered.get(),
            6,
            "k0..=k5: up to the first entry past the page"
        );
        rendered.set(0);
        let (p, next) = page(&entries, Some("k3"), 2, odd).unwrap();
        assert_eq!((p, next.as_deref()), (vec![json!(5), json!(7)], None));
        assert_eq!(rendered.get(), 6, "the token, then k4..=k8");
        // The last page ends exactly: no token.
        let (p, next) = page(&entries, Some("k5"), 1, odd).unwrap();
        assert_eq!((p, next.as_deref()), (vec![json!(7)], None));
        // A token no longer listed (filtered out, or gone) is refused.
        assert!(page(&entries, Some("k4"), 2, odd).is_err());
        assert!(page(&entries, Some("nope"), 2, odd).is_err());
    }
}
