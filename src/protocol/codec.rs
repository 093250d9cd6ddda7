//! Reading one Afanasy message from a socket: keep reading until [`super::frame`] says a whole
//! message is there, never past it (afserver never closes first and sends stray bytes after replies).

use tokio::io::{AsyncRead, AsyncReadExt};

use super::budget::Lease;
use super::frame::{parse_reply, parse_request, Frame, FrameError, Framing, MAX_MESSAGE};

/// What reading one message produced. The bytes read are in the caller's buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadOutcome {
    /// A whole message; bytes after `frame.len` (if any) are not part of it.
    Message(Frame),
    /// The bytes are not a message afpool understands; relay them opaquely.
    Opaque,
    /// The bytes start like a JSON framing but cannot be read as afserver would read them:
    /// answer an error in `framing`, forward nothing.
    Unreadable {
        /// The framing the bytes started like.
        framing: Framing,
        /// What is wrong.
        reason: &'static str,
    },
    /// The declared size is over afserver's 64 MiB limit.
    TooLarge(usize),
    /// Reading on would take more of the in-flight byte budget than is free (the declared size).
    OverBudget(usize),
    /// The peer closed before a whole message arrived (the buffer holds what came).
    Closed,
}

/// Which side of the conversation a message comes from (they parse differently).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Client → server.
    Request,
    /// Server → client.
    Reply,
}

const CHUNK: usize = 16 * 1024;

/// Read one message of kind `side` into `buf` (appending).
pub async fn read_message<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    side: Side,
) -> std::io::Result<ReadOutcome> {
    read_message_leased(reader, buf, side, &mut Lease::unlimited()).await
}

/// [`read_message`] whose buffer grows only as far as `lease` covers it.
pub async fn read_message_leased<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    side: Side,
    lease: &mut Lease,
) -> std::io::Result<ReadOutcome> {
    loop {
        let parsed = match side {
            Side::Request => parse_request(buf),
            Side::Reply => parse_reply(buf),
        };
        match parsed {
            Ok(frame) => return Ok(ReadOutcome::Message(frame)),
            Err(FrameError::Invalid(_)) => return Ok(ReadOutcome::Opaque),
            Err(FrameError::Unreadable { framing, reason }) => {
                return Ok(ReadOutcome::Unreadable { framing, reason })
            }
            Err(FrameError::TooLarge(n)) => return Ok(ReadOutcome::TooLarge(n)),
            Err(FrameError::UntilClose) => return read_to_close(reader, buf).await,
            Err(FrameError::Incomplete) => {
                if !lease.cover(buf.len() + CHUNK) {
                    return Ok(ReadOutcome::OverBudget(buf.len() + CHUNK));
                }
                if read_more(reader, buf, CHUNK).await? == 0 {
                    return Ok(ReadOutcome::Closed);
                }
            }
            Err(FrameError::Partial(total)) => {
                let want = partial_growth(buf.len(), total);
                if !lease.cover(buf.len() + want) {
                    return Ok(ReadOutcome::OverBudget(total));
                }
                if read_more(reader, buf, want).await? == 0 {
                    return Ok(ReadOutcome::Closed);
                }
            }
        }
    }
}

/// Of a message announced as `total` bytes, `len` have arrived: how many more to make room for.
/// An announced size is never reserved up front: the buffer grows with the bytes that arrive
/// (at most doubling) until [`COMMITTED`] of the message is here. Then the sender is sending, and
/// the rest is reserved at once: a 10 MB job lands in one buffer of its size instead of being
/// copied at every doubling (those copies, and the fresh pages under them, were a large part of
/// afpool's time on such a job). The reservation is taken from the in-flight budget, so a sender
/// that stops after an eighth holds up to eight times what it sent until the first-message
/// timeout; the memory itself is only touched as bytes arrive.
fn partial_growth(len: usize, total: usize) -> usize {
    let rest = total - len;
    match len >= total / COMMITTED {
        true => rest,
        false => rest.min(len.max(CHUNK)),
    }
}

/// The share of an announced message (one in this many bytes) that must have arrived before the
/// rest is reserved at once ([`partial_growth`]).
const COMMITTED: usize = 8;

async fn read_more<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    want: usize,
) -> std::io::Result<usize> {
    buf.reserve_exact(want.max(1));
    reader.read_buf(buf).await
}

