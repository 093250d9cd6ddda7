//! `PUT /api/v1/pools/{name}/spill` of `afpool serve` over real HTTP: the settings are stored
//! where `afpool pool show` reads them, refused settings are a 400 `invalid_spill` that writes
//! nothing, and `{}` clears them.

mod api_common;
mod common;

use api_common::*;
use serde_json::json;

#[tokio::test]
async fn spill_over_is_set_refused_and_cleared_with_the_api() {
    let s = serve(&[], farm()).await;
    let http = client();
    let (ok, _) = s.pool_cli(&["create", "gpu", "gpu.node3"]).await;
    assert!(ok);
    let url = s.url("/api/v1/pools/gpu/spill");
    let wanted = json!({"fallback": ["cpu"], "spill_below": 2, "spill_after": "30m"});
    let (status, set) = json_of(http.put(&url).json(&wanted).send().await.unwrap()).await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["pool"]["fallback"], json!(["cpu"]));
    assert!(
        set["summary"].as_str().unwrap().contains("spills into cpu"),
        "{set}"
    );
    let stored = s.cli_pools().await;
    assert_eq!(stored[0]["spill_after"], "30m", "{stored}");
    let own = json!({"fallback": ["gpu"], "spill_below": 1});
    let (status, refused) = json_of(http.put(&url).json(&own).send().await.unwrap()).await;
    assert_eq!(
        (status, refused["kind"].as_str()),
        (400, Some("invalid_spill")),
        "{refused}"
    );
    assert_eq!(
        s.cli_pools().await,
        stored,
        "a refused setting writes nothing"
    );
    let (status, _) = json_of(http.put(&url).json(&json!({})).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(
        s.cli_pools().await,
        json!([{"name": "gpu", "hosts": ["gpu.node3"]}])
    );
}
