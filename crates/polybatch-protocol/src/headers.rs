//! Received headers as (name, value) pairs, as every verifier takes them.

/// The first value of header `name` among `headers` (names compared case-insensitively, as
/// HTTP defines them).
pub fn find<'a>(headers: &[(&'a str, &'a str)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_match_in_any_case_and_the_first_wins() {
        let h = [("X-Amz-Date", "1"), ("x-amz-date", "2"), ("host", "h")];
        assert_eq!(super::find(&h, "x-amz-date"), Some("1"));
        assert_eq!(super::find(&h, "HOST"), Some("h"));
        assert_eq!(super::find(&h, "authorization"), None);
    }
}
