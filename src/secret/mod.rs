//! Values that must never reach a log, an error message or `--help`: a [`Secret`] holds one and
//! prints only a redacted form, so `{:?}` of a config or a command line cannot leak it.
//! [`redact_uri`] (in [`uri`]) masks the credentials of a connection URI such as `AFPOOL_STORE`.

pub mod uri;

pub use uri::{is_encoded_userinfo, redact_uri, uri_hosts, uri_userinfo};

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// How a [`Secret`] is shown.
pub trait Redaction {
    /// The printable form of `secret`.
    fn redact(secret: &str) -> Cow<'_, str>;
}

/// Shows nothing of the value (API tokens, passwords): `***`.
#[derive(Debug)]
pub enum Hidden {}

/// Shows a URI without its password and password-like options: see [`redact_uri`].
#[derive(Debug)]
pub enum Uri {}

impl Redaction for Hidden {
    fn redact(_: &str) -> Cow<'_, str> {
        Cow::Borrowed("***")
    }
}

impl Redaction for Uri {
    fn redact(secret: &str) -> Cow<'_, str> {
        Cow::Owned(redact_uri(secret))
    }
}

/// A string whose `Debug` and `Display` print only its redacted form (per `R`); the value itself
/// is read with [`Secret::expose`], only where it is used.
pub struct Secret<R: Redaction = Hidden> {
    value: String,
    redaction: PhantomData<fn() -> R>,
}

/// A connection URI or store spec that may carry a password (`mongodb://user:pass@host`).
pub type SecretUri = Secret<Uri>;

impl<R: Redaction> Secret<R> {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret {
            value: value.into(),
            redaction: PhantomData,
        }
    }

    /// The secret value itself: pass it on, never print it.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// The printable form.
    pub fn redacted(&self) -> Cow<'_, str> {
        R::redact(&self.value)
    }
}

impl<R: Redaction> Clone for Secret<R> {
    fn clone(&self) -> Self {
        Secret::new(self.value.clone())
    }
}

impl<R: Redaction> PartialEq for Secret<R> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<R: Redaction> Eq for Secret<R> {}

impl<R: Redaction> fmt::Debug for Secret<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Secret").field(&self.redacted()).finish()
    }
}

impl<R: Redaction> fmt::Display for Secret<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl<R: Redaction> From<String> for Secret<R> {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

/// Never fails, so clap never echoes the value in a parse error.
impl<R: Redaction> std::str::FromStr for Secret<R> {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret::new(s))
    }
}

impl<'de, R: Redaction> serde::Deserialize<'de> for Secret<R> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_secret() {
        let uri = SecretUri::new("mongodb://afpool:hunter2@db/afpools");
        let token: Secret = "tok-hunter2".parse().unwrap();
        for shown in [
            format!("{uri}"),
            format!("{uri:?}"),
            format!("{token}"),
            format!("{token:?}"),
            format!("{:?}", Some(uri.clone())),
        ] {
            assert!(!shown.contains("hunter2"), "{shown}");
        }
        assert_eq!(uri.to_string(), "mongodb://afpool:***@db/afpools");
        assert_eq!(token.expose(), "tok-hunter2");
        let parsed: SecretUri = serde_json::from_str("\"mongodb://a:b@c\"").unwrap();
        assert_eq!(parsed.expose(), "mongodb://a:b@c");
    }
}
