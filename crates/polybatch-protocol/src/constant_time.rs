//! Comparing secrets in time independent of where they differ, so a verifier leaks nothing about
//! how much of a signature or token matched.

/// Whether `a` and `b` are equal, in time that depends only on their lengths.
pub fn eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::eq;

    #[test]
    fn equal_only_when_every_byte_and_the_length_match() {
        assert!(eq(b"", b""));
        assert!(eq(b"abc", b"abc"));
        assert!(!eq(b"abc", b"abd"));
        assert!(!eq(b"abc", b"xbc"));
        assert!(!eq(b"abc", b"abcd"));
        assert!(!eq(b"abcd", b"abc"));
    }
}
