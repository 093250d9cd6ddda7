use super::*;

/// A version 2 PROXY header for TCP over IPv4 from `src:sport` to `dst:dport`, written out by hand
/// from HAProxy's specification (not by the crate that parses it).
fn v2_tcp4(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> Vec<u8> {
    let mut h = V2_SIGNATURE.to_vec();
    h.extend([0x21, 0x11, 0x00, 0x0c]);
    h.extend(src);
    h.extend(dst);
    h.extend(sport.to_be_bytes());
    h.extend(dport.to_be_bytes());
    h
}

fn v2_local() -> Vec<u8> {
    let mut h = V2_SIGNATURE.to_vec();
    h.extend([0x20, 0x00, 0x00, 0x00]);
    h
}

fn addr(s: &str) -> Option<SocketAddr> {
    Some(s.parse().unwrap())
}

#[test]
fn headers_are_told_from_messages_and_read() {
    let v1 = b"PROXY TCP4 10.1.2.3 10.0.0.1 40000 51100\r\n".to_vec();
    let v1_6 = b"PROXY TCP6 fd00::7 fd00::1 40001 51100\r\n".to_vec();
    let v2 = v2_tcp4([10, 9, 8, 7], 40002, [10, 0, 0, 1], 51100);
    let with_message = |h: &[u8]| [h, b"AFANASY 5 JSON".as_slice()].concat();
    let cases: Vec<(&str, Vec<u8>, Header)> = vec![
        ("empty", vec![], Header::Incomplete),
        (
            "afanasy text frame",
            b"AFANASY 12 JSON".to_vec(),
            Header::Absent,
        ),
        (
            "http framing",
            b"POST / HTTP/1.1\r\n".to_vec(),
            Header::Absent,
        ),
        (
            "binary frame",
            vec![0, 0, 0, 3, 0, 0, 0, 23],
            Header::Absent,
        ),
        ("v1 prefix only", b"PROX".to_vec(), Header::Incomplete),
        ("v1 without its end", v1[..20].to_vec(), Header::Incomplete),
        (
            "v1 tcp4",
            with_message(&v1),
            Header::Complete {
                len: v1.len(),
                source: addr("10.1.2.3:40000"),
            },
        ),
        (
            "v1 tcp6",
            v1_6.clone(),
            Header::Complete {
                len: v1_6.len(),
                source: addr("[fd00::7]:40001"),
            },
        ),
        (
            "v1 unknown",
            b"PROXY UNKNOWN\r\n".to_vec(),
            Header::Complete {
                len: 15,
                source: None,
            },
        ),
        (
            "v2 signature start",
            V2_SIGNATURE[..5].to_vec(),
            Header::Incomplete,
        ),
        ("v2 fixed part short", v2[..14].to_vec(), Header::Incomplete),
        ("v2 addresses short", v2[..20].to_vec(), Header::Incomplete),
        (
            "v2 tcp4",
            with_message(&v2),
            Header::Complete {
                len: 28,
                source: addr("10.9.8.7:40002"),
            },
        ),
        (
            "v2 local",
            v2_local(),
            Header::Complete {
                len: 16,
                source: None,
            },
        ),
    ];
    for (what, bytes, want) in cases {
        assert_eq!(parse(&bytes), want, "{what}");
    }
}

#[test]
fn bad_headers_are_invalid() {
    let too_long = [b"PROXY TCP4 ".as_slice(), &[b'1'; 120]].concat();
    let mut v2_bad_version = v2_tcp4([1, 2, 3, 4], 1, [5, 6, 7, 8], 2);
    v2_bad_version[12] = 0x31;
    for (what, bytes) in [
        (
            "v1 bad protocol",
            b"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n".to_vec(),
        ),
        (
            "v1 bad address",
            b"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n".to_vec(),
        ),
        ("v1 too long", too_long),
        ("v2 bad version", v2_bad_version),
    ] {
        assert!(
            matches!(parse(&bytes), Header::Invalid(_)),
            "{what}: {:?}",
            parse(&bytes)
        );
    }
}

#[test]
fn trusted_relays_are_networks_or_addresses() {
    let trusted = TrustedRelays::parse(&["10.1.0.0/16", " 192.168.5.5 ", "::1"]).unwrap();
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert!(trusted.trusts(ip("10.1.200.3")) && !trusted.trusts(ip("10.2.0.1")));
    assert!(trusted.trusts(ip("192.168.5.5")) && !trusted.trusts(ip("192.168.5.6")));
    assert!(trusted.trusts(ip("::1")) && trusted.trusts(ip("::ffff:10.1.0.9")));
    assert!(TrustedRelays::default().is_empty() && !trusted.is_empty());
    let bad = TrustedRelays::parse(&["10.1.0.0/16", "relay.studio"]).unwrap_err();
    assert!(bad.contains("'relay.studio'"), "{bad}");
}

#[tokio::test]
async fn the_client_is_the_header_source_only_from_a_trusted_relay() {
    let relay: SocketAddr = "10.0.0.5:33000".parse().unwrap();
    let other: SocketAddr = "10.7.0.9:33001".parse().unwrap();
    let trusted = TrustedRelays::parse(&["10.0.0.5"]).unwrap();
    let message = b"AFANASY 5 JSON{...}".as_slice();
    let header = v2_tcp4([10, 3, 3, 3], 41000, [10, 0, 0, 1], 51100);
    // The header arrives in two pieces; what follows it stays, the start of the message.
    let sent = [header.as_slice(), message].concat();
    let mut reader = tokio_test_reader(&sent, 7);
    let mut buf = Vec::new();
    let client = client_of(&mut reader, &mut buf, relay, &trusted)
        .await
        .unwrap();
    assert_eq!(client, "10.3.3.3:41000".parse().unwrap());
    reader.read_to_end(&mut buf).await.unwrap();
    assert_eq!(buf, message);

    let mut buf = Vec::new();
    let refused = client_of(&mut sent.as_slice(), &mut buf, other, &trusted).await;
    assert_eq!(refused, Err(Refused::Untrusted(other.ip())));

    let mut buf = Vec::new();
    let direct = client_of(&mut &message[..], &mut buf, other, &trusted).await;
    assert_eq!(direct, Ok(other));
    assert!(message.starts_with(&buf) && !buf.is_empty());

    let mut buf = Vec::new();
    let cut = client_of(&mut &header[..20], &mut buf, relay, &trusted).await;
    assert!(matches!(cut, Err(Refused::Invalid { .. })), "{cut:?}");
    let mut buf = Vec::new();
    let nothing = client_of(&mut &b""[..], &mut buf, relay, &trusted).await;
    assert_eq!(nothing, Err(Refused::Closed(relay.ip())));
}

/// A reader that hands out `bytes` at most `step` bytes per read.
fn tokio_test_reader(bytes: &[u8], step: usize) -> impl AsyncRead + Unpin {
    Trickle(bytes.to_vec(), step)
}

struct Trickle(Vec<u8>, usize);

impl AsyncRead for Trickle {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        out: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let n = self.1.min(self.0.len()).min(out.remaining());
        out.put_slice(&self.0[..n]);
        self.0.drain(..n);
        std::task::Poll::Ready(Ok(()))
    }
}
