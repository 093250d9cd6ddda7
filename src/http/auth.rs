//! Who may write through the API. Reads are open. Writes need `Authorization: Bearer TOKEN` with
//! a token from the `--api-tokens` file (`name token` per line, `#` comments); the token's name is
//! the `who` of the audit entry. Without a token file, writes are accepted only from loopback
//! (`who` = `loopback`), and only when the request addresses afpool as `localhost` or by IP (a
//! web page whose DNS name was re-pointed to 127.0.0.1 cannot write). Tokens are [`Secret`]s
//! compared in constant time and never logged.

use std::net::SocketAddr;
use std::path::Path;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{AUTHORIZATION, HOST};
use axum::http::request::Parts;
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::AppState;
use crate::secret::Secret;

/// The audit `who` of a write from loopback when there is no token file.
pub const LOOPBACK_WHO: &str = "loopback";

/// Why a token file cannot be used (its tokens are never part of the message).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokensError {
    /// A line is not `name token`.
    #[error("line {0}: expected `NAME TOKEN`")]
    Malformed(usize),
    /// Two lines carry the same token or the same name.
    #[error("line {0}: the name or token of an earlier line again")]
    Duplicate(usize),
    /// The file names no token.
    #[error("no tokens in the file")]
    Empty,
}

/// Write permission: tokens from a file, or loopback only.
#[derive(Debug, Clone)]
pub enum Auth {
    /// No token file: writes only from loopback addresses.
    LoopbackOnly,
    /// Writes need one of these tokens: (name, token).
    Tokens(Vec<(String, Secret)>),
}

impl Auth {
    /// Reads `--api-tokens FILE`.
    pub fn from_file(path: &Path) -> anyhow::Result<Auth> {
        use anyhow::Context;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the API token file {}", path.display()))?;
        let tokens = parse_tokens(&text)
            .with_context(|| format!("invalid API token file {}", path.display()))?;
        Ok(Auth::Tokens(tokens))
    }

    /// Who is writing, or why the write is refused. `bearer` is the token sent, `peer` the
    /// client's address, `host` the request's `Host` header.
    pub fn check(
        &self,
        bearer: Option<&str>,
        peer: Option<SocketAddr>,
        host: Option<&str>,
    ) -> Result<String, ApiError> {
        let tokens = match self {
            Auth::Tokens(tokens) => tokens,
            Auth::LoopbackOnly => return loopback_writer(peer, host),
        };
        let Some(sent) = bearer else {
            return Err(ApiError::Unauthorized(
                "this write needs `Authorization: Bearer TOKEN`".into(),
            ));
        };
        find(tokens, sent).ok_or_else(|| ApiError::Forbidden("unknown API token".into()))
    }
}

/// A write without a token file: from loopback, addressed by IP or as `localhost` (a web page of
/// another site that a DNS name re-pointed to 127.0.0.1 must not write).
fn loopback_writer(peer: Option<SocketAddr>, host: Option<&str>) -> Result<String, ApiError> {
    if !peer.is_some_and(|p| p.ip().is_loopback()) {
        return Err(ApiError::Forbidden(
            "writes are accepted only from this machine (afpool serve has no --api-tokens file)"
                .into(),
        ));
    }
    if !host.is_none_or(local_host_name) {
        return Err(ApiError::Forbidden(
            "without --api-tokens, writes must address afpool as localhost or by IP address".into(),
        ));
    }
    Ok(LOOPBACK_WHO.to_string())
}

/// True for `localhost`, `*.localhost` and IP literals, with or without a port.
fn local_host_name(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => {
            let ip = v6.split_once(']').map(|(ip, _)| ip);
            return ip.is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok());
        }
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    let name = name.to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name.parse::<std::net::Ipv4Addr>().is_ok()
}

/// The name of the token equal to `sent`; every token is compared, each in constant time.
fn find(tokens: &[(String, Secret)], sent: &str) -> Option<String> {
    let mut found = None;
    for (name, token) in tokens {
        if bool::from(token.expose().as_bytes().ct_eq(sent.as_bytes())) {
            found = Some(name.clone());
        }
    }
    found
}

