//! Headless Chromium for the web page tests and `examples/web_bench.rs`: chromedriver started on a
//! free port (it prints the port it bound), a fantoccini session on it, and bounded waits that
//! poll the page's DOM until a deadline. When Chromium is missing the test is skipped with a note,
//! except in CI (`CI=true`), where that is a failure.
#![allow(dead_code)]

use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long any wait for the page may take.
pub const WAIT: Duration = Duration::from_secs(15);

/// A headless Chromium driven over WebDriver.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    _driver: Child,
}

/// Where the Debian packages put the browser and its driver.
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "chromedriver";

/// True when `chromedriver` and Chromium are installed. When they are not: prints a note and
/// returns false, or panics under `CI=true`.
pub fn available(test: &str) -> bool {
    let driver = std::process::Command::new(CHROMEDRIVER)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if driver && std::path::Path::new(CHROMIUM).exists() {
        return true;
    }
    let note = "chromium and chromium-driver are not installed (scripts/test.sh installs them)";
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: {note}");
    }
    eprintln!("{test}: skipped: {note}");
    false
}

impl Browser {
    /// Starts chromedriver on a free port and opens a headless session of `width`×`height`.
    pub async fn start(width: u32, height: u32) -> Browser {
        let mut driver = Command::new(CHROMEDRIVER)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let port = driver_port(&mut driver).await;
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-proxy-server", format!("--window-size={width},{height}")],
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        // rustls is built with both ring (afpool) and aws-lc-rs (fantoccini): choose one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = ClientBuilder::rustls()
            .expect("TLS roots")
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a WebDriver session");
        Browser {
            client,
            _driver: driver,
        }
    }

    /// Runs `script` (a function body) in the page and returns what it returns.
    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Polls `script` until it returns something truthy (not false, null, 0 or ""), at most
    /// [`WAIT`]; returns that value. Panics with `what` and the page's message line otherwise.
    pub async fn wait_for(&self, script: &str, what: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let value = self.js(script).await;
            let truthy = !matches!(&value, Value::Null | Value::Bool(false))
                && value != json!(0)
                && value != json!("");
            if truthy {
                return value;
            }
            if Instant::now() > deadline {
                let message = self
                    .js("return document.getElementById('message').textContent")
                    .await;
                panic!("waited {WAIT:?} for {what}; the page says {message}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Types `text` into the element `css` (after clearing it).
    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.client.find(Locator::Css(css)).await.expect(css);
        element.clear().await.expect("clear");
        element.send_keys(text).await.expect("send keys");
    }

    /// Chooses the file at `path` in the file input `css`.
    pub async fn type_into_file(&self, css: &str, path: &str) {
        let element = self.client.find(Locator::Css(css)).await.expect(css);
        element.send_keys(path).await.expect("choose a file");
    }

    /// Clicks the element `css`; found again when a live redraw replaced it in between.
    pub async fn click(&self, css: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let element = self.client.find(Locator::Css(css)).await.expect(css);
            match element.click().await {
                Ok(()) => return,
                Err(e) if e.to_string().contains("stale element") && Instant::now() < deadline => {}
                Err(e) => panic!("click {css}: {e}"),
            }
        }
    }

    /// Ends the session.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// Reads chromedriver's "started successfully on port N" line, then drains its output.
async fn driver_port(driver: &mut Child) -> u16 {
    let mut lines = BufReader::new(driver.stdout.take().unwrap()).lines();
    let find = async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.split("started successfully on port ").nth(1) {
                return rest.trim_end_matches('.').trim().parse().ok();
            }
        }
        None
    };
    let port = match tokio::time::timeout(WAIT, find).await {
        Ok(Some(port)) => port,
        _ => panic!("chromedriver did not say its port"),
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    port
}