/// An HTTP reply without Content-Length ends when the server closes.
async fn read_to_close<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
) -> std::io::Result<ReadOutcome> {
    let mut limited = reader.take((MAX_MESSAGE + CHUNK) as u64);
    limited.read_to_end(buf).await?;
    Ok(ReadOutcome::Closed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_a_message_delivered_one_byte_at_a_time_and_stops_at_its_end() {
        let reply = b"AFANASY 8 JSON{\"id\":1}";
        let mut builder = tokio_test_reader(reply, b"  ");
        let mut buf = Vec::new();
        let out = read_message(&mut builder, &mut buf, Side::Reply)
            .await
            .unwrap();
        let ReadOutcome::Message(frame) = out else {
            panic!("{out:?}")
        };
        assert_eq!(&buf[..frame.len], reply);
    }

    #[tokio::test]
    async fn closed_before_the_end_is_reported() {
        let mut reader: &[u8] = b"AFANASY 80 JSON{\"id\"";
        let mut buf = Vec::new();
        let out = read_message(&mut reader, &mut buf, Side::Reply)
            .await
            .unwrap();
        assert_eq!(out, ReadOutcome::Closed);
        assert_eq!(buf, b"AFANASY 80 JSON{\"id\"");
    }

    #[tokio::test]
    async fn an_announced_size_is_not_reserved_before_the_bytes_arrive() {
        let mut request = [
            &81i32.to_be_bytes()[..],
            &24i32.to_be_bytes(),
            &(64i32 << 20).to_be_bytes(),
        ]
        .concat();
        request.extend_from_slice(&[b' '; 100]);
        let mut reader: &[u8] = &request;
        let mut buf = Vec::new();
        let out = read_message(&mut reader, &mut buf, Side::Request)
            .await
            .unwrap();
        assert_eq!(out, ReadOutcome::Closed);
        assert_eq!(buf.len(), 112);
        assert!(
            buf.capacity() <= 4 * CHUNK,
            "{} bytes reserved",
            buf.capacity()
        );
    }

    #[test]
    fn an_announced_message_is_reserved_whole_once_an_eighth_has_arrived() {
        let total = 10_000_000;
        let (mut len, mut steps) = (0, Vec::new());
        while len < total {
            let want = partial_growth(len, total);
            assert!(want > 0 && len + want <= total);
            if len < total / COMMITTED {
                assert!(want <= len.max(CHUNK), "{want} bytes reserved after {len}");
            }
            len += want;
            steps.push(len);
        }
        assert_eq!(steps.last(), Some(&total));
        let before_the_eighth = steps.iter().filter(|&&l| l < total / COMMITTED).count();
        assert_eq!(steps.len(), before_the_eighth + 2, "{steps:?}");
        assert_eq!(partial_growth(0, 100), 100);
    }

    #[tokio::test]
    async fn a_message_past_the_free_budget_stops_before_growing() {
        let budget = crate::protocol::budget::Budget::new(256 * 1024, 32 * 1024);
        let mut hog = budget.lease();
        assert!(hog.cover(200 * 1024));
        let mut request = [
            &81i32.to_be_bytes()[..],
            &24i32.to_be_bytes(),
            &100_000i32.to_be_bytes(),
        ]
        .concat();
        request.resize(12 + 100_000, b' ');
        let mut reader: &[u8] = &request;
        let (mut buf, mut lease) = (Vec::new(), budget.lease());
        let out = read_message_leased(&mut reader, &mut buf, Side::Request, &mut lease)
            .await
            .unwrap();
        assert_eq!(out, ReadOutcome::OverBudget(100_012));
        assert!(buf.capacity() <= 32 * 1024, "{} bytes", buf.capacity());
        drop(hog);
        let mut reader: &[u8] = &request;
        let mut buf = Vec::new();
        let out = read_message_leased(&mut reader, &mut buf, Side::Request, &mut lease)
            .await
            .unwrap();
        assert!(
            matches!(out, ReadOutcome::Message(ref f) if f.len == request.len()),
            "{out:?}"
        );
    }

    #[tokio::test]
    async fn http_reply_without_length_runs_to_close() {
        let mut reader: &[u8] = b"HTTP/1.0 404 Not Found\r\n\r\n";
        let mut buf = Vec::new();
        let out = read_message(&mut reader, &mut buf, Side::Reply)
            .await
            .unwrap();
        assert_eq!((out, buf.len()), (ReadOutcome::Closed, 26));
    }

    #[tokio::test]
    async fn a_request_afserver_could_not_frame_is_unreadable_not_opaque() {
        let mut reader: &[u8] = b"AFANASY -5 JSON{}";
        let mut buf = Vec::new();
        let out = read_message(&mut reader, &mut buf, Side::Request)
            .await
            .unwrap();
        assert_eq!(
            out,
            ReadOutcome::Unreadable {
                framing: Framing::Text,
                reason: "negative size in the AFANASY header"
            }
        );
    }

    /// A reader that yields `msg` one byte per read, then `tail` (which must never be consumed).
    fn tokio_test_reader(msg: &[u8], tail: &[u8]) -> impl AsyncRead + Unpin {
        let mut chunks: std::collections::VecDeque<Vec<u8>> =
            msg.iter().map(|b| vec![*b]).collect();
        chunks.push_back(tail.to_vec());
        OneByte(chunks)
    }

    struct OneByte(std::collections::VecDeque<Vec<u8>>);

    impl AsyncRead for OneByte {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            out: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            let next = self.0.pop_front();
            assert!(
                next.as_deref() != Some(&b"  "[..]),
                "read past the end of the message"
            );
            if let Some(chunk) = next {
                out.put_slice(&chunk);
            }
            std::task::Poll::Ready(Ok(()))
        }
    }
}
