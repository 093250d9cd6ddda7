//! Writing the envelope back: keys JSON-escaped, compact between keys, values copied verbatim, and
//! an unchanged block's exact request text. Written either into one buffer ([`envelope`]) or as
//! [`Parts`], where long stretches of request text are borrowed in place instead of copied.

use std::borrow::Cow;

use super::{Block, Envelope, Job, JobField, Raw, TopField};

/// Request text at least this long is borrowed by [`Parts`] rather than copied: a task list of
/// megabytes is sent from the request's own buffer, while a job of a few kilobytes stays one piece.
pub(crate) const BORROW_FROM: usize = 64 * 1024;

/// The envelope as JSON bytes.
pub(super) fn envelope(env: &Envelope<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(size_hint(env));
    write_envelope(&mut out, env);
    out
}

/// The envelope as [`Parts`].
pub(super) fn envelope_parts<'a>(env: &Envelope<'a>) -> Parts<'a> {
    let mut out = Parts::default();
    write_envelope(&mut out, env);
    out.finish()
}

/// A written body in pieces, in order: afpool's own bytes, and request text borrowed in place.
/// The bytes are those [`envelope`] writes; a socket takes the pieces in one `writev`.
#[derive(Debug, Default)]
pub struct Parts<'a> {
    pieces: Vec<Cow<'a, [u8]>>,
    current: Vec<u8>,
}

impl<'a> Parts<'a> {
    /// The pieces, in order (none empty).
    pub fn pieces(&self) -> impl Iterator<Item = &[u8]> {
        self.pieces.iter().map(|p| &p[..])
    }

    /// The body's length in bytes.
    pub fn len(&self) -> usize {
        self.pieces.iter().map(|p| p.len()).sum()
    }

    /// True when the body has no bytes.
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// The body as one buffer.
    pub fn to_vec(&self) -> Vec<u8> {
        self.pieces.concat()
    }

    fn finish(mut self) -> Self {
        self.cut();
        self
    }

    /// Ends the piece of own bytes being written.
    fn cut(&mut self) {
        if !self.current.is_empty() {
            self.pieces
                .push(Cow::Owned(std::mem::take(&mut self.current)));
        }
    }
}

impl From<Vec<u8>> for Parts<'_> {
    /// A body written in one buffer elsewhere.
    fn from(body: Vec<u8>) -> Self {
        Parts {
            pieces: Vec::new(),
            current: body,
        }
        .finish()
    }
}

/// Where the writer puts bytes: `own` for bytes it made, `text` for request text that lives as
/// long as the request.
trait Sink<'a> {
    fn own(&mut self, bytes: &[u8]);
    fn text(&mut self, text: &'a str);
}

impl<'a> Sink<'a> for Vec<u8> {
    fn own(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    fn text(&mut self, text: &'a str) {
        self.extend_from_slice(text.as_bytes());
    }
}

impl<'a> Sink<'a> for Parts<'a> {
    fn own(&mut self, bytes: &[u8]) {
        self.current.extend_from_slice(bytes);
    }
    fn text(&mut self, text: &'a str) {
        if text.len() < BORROW_FROM {
            return self.current.extend_from_slice(text.as_bytes());
        }
        self.cut();
        self.pieces.push(Cow::Borrowed(text.as_bytes()));
    }
}

/// A sink's own bytes as an `io::Write`, for serde_json to escape keys into.
struct Own<'s, S>(&'s mut S);

impl<'a, S: Sink<'a>> std::io::Write for Own<'_, S> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.own(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn raw<'a, S: Sink<'a>>(out: &mut S, raw: &Raw<'a>) {
    match raw {
        Raw::In(text) => out.text(text),
        Raw::New(text) => out.own(text.as_bytes()),
    }
}

fn write_envelope<'a, S: Sink<'a>>(out: &mut S, env: &Envelope<'a>) {
    object(out, env.fields.iter(), |out, value| match value {
        TopField::Value(text) => out.text(text),
        TopField::Job(job) => write_job(out, job),
        TopField::NotObject(_) => unreachable!("a job that is not an object is never forwarded"),
    });
}

fn write_job<'a, S: Sink<'a>>(out: &mut S, job: &Job<'a>) {
    object(out, job.fields.iter(), |out, value| match value {
        JobField::Value(v) => raw(out, v),
        JobField::Blocks(blocks) => {
            out.own(b"[");
            for (i, block) in blocks.iter().enumerate() {
                if i > 0 {
                    out.own(b",");
                }
                write_block(out, block);
            }
            out.own(b"]");
        }
        JobField::NotArray(_) => {
            unreachable!("a job whose blocks are not an array is never forwarded")
        }
    });
}

