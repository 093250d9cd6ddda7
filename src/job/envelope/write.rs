//! Writing the envelope back: keys JSON-escaped, compact between keys, values copied verbatim, and
//! an unchanged block's exact request text.

use std::borrow::Cow;

use super::{Block, Envelope, Job, JobField, Raw, TopField};

/// The envelope as JSON bytes.
pub(super) fn envelope(env: &Envelope<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(size_hint(env));
    object(&mut out, env.fields.iter(), |out, value| match value {
        TopField::Value(text) => out.extend_from_slice(text.as_bytes()),
        TopField::Job(job) => write_job(out, job),
        TopField::NotObject(_) => unreachable!("a job that is not an object is never forwarded"),
    });
    out
}

fn write_job(out: &mut Vec<u8>, job: &Job<'_>) {
    object(out, job.fields.iter(), |out, value| match value {
        JobField::Value(raw) => out.extend_from_slice(raw.text().as_bytes()),
        JobField::Blocks(blocks) => {
            out.push(b'[');
            for (i, block) in blocks.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_block(out, block);
            }
            out.push(b']');
        }
        JobField::NotArray(_) => {
            unreachable!("a job whose blocks are not an array is never forwarded")
        }
    });
}

fn write_block(out: &mut Vec<u8>, block: &Block<'_>) {
    match (block.verbatim, &block.fields) {
        (Some(text), _) => out.extend_from_slice(text.as_bytes()),
        (None, Some(fields)) => object(out, fields.iter(), |out, raw: &Raw<'_>| {
            out.extend_from_slice(raw.text().as_bytes())
        }),
        (None, None) => unreachable!("a block that is not an object is never forwarded"),
    }
}

/// Writes `{"key":value,...}` with `value` written by `write`.
fn object<'v, V: 'v>(
    out: &mut Vec<u8>,
    entries: impl Iterator<Item = (&'v Cow<'v, str>, &'v V)>,
    write: impl Fn(&mut Vec<u8>, &V),
) {
    out.push(b'{');
    for (i, (key, value)) in entries.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, key).expect("writing to a Vec cannot fail");
        out.push(b':');
        write(out, value);
    }
    out.push(b'}');
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
