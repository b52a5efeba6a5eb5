//! The date format of Batch's headers (`ocp-date`, `If-Modified-Since`, `Last-Modified`):
//! RFC 1123 in GMT, `Sun, 06 Nov 1994 08:49:37 GMT`.

use chrono::{DateTime, Utc};

/// The last second `httpdate` formats (9999-12-31T23:59:59Z).
const LAST_FORMATTED: i64 = 253_402_300_799;

/// `t` as Batch's headers spell a date. `httpdate` formats it without reading a format string
/// each time (this runs on every request); outside the years it covers (1970 to 9999), which
/// only a test clock reaches, chrono does it.
pub fn rfc1123(t: DateTime<Utc>) -> String {
    if (0..=LAST_FORMATTED).contains(&t.timestamp()) {
        httpdate::fmt_http_date(t.into())
    } else {
        t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::rfc1123;
    use chrono::{DateTime, Utc};
    use proptest::prelude::*;

    fn by_chrono(t: DateTime<Utc>) -> String {
        t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
    }

    #[test]
    fn spells_the_documented_example_and_the_edges() {
        let t = DateTime::from_timestamp(784_111_777, 0).expect("a time");
        assert_eq!(rfc1123(t), "Sun, 06 Nov 1994 08:49:37 GMT");
        for secs in [
            0,
            1,
            super::LAST_FORMATTED,
            super::LAST_FORMATTED + 1,
            -1,
            -86_400 * 400,
        ] {
            let t = DateTime::from_timestamp(secs, 999_999_999).expect("a time");
            assert_eq!(rfc1123(t), by_chrono(t), "{secs}");
        }
    }

    proptest! {
        #[test]
        fn matches_the_format_string_everywhere(secs in -100_000_000_000i64..300_000_000_000, nanos in 0u32..1_000_000_000) {
            let t = DateTime::from_timestamp(secs, nanos).expect("a time");
            prop_assert_eq!(rfc1123(t), by_chrono(t));
        }
    }
}
