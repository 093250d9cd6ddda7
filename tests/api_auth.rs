//! Who may write through the HTTP API of `afpool serve`, and how it is reached: bearer tokens from
//! `--api-tokens`, loopback-only writes without them, TLS with a test certificate, and token or
//! certificate files that stop `afpool serve` before it starts (without showing a token).

mod api_common;
mod common;

use api_common::*;
use serde_json::json;

#[tokio::test]
async fn writes_need_a_known_token_when_a_token_file_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "# wranglers\nann tok-ann-7f3a\nbob tok-bob-c4d2\n").unwrap();
    let s = serve_in(dir, &["--api-tokens", tokens.to_str().unwrap()], farm()).await;
    let http = client();
    let pools = s.url("/api/v1/pools");
    let create = json!({"name": "gpu"});

    let response = http.post(&pools).json(&create).send().await.unwrap();
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let (status, body) = json_of(response).await;
    assert_eq!((status, &body["kind"]), (401, &json!("unauthorized")));
    let wrong = http
        .post(&pools)
        .bearer_auth("tok-ann")
        .json(&create)
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(wrong).await;
    assert_eq!((status, &body["kind"]), (403, &json!("forbidden")));
    assert_eq!(
        s.cli_pools().await,
        json!([]),
        "refused writes write nothing"
    );

    let ok = http
        .post(&pools)
        .bearer_auth("tok-bob-c4d2")
        .json(&create)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 201);
    let (status, listed) = json_of(http.get(&pools).send().await.unwrap()).await;
    assert_eq!(
        (status, listed),
        (200, json!([{"name": "gpu", "hosts": []}])),
        "reads are open"
    );
    let (_, audit) = json_of(http.get(s.url("/api/v1/audit")).send().await.unwrap()).await;
    assert_eq!(audit[0]["who"], "bob");
    let log = s.log().join("\n");
    assert!(
        !log.contains("tok-ann") && !log.contains("tok-bob"),
        "{log}"
    );
}

/// A non-loopback address of this machine, if it has one.
fn outside_ip() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("10.255.255.255:9").ok()?;
    Some(socket.local_addr().ok()?.ip()).filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
}

#[tokio::test]
async fn without_a_token_file_only_loopback_may_write() {
    let s = serve(&["--http", "0.0.0.0:0"], farm()).await;
    let port = s.http.rsplit(':').next().unwrap().to_string();
    let http = client();
    let local = format!("http://127.0.0.1:{port}/api/v1/pools");
    let made = http
        .post(&local)
        .json(&json!({"name": "a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let rebound = http
        .post(&local)
        .header("host", "evil.example:80")
        .json(&json!({"name": "c"}));
    let (status, body) = json_of(rebound.send().await.unwrap()).await;
    assert_eq!(
        (status, &body["kind"]),
        (403, &json!("forbidden")),
        "{body}"
    );
    let Some(ip) = outside_ip() else {
        return eprintln!("no non-loopback address here; the remote half is skipped");
    };
    let remote = format!("http://{ip}:{port}/api/v1/pools");
    let (status, body) = json_of(
        http.post(&remote)
            .json(&json!({"name": "b"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, &body["kind"]),
        (403, &json!("forbidden")),
        "{body}"
    );
    assert_eq!(http.get(&remote).send().await.unwrap().status(), 200);
    assert_eq!(s.cli_pools().await, json!([{"name": "a", "hosts": []}]));
}

#[tokio::test]
async fn tls_with_a_test_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let cert = rcgen::generate_simple_self_signed(names).unwrap();
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_file, cert.cert.pem()).unwrap();
    std::fs::write(&key_file, cert.signing_key.serialize_pem()).unwrap();
    let args = [
        "--tls-cert",
        cert_file.to_str().unwrap(),
        "--tls-key",
        key_file.to_str().unwrap(),
    ];
    let s = serve_in(dir, &args, farm()).await;
    assert!(s.http.starts_with("https://127.0.0.1:"), "{}", s.http);

    let root = reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap();
    let https = reqwest::Client::builder()
        .no_proxy()
        .tls_built_in_root_certs(false)
        .add_root_certificate(root)
        .build()
        .unwrap();
    let made = https
        .post(s.url("/api/v1/pools"))
        .json(&json!({"name": "tls"}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    assert_eq!(s.cli_pools().await, json!([{"name": "tls", "hosts": []}]));
    let plain = s.url("/healthz").replace("https://", "http://");
    assert!(
        client().get(plain).send().await.is_err(),
        "no plain HTTP on the TLS port"
    );
    assert!(
        client().get(s.url("/healthz")).send().await.is_err(),
        "an unknown certificate is refused"
    );
}

#[tokio::test]
async fn bad_tls_files_and_token_files_stop_serve_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "ann secret-one extra\n").unwrap();
    let store = format!("file:{}", dir.path().join("pools.json").display());
    let junk = junk.to_str().unwrap();
    for args in [
        vec!["--tls-cert", junk, "--tls-key", junk],
        vec!["--api-tokens", tokens.to_str().unwrap()],
        vec!["--tls-cert", junk],
    ] {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_afpool"))
            .env_clear()
            .env("AFPOOL_STORE", &store)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--upstream",
                "127.0.0.1:9",
            ])
            .args(["--http", "127.0.0.1:0"])
            .args(&args)
            .output()
            .await
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {err}");
        assert!(!err.contains("secret-one"), "{err}");
    }
}
