//! Reading a response body within a size cap, and classifying a failed round trip into the one
//! [`polybatch::Error`] type.

use futures::{Stream, StreamExt};
use polybatch::{BoxError, Error, ErrorContext};

/// Reads a body stream into memory, stopping as soon as more than `cap` bytes arrived (the rest
/// is never pulled). Returns the bytes (at most `cap`) and whether the body was longer.
pub async fn read_capped<S, B, E>(mut stream: S, cap: usize) -> Result<(Vec<u8>, bool), E>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
{
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        let chunk = chunk.as_ref();
        if buf.len() + chunk.len() > cap {
            let room = cap - buf.len();
            buf.extend_from_slice(&chunk[..room]);
            return Ok((buf, true));
        }
        buf.extend_from_slice(chunk);
    }
    Ok((buf, false))
}

/// Classifies a failed round trip: a connection that was never established means the request
/// certainly did not reach the server (so even a non-idempotent call may be replayed); a timeout
/// is [`Error::Timeout`]; anything else may have reached it.
pub fn transport_error(connect: bool, timeout: bool, source: BoxError, ctx: ErrorContext) -> Error {
    if connect {
        Error::transport(false, Some(source), ctx)
    } else if timeout {
        Error::timeout(ctx)
    } else {
        Error::transport(true, Some(source), ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polybatch::Operation;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn read_capped_stops_past_the_cap() {
        // An endless body of 1 MB chunks: reading must stop right after 50 MB.
        const CAP: usize = 50 * 1024 * 1024;
        let pulled = Arc::new(AtomicUsize::new(0));
        let p = pulled.clone();
        let endless = futures::stream::repeat_with(move || {
            p.fetch_add(1, Ordering::SeqCst);
            Ok::<_, std::io::Error>(vec![b'x'; 1024 * 1024])
        });
        let (body, truncated) = read_capped(endless, CAP).await.unwrap();
        assert!(truncated);
        assert_eq!(body.len(), CAP);
        assert_eq!(pulled.load(Ordering::SeqCst), 51);

        let small = futures::stream::iter(vec![
            Ok::<_, std::io::Error>(b"ab".to_vec()),
            Ok(b"c".to_vec()),
        ]);
        assert_eq!(
            read_capped(small, 3).await.unwrap(),
            (b"abc".to_vec(), false)
        );
        let over = futures::stream::iter(vec![
            Ok::<_, std::io::Error>(b"ab".to_vec()),
            Ok(b"cd".to_vec()),
        ]);
        assert_eq!(read_capped(over, 3).await.unwrap(), (b"abc".to_vec(), true));
        let failing = futures::stream::iter(vec![
            Ok(b"ab".to_vec()),
            Err(std::io::Error::other("reset")),
        ]);
        assert!(read_capped(failing, 10).await.is_err());
    }

    #[test]
    fn transport_errors_say_whether_the_request_may_have_been_sent() {
        let ctx = || ErrorContext::new("t", Operation::JobStatus);
        let src = || -> BoxError { Box::new(std::io::Error::other("x")) };
        let e = transport_error(true, false, src(), ctx());
        assert!(e.certainly_not_sent() && e.is_retryable());
        // A connect timeout never reached the server either.
        assert!(transport_error(true, true, src(), ctx()).certainly_not_sent());
        assert!(matches!(
            transport_error(false, true, src(), ctx()),
            Error::Timeout { .. }
        ));
        let e = transport_error(false, false, src(), ctx());
        assert!(matches!(
            e,
            Error::Transport {
                maybe_sent: true,
                ..
            }
        ));
    }
}
