//! Connection URIs (`mongodb://user:password@host/db?options`) as the MongoDB driver reads them,
//! cut into parts so their credentials can be masked ([`redact_uri`]) or left out ([`uri_hosts`]).

/// A `scheme://[userinfo@]hosts[/path][?options]` URI cut into its parts.
struct UriParts<'a> {
    scheme: &'a str,
    userinfo: Option<&'a str>,
    hosts: &'a str,
    /// Path and options, from the `/` or `?` after the hosts.
    tail: &'a str,
}

/// Splits a URI as the MongoDB driver does when that reading is a plain, valid URI; otherwise
/// (a password written unencoded, holding `@`, `/`, `?` or `:`) cautiously, so the whole
/// password lands in the userinfo.
fn split_uri(uri: &str) -> Option<UriParts<'_>> {
    let (scheme, rest) = uri.split_once("://")?;
    let driver = driver_split(scheme, rest);
    Some(match is_plain(&driver) {
        true => driver,
        false => cautious_split(scheme, rest),
    })
}

/// The driver's reading: options from the first `?`, userinfo up to the last `@` before them.
fn driver_split<'a>(scheme: &'a str, rest: &'a str) -> UriParts<'a> {
    let options = rest.find('?').unwrap_or(rest.len());
    let (userinfo, start) = match rest[..options].rfind('@') {
        Some(at) => (Some(&rest[..at]), at + 1),
        None => (None, 0),
    };
    let hosts_end = rest[start..options]
        .find('/')
        .map_or(options, |i| start + i);
    UriParts {
        scheme,
        userinfo,
        hosts: &rest[start..hosts_end],
        tail: &rest[hosts_end..],
    }
}

/// The userinfo ends at the last `@` that is followed by a host list. An option value holding
/// `@` can make this hide too much, never too little.
fn cautious_split<'a>(scheme: &'a str, rest: &'a str) -> UriParts<'a> {
    let hosts_len = |s: &str| s.find(['/', '?']).unwrap_or(s.len());
    let at = rest
        .rmatch_indices('@')
        .map(|(i, _)| i)
        .find(|&i| is_host_chars(&rest[i + 1..][..hosts_len(&rest[i + 1..])]));
    let (userinfo, after) = match at {
        Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
        None => (None, rest),
    };
    let (hosts, tail) = after.split_at(hosts_len(after));
    UriParts {
        scheme,
        userinfo,
        hosts,
        tail,
    }
}

/// Characters a host list can hold (names, IPv4/IPv6, ports, `,`, percent-encoded socket paths).
fn is_host_chars(s: &str) -> bool {
    let ok = |c: char| c.is_ascii_alphanumeric() || ".-_:,[]%".contains(c);
    !s.is_empty() && s.chars().all(ok)
}

/// A user name and password the driver takes as they are: no reserved character unencoded.
pub fn is_encoded_userinfo(userinfo: &str) -> bool {
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let reserved = |s: &str| s.contains([':', '/', '?', '#', '[', ']', '@']);
    !reserved(user) && !reserved(password)
}

/// `host[:port]` or `[ipv6][:port]`, the port in digits.
fn is_host(item: &str) -> bool {
    let port_ok = |p: &str| p.is_empty() || p.strip_prefix(':').is_some_and(is_digits);
    match item.strip_prefix('[').and_then(|s| s.split_once(']')) {
        Some((ip, port)) => is_host_chars(ip) && port_ok(port),
        None => match item.split_once(':') {
            Some((name, port)) => is_host_chars(name) && is_digits(port),
            None => is_host_chars(item),
        },
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Valid hosts, an encoded userinfo and `key=value` options: a reading the driver accepts.
fn is_plain(parts: &UriParts<'_>) -> bool {
    let option_ok = |o: &str| {
        o.is_empty()
            || o.split_once('=').is_some_and(|(k, _)| {
                !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            })
    };
    let options_ok = match parts.tail.split_once('?') {
        Some((_, query)) => query.split(['&', ';']).all(option_ok),
        None => true,
    };
    parts.userinfo.is_none_or(is_encoded_userinfo)
        && parts.hosts.split(',').all(is_host)
        && options_ok
}

/// True for option names whose value is a credential.
fn is_secret_option(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "token", "authmechanismproperties"]
        .iter()
        .any(|word| key.contains(word))
}

/// Options with credential values (`tlsCertificateKeyFilePassword=...`) replaced by `***`.
fn redact_options(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_string();
    };
    let mut out = format!("{path}?");
    for option in query.split_inclusive(['&', ';']) {
        let (body, sep) = match option.strip_suffix(['&', ';']) {
            Some(body) => (body, &option[body.len()..]),
            None => (option, ""),
        };
        match body.split_once('=') {
            Some((key, _)) if is_secret_option(key) => out += &format!("{key}=***{sep}"),
            _ => out += option,
        }
    }
    out
}