fn write_block<'a, S: Sink<'a>>(out: &mut S, block: &Block<'a>) {
    match (block.verbatim, &block.fields) {
        (Some(text), _) => out.text(text),
        (None, Some(fields)) => object(out, fields.iter(), raw),
        (None, None) => unreachable!("a block that is not an object is never forwarded"),
    }
}

/// Writes `{"key":value,...}` with `value` written by `write`.
fn object<'v, 'a: 'v, S: Sink<'a>, V: 'v>(
    out: &mut S,
    entries: impl Iterator<Item = (&'v Cow<'v, str>, &'v V)>,
    write: impl Fn(&mut S, &'v V),
) {
    out.own(b"{");
    for (i, (key, value)) in entries.enumerate() {
        if i > 0 {
            out.own(b",");
        }
        serde_json::to_writer(Own(out), key).expect("writing to memory cannot fail");
        out.own(b":");
        write(out, value);
    }
    out.own(b"}");
}

/// Roughly the output size: the job's blocks dominate.
fn size_hint(env: &Envelope<'_>) -> usize {
    let blocks = env.fields.values().filter_map(|f| match f {
        TopField::Job(job) => Some(job),
        _ => None,
    });
    let block_len = |b: &Block<'_>| match (b.verbatim, &b.fields) {
        (Some(t), _) => t.len(),
        (None, Some(f)) => f.iter().map(|(k, v)| k.len() + v.text().len() + 4).sum(),
        (None, None) => 0,
    };
    let job_len = |job: &Job<'_>| -> usize {
        job.fields
            .iter()
            .map(|(k, v)| {
                k.len()
                    + 4
                    + match v {
                        JobField::Value(raw) => raw.text().len(),
                        JobField::Blocks(b) => b.iter().map(block_len).sum::<usize>() + b.len(),
                        JobField::NotArray(_) => 0,
                    }
            })
            .sum()
    };
    blocks.map(job_len).sum::<usize>() + 256
}

#[cfg(test)]
mod tests {
    use super::super::{Envelope, Fields};
    use super::BORROW_FROM;

    fn body(tasks: usize) -> String {
        let tasks: Vec<String> = (0..tasks)
            .map(|i| format!(r#"{{"name": "t{i}", "command": "render -f {i}"}}"#))
            .collect();
        format!(
            r#"{{"job": {{"name": "j", "blocks": [{{"name": "a", "tasks": [{}]}}, {{"name": "b"}}], "z": 1}}}}"#,
            tasks.join(", ")
        )
    }

    #[test]
    fn parts_hold_the_bytes_to_vec_writes() {
        for tasks in [0, 1, 10, 5_000] {
            let text = body(tasks);
            let mut env = Envelope::parse(text.as_bytes()).unwrap();
            let parts = env.to_parts();
            assert_eq!(parts.to_vec(), env.to_vec(), "{tasks} tasks");
            assert_eq!(parts.len(), env.to_vec().len());
            let job = env.job_mut().unwrap();
            job.blocks_mut()[0].set_str("hosts_mask", "r.*");
            job.set_str("name", "k");
            assert_eq!(
                env.to_parts().to_vec(),
                env.to_vec(),
                "{tasks} tasks, changed"
            );
        }
    }

    #[test]
    fn long_request_text_is_borrowed_and_short_bodies_are_one_piece() {
        let small = body(10);
        let env = Envelope::parse(small.as_bytes()).unwrap();
        assert_eq!(env.to_parts().pieces().count(), 1);

        let big = body(5_000);
        assert!(big.len() > 2 * BORROW_FROM);
        let mut env = Envelope::parse(big.as_bytes()).unwrap();
        env.job_mut().unwrap().blocks_mut()[0].set_str("hosts_mask", "r.*");
        let parts = env.to_parts();
        let inside = |p: &[u8]| big.as_bytes().as_ptr_range().contains(&p.as_ptr());
        let borrowed: Vec<usize> = parts
            .pieces()
            .filter(|p| inside(p))
            .map(<[u8]>::len)
            .collect();
        assert_eq!(borrowed.len(), 1, "the task list, in place");
        assert!(
            borrowed[0] > big.len() - 200,
            "{borrowed:?} of {}",
            big.len()
        );
        assert!(parts.pieces().all(|p| !p.is_empty()));
    }
}
