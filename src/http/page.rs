//! `GET /`: the web page, embedded in the binary (`web/index.html`).

use axum::response::Html;

/// The page.
pub async fn index() -> Html<&'static str> {
    Html(include_str!("../../web/index.html"))
}