/// Parses `name token` lines; blank lines and `#` comments are skipped.
pub fn parse_tokens(text: &str) -> Result<Vec<(String, Secret)>, TokensError> {
    let mut tokens: Vec<(String, Secret)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [name, token] = fields[..] else {
            return Err(TokensError::Malformed(i + 1));
        };
        if tokens.iter().any(|(n, t)| n == name || t.expose() == token) {
            return Err(TokensError::Duplicate(i + 1));
        }
        tokens.push((name.to_string(), Secret::new(token)));
    }
    if tokens.is_empty() {
        return Err(TokensError::Empty);
    }
    Ok(tokens)
}

/// The caller of a write route, checked before its body is read: `who` for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Writer(pub String);

impl FromRequestParts<AppState> for Writer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        let bearer = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let authority = parts.uri.authority().map(|a| a.as_str());
        let host = parts.headers.get(HOST).and_then(|v| v.to_str().ok());
        let host = host.or(authority);
        state.auth.check(bearer, peer, host).map(Writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn addr(text: &str) -> Option<SocketAddr> {
        Some(text.parse().unwrap())
    }

    #[rstest]
    #[case("ann tok1\n# c\n\nbob  tok2 \n", Ok(vec!["ann", "bob"]))]
    #[case("ann\n", Err(TokensError::Malformed(1)))]
    #[case("ann a b\n", Err(TokensError::Malformed(1)))]
    #[case("ann t\nbob t\n", Err(TokensError::Duplicate(2)))]
    #[case("ann t\nann u\n", Err(TokensError::Duplicate(2)))]
    #[case("# nothing\n", Err(TokensError::Empty))]
    fn token_files(#[case] text: &str, #[case] names: Result<Vec<&str>, TokensError>) {
        let parsed = parse_tokens(text).map(|t| t.into_iter().map(|(n, _)| n).collect::<Vec<_>>());
        let names = names.map(|n| n.into_iter().map(String::from).collect::<Vec<_>>());
        assert_eq!(parsed, names);
    }

    #[rstest]
    #[case(None, "127.0.0.1:5", None, Ok("loopback"))]
    #[case(None, "[::1]:5", Some("[::1]:51180"), Ok("loopback"))]
    #[case(None, "127.0.0.1:5", Some("localhost:51180"), Ok("loopback"))]
    #[case(None, "127.0.0.1:5", Some("127.0.0.1"), Ok("loopback"))]
    #[case(None, "127.0.0.1:5", Some("10.1.2.3:51180"), Ok("loopback"))]
    #[case(None, "127.0.0.1:5", Some("evil.example:51180"), Err(403))]
    #[case(None, "127.0.0.1:5", Some("[::1"), Err(403))]
    #[case(Some("tok1"), "10.0.0.5:5", None, Err(403))]
    #[case(None, "10.0.0.5:5", Some("localhost"), Err(403))]
    fn without_a_token_file_only_loopback_writes(
        #[case] bearer: Option<&str>,
        #[case] peer: &str,
        #[case] host: Option<&str>,
        #[case] expected: Result<&str, u16>,
    ) {
        let got = Auth::LoopbackOnly.check(bearer, addr(peer), host);
        let got = got.map_err(|e| e.status_and_kind().0.as_u16());
        assert_eq!(got, expected.map(String::from));
    }

    #[rstest]
    #[case(Some("tok1"), Ok("ann"))]
    #[case(Some("tok2"), Ok("bob"))]
    #[case(Some("tok"), Err(403))]
    #[case(Some("tok10"), Err(403))]
    #[case(None, Err(401))]
    fn with_a_token_file_every_write_needs_a_token(
        #[case] bearer: Option<&str>,
        #[case] expected: Result<&str, u16>,
    ) {
        let auth = Auth::Tokens(parse_tokens("ann tok1\nbob tok2\n").unwrap());
        let got = auth.check(bearer, addr("127.0.0.1:1"), Some("evil.example"));
        let got = got.map_err(|e| e.status_and_kind().0.as_u16());
        assert_eq!(got, expected.map(String::from));
    }

    #[test]
    fn errors_never_show_tokens() {
        let auth = Auth::Tokens(parse_tokens("ann s3cret\n").unwrap());
        assert!(!format!("{auth:?}").contains("s3cret"));
        let e = auth
            .check(Some("s3cre"), None, None)
            .unwrap_err()
            .to_string();
        assert!(!e.contains("s3cre"), "{e}");
    }
}
