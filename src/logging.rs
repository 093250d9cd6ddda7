//! Log setup: tracing to stderr, filtered by `AFPOOL_LOG` (or `RUST_LOG`), `info` by default.
//! `AFPOOL_LOG_FORMAT=json` writes one JSON object per line (for log shippers: journald,
//! Vector, Fluent Bit, Promtail), anything else or unset the human-readable text.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable text (colours on a terminal).
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `fields` (with `message`).
    Json,
}

impl LogFormat {
    /// The format `AFPOOL_LOG_FORMAT`'s value names: `json` (any case) or text.
    pub fn from_env_value(value: Option<&str>) -> LogFormat {
        match value.map(str::trim) {
            Some(v) if v.eq_ignore_ascii_case("json") => LogFormat::Json,
            _ => LogFormat::Text,
        }
    }
}

/// Install the stderr subscriber once (later calls do nothing).
pub fn init() {
    let filter = std::env::var("AFPOOL_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info".into());
    let format = LogFormat::from_env_value(std::env::var("AFPOOL_LOG_FORMAT").ok().as_deref());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().with_current_span(false).try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(None, LogFormat::Text)]
    #[case(Some(""), LogFormat::Text)]
    #[case(Some("text"), LogFormat::Text)]
    #[case(Some("json"), LogFormat::Json)]
    #[case(Some(" JSON "), LogFormat::Json)]
    #[case(Some("jsonl"), LogFormat::Text)]
    fn format_from_env_value(#[case] value: Option<&str>, #[case] expected: LogFormat) {
        assert_eq!(LogFormat::from_env_value(value), expected);
    }
}
