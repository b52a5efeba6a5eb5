//! The `$filter` and `$select` subset the in-memory prep/release listing understands.

use crate::error::{Error, ErrorContext, Result};
use crate::status::PrepReleaseStatus;

/// A parsed filter: `<property> <eq|ne> '<value>'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filter {
    property: Property,
    equal: bool,
    value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Property {
    NodeId,
    PoolId,
}

const SUPPORTED_FILTERS: &str = "supported: nodeId eq|ne '<id>', poolId eq|ne '<id>'";

impl Filter {
    /// Parses an OData filter of the supported forms (`''` escapes a quote inside the value).
    pub(crate) fn parse(text: &str, ctx: impl Fn() -> ErrorContext) -> Result<Filter> {
        let invalid = |why: &str| {
            Error::invalid_input(
                "filter",
                format!("unsupported filter {text:?}: {why} ({SUPPORTED_FILTERS})"),
                ctx().with_code("InvalidQueryParameterValue"),
            )
        };
        let trimmed = text.trim();
        let mut parts = trimmed.splitn(3, ' ');
        let property = match parts.next() {
            Some("nodeId") => Property::NodeId,
            Some("poolId") => Property::PoolId,
            _ => return Err(invalid("unknown property")),
        };
        let equal = match parts.next() {
            Some("eq") => true,
            Some("ne") => false,
            _ => return Err(invalid("unknown operator")),
        };
        let literal = parts.next().unwrap_or_default().trim();
        let inner = literal
            .strip_prefix('\'')
            .and_then(|s| s.strip_suffix('\''))
            .filter(|_| literal.len() >= 2)
            .ok_or_else(|| invalid("the value must be a quoted string"))?;
        if inner.replace("''", "").contains('\'') {
            return Err(invalid("unescaped quote in the value"));
        }
        Ok(Filter {
            property,
            equal,
            value: inner.replace("''", "'"),
        })
    }

    /// Whether `record` passes the filter.
    pub(crate) fn matches(&self, record: &PrepReleaseStatus) -> bool {
        let actual = match self.property {
            Property::NodeId => Some(record.node_id.as_str()),
            Property::PoolId => record.pool_id.as_deref(),
        };
        (actual == Some(self.value.as_str())) == self.equal
    }
}

/// The top-level parts of a record a `$select` keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Select {
    pool_id: bool,
    node_id: bool,
    node_url: bool,
    preparation: bool,
    release: bool,
}

impl Select {
    /// Parses the select list (each entry may itself be comma-separated). Empty keeps all.
    pub(crate) fn parse(select: &[String], ctx: impl Fn() -> ErrorContext) -> Result<Select> {
        let names: Vec<&str> = select
            .iter()
            .flat_map(|s| s.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if names.is_empty() {
            return Ok(Select {
                pool_id: true,
                node_id: true,
                node_url: true,
                preparation: true,
                release: true,
            });
        }
        let mut keep = Select {
            pool_id: false,
            node_id: false,
            node_url: false,
            preparation: false,
            release: false,
        };
        for name in names {
            match name {
                "poolId" => keep.pool_id = true,
                "nodeId" => keep.node_id = true,
                "nodeUrl" => keep.node_url = true,
                "jobPreparationTaskExecutionInfo" => keep.preparation = true,
                "jobReleaseTaskExecutionInfo" => keep.release = true,
                other => {
                    return Err(Error::invalid_input(
                        "select",
                        format!(
                            "unknown property {other:?} (supported: poolId, nodeId, nodeUrl, \
                             jobPreparationTaskExecutionInfo, jobReleaseTaskExecutionInfo)"
                        ),
                        ctx().with_code("InvalidQueryParameterValue"),
                    ));
                }
            }
        }
        Ok(keep)
    }

    /// The record with only the selected parts (an unselected node id becomes empty).
    pub(crate) fn apply(&self, mut record: PrepReleaseStatus) -> PrepReleaseStatus {
        if !self.pool_id {
            record.pool_id = None;
        }
        if !self.node_id {
            record.node_id = String::new();
        }
        if !self.node_url {
            record.node_url = None;
        }
        if !self.preparation {
            record.preparation = None;
        }
        if !self.release {
            record.release = None;
        }
        record
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Operation;

    fn ctx() -> ErrorContext {
        ErrorContext::new("memory", Operation::ListPrepReleaseStatus)
    }

    fn rec(node: &str, pool: &str) -> PrepReleaseStatus {
        let mut r = PrepReleaseStatus::new(node);
        r.pool_id = Some(pool.into());
        r
    }

    #[test]
    fn parses_supported_filters() {
        let f = Filter::parse("nodeId eq 'tvm-1'", ctx).unwrap();
        assert!(f.matches(&rec("tvm-1", "p")));
        assert!(!f.matches(&rec("tvm-2", "p")));
        let f = Filter::parse(" nodeId ne 'tvm-1' ", ctx).unwrap();
        assert!(!f.matches(&rec("tvm-1", "p")));
        let f = Filter::parse("poolId eq 'it''s'", ctx).unwrap();
        assert!(f.matches(&rec("n", "it's")));
    }

    #[test]
    fn rejects_others_naming_the_filter() {
        for bad in [
            "state eq 'x'",
            "nodeId gt 'x'",
            "nodeId eq x",
            "nodeId eq '",
            "nodeId eq 'a'b'",
            "",
        ] {
            match Filter::parse(bad, ctx) {
                Err(Error::InvalidInput { field, rule, .. }) => {
                    assert_eq!(field, "filter");
                    assert!(rule.contains(&format!("{bad:?}")), "{rule}");
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn select_keeps_listed_parts() {
        let s = Select::parse(&["nodeId, jobPreparationTaskExecutionInfo".into()], ctx).unwrap();
        let mut r = rec("n1", "p1");
        r.node_url = Some("u".into());
        let r = s.apply(r);
        assert_eq!(r.node_id, "n1");
        assert_eq!(r.pool_id, None);
        assert_eq!(r.node_url, None);
        assert!(Select::parse(&["nodeId".into(), "bogus".into()], ctx).is_err());
    }
}
