//! Scheduled members through the HTTP API of `afpool serve`: `PUT .../selection` writes
//! `during` and `time_zone` (a bad window or zone is a 400 `invalid_schedule` with the reason,
//! writing nothing), the CLI reads what the API wrote, and `GET .../members` says for each
//! member whether it is one now and when that next changes.

mod api_common;
mod common;

use api_common::*;
use common::farm;
use serde_json::{json, Value};

#[tokio::test]
async fn windows_are_written_read_and_explained() {
    let s = serve(&[], farm()).await;
    let http = client();
    let (ok, _) = s.pool_cli(&["create", "night", "ws-a", "ws-b"]).await;
    assert!(ok);
    let selection = s.url("/api/v1/pools/night/selection");
    for (bad, why) in [
        (
            json!({"during": {"ws-a": ["Mon-Fri 19:00-7:00"]}}),
            "'7:00' is not a time",
        ),
        (json!({"time_zone": "Europe/Berln"}), "Europe/Berln"),
    ] {
        let (status, body) = json_of(http.put(&selection).json(&bad).send().await.unwrap()).await;
        assert_eq!(
            (status, &body["kind"]),
            (400, &json!("invalid_schedule")),
            "{body}"
        );
        assert!(body["error"].as_str().unwrap().contains(why), "{body}");
    }
    assert!(
        s.cli_pools().await[0].get("during").is_none(),
        "nothing written"
    );
    let windows = json!({"ws-a": ["00:00-24:00"], "ws-b": ["mon-sun 00:00-12:00"]});
    let put = json!({"during": windows, "time_zone": "Europe/Berlin"});
    let (status, set) = json_of(http.put(&selection).json(&put).send().await.unwrap()).await;
    assert_eq!(status, 200, "{set}");
    let stored = json!({"ws-a": ["00:00-24:00"], "ws-b": ["00:00-12:00"]});
    assert_eq!(set["pool"]["during"], stored);
    let cli = s.cli_pools().await;
    assert_eq!(
        (&cli[0]["during"], &cli[0]["time_zone"]),
        (&stored, &json!("Europe/Berlin"))
    );
    let (status, body) = json_of(
        http.get(s.url("/api/v1/pools/night/members"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let members: &Vec<Value> = body["members"].as_array().unwrap();
    assert_eq!(members[0]["host"], "ws-a");
    assert_eq!(members[0]["member_now"], true, "a window that never shuts");
    assert!(members[0].get("next_change").is_none(), "{body}");
    assert_eq!(members[1]["during"], json!(["00:00-12:00"]));
    let next = members[1]["next_change"].as_str().unwrap();
    let at = if members[1]["member_now"] == true {
        "T12:00:00+"
    } else {
        "T00:00:00+"
    };
    assert!(
        next.contains(at) && next.ends_with("[Europe/Berlin]"),
        "{body}"
    );
}
