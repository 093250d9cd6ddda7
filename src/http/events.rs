//! `GET /api/v1/events`: server-sent events. First `ready` (the current versions), then `pools`
//! whenever the proxy's live pools change (any writer: the API, `afpool pool`, another afpool) and
//! `renders` after every refresh of afserver's render list. Each `data` is a JSON object; the
//! stream ends on shutdown.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use serde_json::json;
use tokio::sync::watch;

use super::AppState;

/// The event stream.
pub async fn stream(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (pools, renders) = (state.pools.subscribe(), state.renders.subscribe());
    let ready = json!({
        "pools_version": *pools.borrow(),
        "renders_generation": *renders.borrow(),
    });
    let first = Event::default().event("ready").data(ready.to_string());
    let updates = stream::unfold((state, pools, renders), next_event);
    let events = stream::once(async move { first }).chain(updates).map(Ok);
    Sse::new(events).keep_alive(KeepAlive::default())
}

type Watches = (AppState, watch::Receiver<u64>, watch::Receiver<u64>);

/// Waits for the next change; `None` ends the stream (shutdown, or a source gone).
async fn next_event((state, mut pools, mut renders): Watches) -> Option<(Event, Watches)> {
    let event = tokio::select! {
        changed = pools.changed() => {
            changed.ok()?;
            let current = state.pools.current();
            let names: Vec<&str> = current.iter().map(|p| p.name.as_str()).collect();
            let data = json!({ "version": *pools.borrow_and_update(), "pools": names });
            Event::default().event("pools").data(data.to_string())
        }
        changed = renders.changed() => {
            changed.ok()?;
            let list = state.renders.current();
            let online = list.iter().filter(|r| r.online).count();
            let data = json!({ "generation": *renders.borrow_and_update(),
                "renders": list.len(), "online": online });
            Event::default().event("renders").data(data.to_string())
        }
        _ = state.shutdown.cancelled() => return None,
    };
    Some((event, (state, pools, renders)))
}
