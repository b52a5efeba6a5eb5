//! Whether an answer says nothing but metadata: a JSON object every key of which is the
//! provider's bookkeeping (OData's `odata.*`, Tencent's `RequestId`). Every real job, task or
//! page answer carries more, so such a body is a mangled answer (a proxy's, a truncated one),
//! not an empty one. The keys are read in place: no key is allocated unless it is escaped, and
//! no value is kept.

use std::borrow::Cow;
use std::fmt;

use serde::Deserializer;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};

/// Whether `body` is a JSON object all of whose keys `metadata` accepts (an empty object
/// included); with `within`, the same of the object under that top-level key, the other
/// top-level keys being ignored. `false` for anything else: not JSON, not an object, no
/// `within` member, or a key `metadata` refuses.
pub fn metadata_only(body: &[u8], within: Option<&str>, metadata: fn(&str) -> bool) -> bool {
    let mut de = serde_json::Deserializer::from_slice(body);
    let seed = Object { within, metadata };
    seed.deserialize(&mut de).unwrap_or(false) && de.end().is_ok()
}

/// A key, borrowed from the body where it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// The object to judge (the top level, or the one under `within`).
#[derive(Clone, Copy)]
struct Object<'a> {
    within: Option<&'a str>,
    metadata: fn(&str) -> bool,
}

impl<'de> DeserializeSeed<'de> for Object<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Object<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        // Without `within`, every key must be metadata; with it, the answer is the inner
        // object's, and missing it is `false`. The whole map is read either way, so that a
        // body that is not JSON to its end is not judged.
        let mut verdict = self.within.is_none();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            match self.within {
                Some(name) if key == name => {
                    verdict = map.next_value_seed(Object {
                        within: None,
                        metadata: self.metadata,
                    })?;
                }
                Some(_) => {
                    map.next_value::<IgnoredAny>()?;
                }
                None => {
                    verdict &= (self.metadata)(&key);
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(verdict)
    }

    // Anything but an object: not metadata only (the typed parse judges it).
    fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_str<E>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::metadata_only;

    fn odata(k: &str) -> bool {
        k.starts_with("odata.")
    }

    fn request_id(k: &str) -> bool {
        k == "RequestId"
    }

    #[test]
    fn an_object_of_metadata_keys_only_is_metadata_only() {
        assert!(metadata_only(
            br#"{"odata.metadata":"https://x/$metadata#jobs/@Element"}"#,
            None,
            odata
        ));
        assert!(metadata_only(b"{}", None, odata));
        assert!(metadata_only(
            br#"{"Response":{"RequestId":"r-1"}}"#,
            Some("Response"),
            request_id
        ));
        assert!(metadata_only(
            br#"{"Response":{}, "Other": [1, {"a": 2}]}"#,
            Some("Response"),
            request_id
        ));
        // An escaped key is read too.
        assert!(metadata_only(
            br#"{"odata.\u006detadata":"x"}"#,
            None,
            odata
        ));
    }

    #[test]
    fn anything_more_is_not() {
        assert!(!metadata_only(
            br#"{"odata.metadata":"x","id":"job-1"}"#,
            None,
            odata
        ));
        assert!(!metadata_only(
            br#"{"Response":{"RequestId":"r","Jobs":[]}}"#,
            Some("Response"),
            request_id
        ));
        assert!(!metadata_only(
            br#"{"Response":{"RequestId":"r","Error":{}}}"#,
            Some("Response"),
            request_id
        ));
        assert!(
            !metadata_only(br#"{"RequestId":"r"}"#, Some("Response"), request_id),
            "no Response member"
        );
        assert!(!metadata_only(
            br#"{"Response":"text"}"#,
            Some("Response"),
            request_id
        ));
        assert!(
            !metadata_only(br#"{"\u0069d":"job-1"}"#, None, odata),
            "an escaped real key"
        );
    }

    #[test]
    fn what_is_not_a_whole_json_object_is_not() {
        for body in [
            &b""[..],
            b"[]",
            b"null",
            b"\"odata.x\"",
            b"{",
            br#"{"odata.x":1} trailing"#,
            b"<html>",
        ] {
            assert!(
                !metadata_only(body, None, odata),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
