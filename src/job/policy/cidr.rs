//! [`Network`]: one source network of a pool's ACL, an address or a CIDR (`10.1.0.0/16`,
//! `127.0.0.1`, `fd00::/8`). An IPv4 client seen through an IPv6 socket (`::ffff:10.1.2.3`) is
//! matched as the IPv4 address it is.

use std::net::IpAddr;

/// An address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// Reads `text`; the error says why it is no network. Host bits set under the prefix
    /// (`10.1.2.3/16`) are refused, since they usually mean a typo.
    pub fn parse(text: &str) -> Result<Network, String> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("'{addr}' is no IPv4 or IPv6 address"))?;
        let addr = canonical(addr);
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) => match p.trim().parse::<u8>() {
                Ok(n) if n <= bits => n,
                _ => return Err(format!("the prefix length must be 0..={bits}, not '{p}'")),
            },
        };
        let net = Network { addr, prefix };
        if !net.contains(addr) || net.base() != bits_of(addr) {
            return Err(format!(
                "host bits are set under /{prefix}; the network is {}",
                net.masked()
            ));
        }
        Ok(net)
    }

    /// True when `peer` lies in the network.
    pub fn contains(&self, peer: IpAddr) -> bool {
        let peer = canonical(peer);
        if peer.is_ipv4() != self.addr.is_ipv4() {
            return false;
        }
        let shift = width(peer) - u32::from(self.prefix);
        let mask = |v: u128| v.checked_shr(shift).unwrap_or(0);
        mask(bits_of(peer)) == mask(bits_of(self.addr))
    }

    fn base(&self) -> u128 {
        let shift = width(self.addr) - u32::from(self.prefix);
        bits_of(self.addr)
            .checked_shr(shift)
            .unwrap_or(0)
            .checked_shl(shift)
            .unwrap_or(0)
    }

    fn masked(&self) -> String {
        let base = self.base();
        let addr = match self.addr {
            IpAddr::V4(_) => IpAddr::V4((base as u32).into()),
            IpAddr::V6(_) => IpAddr::V6(base.into()),
        };
        format!("{addr}/{}", self.prefix)
    }
}

/// An IPv4-mapped IPv6 address as IPv4; anything else as it is.
pub fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

fn width(addr: IpAddr) -> u32 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}

fn bits_of(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_parse_and_match() {
        let cases: &[(&str, &str, bool)] = &[
            ("127.0.0.0/8", "127.0.0.1", true),
            ("127.0.0.0/8", "::ffff:127.0.0.1", true),
            ("10.0.0.0/8", "127.0.0.1", false),
            ("10.1.0.0/16", "10.1.255.3", true),
            ("10.1.0.0/16", "10.2.0.1", false),
            ("0.0.0.0/0", "192.168.1.1", true),
            ("0.0.0.0/0", "::1", false),
            ("192.168.1.7", "192.168.1.7", true),
            ("192.168.1.7", "192.168.1.8", false),
            ("fd00::/8", "fd12::1", true),
            ("fd00::/8", "fe80::1", false),
            ("::/0", "fe80::1", true),
            ("::1", "::1", true),
        ];
        for (net, peer, expect) in cases {
            let n = Network::parse(net).unwrap_or_else(|e| panic!("{net}: {e}"));
            assert_eq!(n.contains(peer.parse().unwrap()), *expect, "{net} ∋ {peer}");
        }
    }

    #[test]
    fn bad_networks_say_why() {
        let cases: &[(&str, &str)] = &[
            ("10.1.2.3/16", "the network is 10.1.0.0/16"),
            ("10.0.0.0/33", "0..=32"),
            ("10.0.0/8", "no IPv4 or IPv6 address"),
            ("studio", "no IPv4 or IPv6 address"),
            ("fd00::/129", "0..=128"),
            ("10.0.0.0/x", "not 'x'"),
        ];
        for (net, why) in cases {
            let e = Network::parse(net).expect_err(net);
            assert!(e.contains(why), "{net}: {e}");
        }
    }
}