/// The URI with its password replaced by `***` (the user name stays) and credential options
/// masked: `mongodb://u:pa/ss@h/db` → `mongodb://u:***@h/db`. A spec that is not a
/// `scheme://` URI (a file path) is returned unchanged.
pub fn redact_uri(uri: &str) -> String {
    let Some(parts) = split_uri(uri) else {
        return uri.to_string();
    };
    let user = match parts.userinfo {
        Some(info) => match info.split_once(':') {
            Some((user, _)) => format!("{user}:***@"),
            None => format!("{info}@"),
        },
        None => String::new(),
    };
    let (scheme, hosts) = (parts.scheme, parts.hosts);
    format!("{scheme}://{user}{hosts}{}", redact_options(parts.tail))
}

/// The userinfo (`user:password`) of a URI, if it has one, split as [`redact_uri`] splits it.
pub fn uri_userinfo(uri: &str) -> Option<&str> {
    split_uri(uri)?.userinfo
}

/// Only the scheme and hosts of a URI (`mongodb://h1:1,h2:2`): no credentials, path or options.
pub fn uri_hosts(uri: &str) -> String {
    match split_uri(uri) {
        Some(parts) => format!("{}://{}", parts.scheme, parts.hosts),
        None => "(not a URI)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("mongodb://u:pa/ss@h/db", "mongodb://u:***@h/db")]
    #[case("mongodb://u:p@ss@h", "mongodb://u:***@h")]
    #[case(
        "mongodb://u:p?x:y@h1:1,h2:2/?tls=true",
        "mongodb://u:***@h1:1,h2:2/?tls=true"
    )]
    #[case(
        "mongodb+srv://u:secret@cluster.example/",
        "mongodb+srv://u:***@cluster.example/"
    )]
    #[case("mongodb://:secret@h", "mongodb://:***@h")]
    #[case(
        "mongodb://user@h/?authMechanism=MONGODB-X509",
        "mongodb://user@h/?authMechanism=MONGODB-X509"
    )]
    #[case(
        "mongodb://h:27017/?replicaSet=rs0",
        "mongodb://h:27017/?replicaSet=rs0"
    )]
    #[case("mongodb://localhost", "mongodb://localhost")]
    #[case("mongodb://[::1]:1/db", "mongodb://[::1]:1/db")]
    #[case("mongodb://%2Ftmp%2Fm.sock", "mongodb://%2Ftmp%2Fm.sock")]
    #[case(
        "mongodb://h/?tls=true&tlsCertificateKeyFilePassword=kp&w=1",
        "mongodb://h/?tls=true&tlsCertificateKeyFilePassword=***&w=1"
    )]
    #[case(
        "mongodb://u:p@h/?tlsCertificateKeyFilePassword=k@p&tls=true",
        "mongodb://u:***@h/?tlsCertificateKeyFilePassword=***&tls=true"
    )]
    #[case(
        "mongodb://h/?authMechanismProperties=AWS_SESSION_TOKEN:tok;w=1",
        "mongodb://h/?authMechanismProperties=***;w=1"
    )]
    #[case(
        "mongodb://u:pw@h/?tlsCertificateKeyFilePassword=k@p",
        "mongodb://u:***@h/?tlsCertificateKeyFilePassword=***"
    )]
    #[case(
        "mongodb://h:1/?appName=afpool@render01",
        "mongodb://h:1/?appName=afpool@render01"
    )]
    #[case("file:/srv/afpool/pools.json", "file:/srv/afpool/pools.json")]
    #[case("/home/me@corp/pools.json", "/home/me@corp/pools.json")]
    fn redacts_uris(#[case] uri: &str, #[case] shown: &str) {
        assert_eq!(redact_uri(uri), shown);
    }

    /// An unencoded password whose end looks like options is still hidden whole.
    #[rstest]
    #[case("mongodb://u:p?x=1/y@h", "mongodb://u:***@h")]
    #[case("mongodb://u:p/?w=1@h/db", "mongodb://u:***@h/db")]
    #[case("mongodb://u:abc?x@h:1/?tls=true", "mongodb://u:***@h:1/?tls=true")]
    fn unencoded_passwords_are_hidden_whole(#[case] uri: &str, #[case] shown: &str) {
        assert_eq!(redact_uri(uri), shown);
    }

    #[rstest]
    #[case("mongodb://u:p@h1:1,h2:2/admin?tls=true", "mongodb://h1:1,h2:2")]
    #[case("mongodb://u:pa/ss@h/db", "mongodb://h")]
    #[case("mongodb+srv://u@cluster.example", "mongodb+srv://cluster.example")]
    #[case("mongodb://localhost", "mongodb://localhost")]
    fn keeps_only_hosts(#[case] uri: &str, #[case] shown: &str) {
        assert_eq!(uri_hosts(uri), shown);
    }

    #[rstest]
    #[case("mongodb://u:p@ss@h/db", Some("u:p@ss"))]
    #[case("mongodb://u:p?x@h", Some("u:p?x"))]
    #[case("mongodb://h/?x=a@b&y=1", None)]
    #[case("mongodb://u:p%40ss@h/?x=a@b", Some("u:p%40ss"))]
    #[case("file:/a@b", None)]
    fn finds_userinfo(#[case] uri: &str, #[case] userinfo: Option<&str>) {
        assert_eq!(uri_userinfo(uri), userinfo);
    }
}
