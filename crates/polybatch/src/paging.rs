//! Lazy pagination shared by every listing: turn "fetch one page given a continuation" into a
//! stream of items. Nothing is fetched until the stream is polled; the next page is fetched
//! only when the previous one is consumed; an error is yielded once and ends the stream.

use std::collections::HashSet;
use std::future::Future;
use std::hash::Hash;

use futures::future::Either;
use futures::stream::{self, BoxStream, StreamExt};

use crate::error::{Error, Result};

/// One page: its items and the continuation for the next page (`None` on the last page).
#[derive(Debug)]
pub struct Page<T, C> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Where the next page starts, or `None` when this was the last.
    pub next: Option<C>,
}

impl<T, C> Page<T, C> {
    /// A page.
    pub fn new(items: Vec<T>, next: Option<C>) -> Self {
        Page { items, next }
    }
}

enum Cursor<C> {
    Start,
    Next(C),
    Done,
}

/// Streams every item of every page. `fetch(None)` fetches the first page, `fetch(Some(c))`
/// the page continuing at `c`.
pub fn paginate<T, C, F, Fut>(fetch: F) -> BoxStream<'static, Result<T>>
where
    T: Send + 'static,
    C: Send + 'static,
    F: FnMut(Option<C>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Page<T, C>>> + Send + 'static,
{
    stream::unfold((Cursor::Start, fetch), |(cursor, mut fetch)| async move {
        let continuation = match cursor {
            Cursor::Start => None,
            Cursor::Next(c) => Some(c),
            Cursor::Done => return None,
        };
        match fetch(continuation).await {
            Ok(page) => {
                let next = match page.next {
                    Some(c) => Cursor::Next(c),
                    None => Cursor::Done,
                };
                let items = stream::iter(page.items.into_iter().map(Ok));
                Some((items.boxed(), (next, fetch)))
            }
            Err(e) => Some((stream::iter(vec![Err(e)]).boxed(), (Cursor::Done, fetch))),
        }
    })
    .flatten()
    .boxed()
}

/// [`paginate`] for continuations the server chooses (a link, a token): one this listing has
/// already followed, handed back again or as part of a cycle, would read the same pages
/// forever, so it ends the listing with `repeated()` (after the items read so far) instead of
/// being fetched.
pub fn paginate_unrepeated<T, C, F, Fut, R>(
    mut fetch: F,
    repeated: R,
) -> BoxStream<'static, Result<T>>
where
    T: Send + 'static,
    C: Clone + Eq + Hash + Send + 'static,
    F: FnMut(Option<C>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Page<T, C>>> + Send + 'static,
    R: Fn() -> Error + Send + 'static,
{
    let mut followed = HashSet::new();
    paginate(move |c: Option<C>| match c {
        Some(c) if !followed.insert(c.clone()) => Either::Left(std::future::ready(Err(repeated()))),
        c => Either::Right(fetch(c)),
    })
}

/// `stream` up to and including its first error: a listing made of several listings (one per
/// queue or status) ends where one of them fails, as a single listing does.
pub fn ending_at_error<T: Send + 'static>(
    stream: BoxStream<'static, Result<T>>,
) -> BoxStream<'static, Result<T>> {
    // Not `scan`: it would poll the next listing (a request) before learning to stop.
    stream::unfold(Some(stream), |rest| async move {
        let mut rest = rest?;
        let item = rest.next().await?;
        let rest = item.is_ok().then_some(rest);
        Some((item, rest))
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Error, ErrorContext, Operation};
    use futures::TryStreamExt;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn walks_pages_lazily() {
        let fetched = Arc::new(AtomicUsize::new(0));
        let f = fetched.clone();
        let mut s = paginate(move |c: Option<usize>| {
            f.fetch_add(1, Ordering::SeqCst);
            async move {
                let p = c.unwrap_or(0);
                let items = vec![p * 10, p * 10 + 1];
                Ok(Page::new(items, (p < 2).then_some(p + 1)))
            }
        });
        assert_eq!(fetched.load(Ordering::SeqCst), 0, "nothing before polling");
        assert_eq!(s.try_next().await.unwrap(), Some(0));
        assert_eq!(fetched.load(Ordering::SeqCst), 1);
        let rest: Vec<usize> = s.try_collect().await.unwrap();
        assert_eq!(rest, vec![1, 10, 11, 20, 21]);
        assert_eq!(fetched.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn error_is_yielded_once_then_ends() {
        let s = paginate(|c: Option<u8>| async move {
            match c {
                None => Ok(Page::new(vec![1], Some(1))),
                Some(_) => Err(Error::timeout(ErrorContext::new("t", Operation::JobStatus))),
            }
        });
        let all: Vec<Result<i32>> = s.collect().await;
        assert_eq!(all.len(), 2);
        assert!(all[0].is_ok());
        assert!(matches!(all[1], Err(Error::Timeout { .. })));
    }

    #[tokio::test]
    async fn a_continuation_followed_before_ends_the_listing_unfetched() {
        // Pages 0 -> 1 -> 2 -> 1: the second offer of 1 is refused, not fetched.
        let fetched = Arc::new(AtomicUsize::new(0));
        let f = fetched.clone();
        let s = paginate_unrepeated(
            move |c: Option<u8>| {
                f.fetch_add(1, Ordering::SeqCst);
                let p = c.unwrap_or(0);
                async move { Ok(Page::new(vec![p], Some(if p == 2 { 1 } else { p + 1 }))) }
            },
            || Error::timeout(ErrorContext::new("t", Operation::ListJobs)),
        );
        let all: Vec<Result<u8>> = s.collect().await;
        assert_eq!(all.len(), 4, "{all:?}");
        let items: Vec<u8> = all[..3].iter().map(|r| *r.as_ref().unwrap()).collect();
        assert_eq!(items, [0, 1, 2]);
        assert!(matches!(all[3], Err(Error::Timeout { .. })));
        assert_eq!(fetched.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_listing_of_listings_ends_at_its_first_error() {
        let failing = || {
            paginate(|c: Option<u8>| async move {
                match c {
                    None => Ok(Page::new(vec![1], Some(1))),
                    Some(_) => Err(Error::timeout(ErrorContext::new("t", Operation::ListJobs))),
                }
            })
        };
        let fetched = Arc::new(AtomicUsize::new(0));
        let f = fetched.clone();
        let counted = move || {
            f.fetch_add(1, Ordering::SeqCst);
            failing()
        };
        let two = stream::iter([(), ()])
            .map(move |_| counted())
            .flatten()
            .boxed();
        let all: Vec<Result<i32>> = ending_at_error(two).collect().await;
        assert_eq!(all.len(), 2, "{all:?}");
        assert_eq!(
            fetched.load(Ordering::SeqCst),
            1,
            "the second listing is never started"
        );
        assert!(all[0].is_ok());
        assert!(all[1].is_err());
        let fine = stream::iter(vec![Ok(1), Ok(2)]).boxed();
        assert_eq!(ending_at_error(fine).collect::<Vec<_>>().await.len(), 2);
    }
}
