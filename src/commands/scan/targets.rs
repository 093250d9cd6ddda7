//! What `afpool scan` probes (pure): IPv4 ranges in CIDR notation expanded to host addresses,
//! and TCP port lists.
//!
//! Unlike the old Pool Manager's scan (always the /24 of whatever `gethostbyname(gethostname())`
//! returned, 127.0.1.1 on many Linux machines), the ranges are the ones asked for; each may be
//! at most a /16 (65,534 hosts) unless forced. The network and broadcast addresses of ranges up
//! to /30 are not probed; /31 and /32 are all hosts. Only TCP ports: the old list's 137 and 138
//! are UDP, which a TCP connect cannot probe.

use std::net::Ipv4Addr;

/// The default ports: SSH, SMB, RDP (Linux, Windows and macOS render machines).
pub const DEFAULT_PORTS: &[u16] = &[22, 445, 3389];
/// The largest range probed without `--force`.
pub const MAX_PREFIX_WITHOUT_FORCE: u8 = 16;

/// Why a range or port list is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not `A.B.C.D` or `A.B.C.D/N`.
    #[error("'{0}' is not an IPv4 range (A.B.C.D/N) or address")]
    BadRange(String),
    /// Larger than a /16 without `--force`.
    #[error("'{0}' has {1} addresses, more than a /16: narrow it, or pass --force")]
    TooLarge(String, u64),
    /// Not a port list.
    #[error("'{0}' is not a port list (e.g. 22,445,3389 or 5900-5910, or +8080 for the defaults plus 8080)")]
    BadPorts(String),
}

/// One IPv4 range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// The network address (host bits cleared).
    pub network: Ipv4Addr,
    /// Prefix length, 0..=32.
    pub prefix: u8,
}

impl Range {
    /// Parses `A.B.C.D/N` or a single address (`/32`).
    pub fn parse(text: &str) -> Result<Range, TargetError> {
        let bad = || TargetError::BadRange(text.to_string());
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((addr, prefix)) => (addr, prefix.parse::<u8>().map_err(|_| bad())?),
            None => (text.trim(), 32),
        };
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        if prefix > 32 {
            return Err(bad());
        }
        let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
        Ok(Range {
            network: Ipv4Addr::from(u32::from(addr) & mask),
            prefix,
        })
    }

    /// How many addresses the range spans.
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.prefix))
    }

    /// The host addresses to probe, in order.
    pub fn hosts(&self) -> impl Iterator<Item = Ipv4Addr> {
        let first = u64::from(u32::from(self.network));
        let (start, end) = match self.prefix {
            31 | 32 => (first, first + self.size()),
            _ => (first + 1, first + self.size() - 1),
        };
        (start..end).map(|n| Ipv4Addr::from(n as u32))
    }
}

/// Every host address of `ranges`, each once, in the order given; ranges larger than a /16
/// are refused unless `force`.
pub fn expand(ranges: &[String], force: bool) -> Result<Vec<Ipv4Addr>, TargetError> {
    let mut parsed = Vec::with_capacity(ranges.len());
    for text in ranges {
        let range = Range::parse(text)?;
        if range.prefix < MAX_PREFIX_WITHOUT_FORCE && !force {
            return Err(TargetError::TooLarge(text.clone(), range.size()));
        }
        parsed.push(range);
    }
    let mut seen = std::collections::HashSet::new();
    let all = parsed.iter().flat_map(Range::hosts);
    Ok(all.filter(|ip| seen.insert(*ip)).collect())
}

/// Parses `22,445,3389`, ranges `5900-5910`, or `+LIST` (the defaults plus LIST); sorted, each
/// once. Port 0 is refused.
pub fn parse_ports(text: &str) -> Result<Vec<u16>, TargetError> {
    let bad = || TargetError::BadPorts(text.to_string());
    let (mut ports, list) = match text.trim().strip_prefix('+') {
        Some(extra) => (DEFAULT_PORTS.to_vec(), extra),
        None => (Vec::new(), text.trim()),
    };
    for item in list.split(',').map(str::trim) {
        let (low, high) = item.split_once('-').unwrap_or((item, item));
        let low: u16 = low.trim().parse().map_err(|_| bad())?;
        let high: u16 = high.trim().parse().map_err(|_| bad())?;
        if low == 0 || high < low {
            return Err(bad());
        }
        ports.extend(low..=high);
    }
    ports.sort_unstable();
    ports.dedup();
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn ips(list: &[&str]) -> Vec<Ipv4Addr> {
        list.iter().map(|ip| ip.parse().unwrap()).collect()
    }

    #[rstest]
    #[case::slash29("127.0.0.0/29", &["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"])]
    #[case::host_bits_cleared("127.0.0.5/30", &["127.0.0.5", "127.0.0.6"])]
    #[case::slash31("10.0.0.0/31", &["10.0.0.0", "10.0.0.1"])]
    #[case::slash32("10.0.0.7/32", &["10.0.0.7"])]
    #[case::bare_address("192.168.1.107", &["192.168.1.107"])]
    fn expands_ranges_to_hosts(#[case] range: &str, #[case] expected: &[&str]) {
        assert_eq!(expand(&[range.to_string()], false).unwrap(), ips(expected));
    }

    #[test]
    fn counts_and_merges_ranges() {
        let hosts = expand(&["192.168.0.0/24".into()], false).unwrap();
        assert_eq!(hosts.len(), 254);
        assert_eq!(
            expand(&["10.1.0.0/16".into()], false).unwrap().len(),
            65_534
        );
        let both = ["127.0.0.0/30".to_string(), "127.0.0.0/29".to_string()];
        assert_eq!(expand(&both, false).unwrap().len(), 6);
    }

    #[rstest]
    #[case::too_large("10.0.0.0/15", TargetError::TooLarge("10.0.0.0/15".into(), 131_072))]
    #[case::everything("0.0.0.0/0", TargetError::TooLarge("0.0.0.0/0".into(), 1 << 32))]
    #[case::prefix_33("10.0.0.0/33", TargetError::BadRange("10.0.0.0/33".into()))]
    #[case::ipv6("fe80::/64", TargetError::BadRange("fe80::/64".into()))]
    #[case::name("render01", TargetError::BadRange("render01".into()))]
    #[case::no_prefix("10.0.0.0/", TargetError::BadRange("10.0.0.0/".into()))]
    fn refuses_bad_or_large_ranges(#[case] range: &str, #[case] error: TargetError) {
        assert_eq!(expand(&[range.to_string()], false), Err(error));
    }

    #[test]
    fn force_allows_large_ranges() {
        assert_eq!(
            expand(&["10.0.0.0/15".into()], true).unwrap().len(),
            131_070
        );
    }

    #[rstest]
    #[case::one("22", &[22])]
    #[case::list(" 3389, 22 ,445,22", &[22, 445, 3389])]
    #[case::span("5900-5902", &[5900, 5901, 5902])]
    #[case::extra("+8080", &[22, 445, 3389, 8080])]
    #[case::extra_span("+ 1-2", &[1, 2, 22, 445, 3389])]
    #[case::max("65535", &[65535])]
    fn parses_port_lists(#[case] text: &str, #[case] expected: &[u16]) {
        assert_eq!(parse_ports(text).unwrap(), expected);
    }

    #[rstest]
    #[case("")]
    #[case("0")]
    #[case("65536")]
    #[case("22,")]
    #[case("10-5")]
    #[case("ssh")]
    #[case("137/udp")]
    fn refuses_bad_port_lists(#[case] text: &str) {
        assert_eq!(parse_ports(text), Err(TargetError::BadPorts(text.into())));
    }
}
