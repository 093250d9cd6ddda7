//! The MongoDB store's change feed: a change stream on the pools' collection merged with one on
//! the default pool rules' collection, ending as soon as either ends (the live view reopens it);
//! polling when the server offers no change streams (a standalone server).

use std::time::Duration;

use bson::Document;
use futures_util::StreamExt;
use mongodb::change_stream::ChangeStream;
use mongodb::error::ErrorKind;
use mongodb::Collection;

use super::{ChangeFeed, StoreError};

/// The feed for `pools` and `rules` (`described` names the store in errors and logs).
pub(super) async fn changes(
    pools: &Collection<Document>,
    rules: &Collection<Document>,
    described: &str,
    poll: Duration,
) -> Result<ChangeFeed, StoreError> {
    let both = match pools.watch().await {
        Ok(p) => rules.watch().await.map(|r| (p, r)),
        Err(e) => Err(e),
    };
    match both {
        Ok((p, r)) => {
            let describe = described.to_string();
            let unavailable = move |e| StoreError::Unavailable(format!("{describe}: {e}"));
            let until_end = |s: ChangeStream<_>| {
                let end = futures_util::stream::once(std::future::ready(None));
                s.map(|event| Some(event.map(|_| ()))).chain(end)
            };
            let events = futures_util::stream::select(until_end(p), until_end(r))
                .take_while(|event| std::future::ready(event.is_some()))
                .filter_map(std::future::ready)
                .map(move |event| event.map_err(&unavailable));
            Ok(ChangeFeed::Stream(events.boxed()))
        }
        Err(e) if matches!(e.kind.as_ref(), ErrorKind::Command(_)) => {
            tracing::info!(store = %described, error = %e,
                "no change streams on this server; polling every 2 s");
            Ok(ChangeFeed::Poll(poll))
        }
        Err(e) => Err(StoreError::Unavailable(format!("{described}: {e}"))),
    }
}
