//! `GET /` and `GET /static/{file}`: the web page (`web/`), embedded in the binary: plain HTML,
//! CSS and JavaScript over the JSON API, with no build step.

use axum::extract::Path;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

use super::error::ApiError;

/// The page's files besides `index.html`: (name, content type, text).
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../web/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/app.js"),
    ),
    (
        "pools.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/pools.js"),
    ),
    (
        "policy.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/policy.js"),
    ),
    (
        "rules.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/rules.js"),
    ),
    (
        "rule.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/rule.js"),
    ),
    (
        "views.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/views.js"),
    ),
];

/// The page.
pub async fn index() -> Html<&'static str> {
    Html(include_str!("../../web/index.html"))
}

/// One of the page's files, or the JSON 404.
pub async fn asset(Path(file): Path<String>) -> Response {
    match find(&file) {
        Some((content_type, text)) => {
            let headers = [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "no-cache"),
            ];
            (headers, text).into_response()
        }
        None => ApiError::NoRoute(format!("/static/{file}")).into_response(),
    }
}

fn find(file: &str) -> Option<(&'static str, &'static str)> {
    ASSETS
        .iter()
        .find(|(name, _, _)| *name == file)
        .map(|(_, content_type, text)| (*content_type, *text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("app.js", Some("text/javascript; charset=utf-8"))]
    #[case("app.css", Some("text/css; charset=utf-8"))]
    #[case("pools.js", Some("text/javascript; charset=utf-8"))]
    #[case("../Cargo.toml", None)]
    #[case("", None)]
    fn assets_are_found_by_exact_name(#[case] file: &str, #[case] wanted: Option<&str>) {
        assert_eq!(find(file).map(|(content_type, _)| content_type), wanted);
    }

    #[test]
    fn the_page_loads_every_asset() {
        let page = include_str!("../../web/index.html");
        for (name, _, _) in ASSETS {
            assert!(page.contains(&format!("/static/{name}")), "{name}");
        }
    }
}
