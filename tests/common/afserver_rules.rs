//! What afserver 3.4.1 does with a submitted job, read from its source (CGRU `8d7e3003`) and
//! checked on a real afserver, written for the fake afserver independently of afpool's shield:
//! it walks the job the way `af::Job::jsonRead` / `BlockData::jsonRead` / `TaskData::jsonRead`
//! do (rapidjson, first duplicate key already resolved by the caller) and says whether afserver
//! would crash, or accept something that breaks it (JSON it writes back unescaped, a job that can
//! never run). Tests assert that nothing harmful is ever forwarded.
#![allow(dead_code)]

use serde_json::{Map, Value};

/// Why a job is harmful to afserver 3.4.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Harm {
    /// afserver 3.4.1 crashes: registration fails and `JobContainer::registerJob` dereferences
    /// the NULL job, or it reads memory it does not own.
    Crash(String),
    /// afserver registers the job, but writes invalid JSON for it (replies, job store: the job is
    /// lost at restart), cuts a string at a NUL, or can never run it.
    Corrupt(String),
}

/// True when afserver 3.4.1 would crash on `job` (the `job` object of a submission).
pub fn crashes(job: &Value) -> bool {
    matches!(judge(job), Some(Harm::Crash(_)))
}

/// What afserver 3.4.1 would suffer from `job`, if anything (the first harm found).
pub fn judge(job: &Value) -> Option<Harm> {
    let Some(job) = job.as_object() else {
        return crash("the job is not an object (Job::jsonRead fails)");
    };
    // Job::isValid (job.cpp:290): the user name as a C string, so a NUL cuts it.
    let user = string(job, "user_name").unwrap_or_default();
    if user.split('\0').next().unwrap_or("").is_empty() {
        return crash("empty user_name");
    }
    // Node::jsonRead reads "id"; AfContainer::add then fails on a taken or out-of-range id.
    if let Some(id) = int32(job, "id").filter(|id| *id != 0) {
        return crash(format!(
            "id {id} (taken ids and ids outside the table fail)"
        ));
    }
    let blocks = match job.get("blocks").and_then(Value::as_array) {
        Some(b) if !b.is_empty() => b,
        _ => return crash("no blocks array, or an empty one"),
    };
    if let Some(harm) = text_harm(job, JOB_FIELDS, &[("folders", true), ("pools", false)]) {
        return Some(harm);
    }
    blocks
        .iter()
        .enumerate()
        .find_map(|(i, b)| block_harm(i, b))
}

fn crash(why: impl Into<String>) -> Option<Harm> {
    Some(Harm::Crash(why.into()))
}

fn corrupt(why: impl Into<String>) -> Option<Harm> {
    Some(Harm::Corrupt(why.into()))
}

/// `jr_string`: only a JSON string is read.
fn string<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str)
}

/// `jr_int64`: only an integer that fits int64. rapidjson reads `-0` as the integer 0, serde_json
/// as the float -0.0 (which `-0.0` also gives, a double to rapidjson): read as 0 to be safe.
fn int64(o: &Map<String, Value>, key: &str) -> Option<i64> {
    let v = o.get(key)?;
    let negative_zero = v.as_f64().is_some_and(|f| f == 0.0 && f.is_sign_negative());
    v.as_i64().or(negative_zero.then_some(0))
}

/// `jr_int32` (rapidjson `IsInt`): only an integer that fits int32.
fn int32(o: &Map<String, Value>, key: &str) -> Option<i64> {
    int64(o, key).filter(|n| i32::try_from(*n).is_ok())
}

fn block_harm(index: usize, block: &Value) -> Option<Harm> {
    let Some(b) = block.as_object() else {
        // BlockData reads it through the object accessors: a crash (null: zero tasks, a crash).
        return crash(format!("block {index} is not an object"));
    };
    let numeric = int64(b, "flags").unwrap_or(0) & 1 != 0;
    let harm = if numeric {
        numeric_harm(b)
    } else {
        task_list_harm(b)
    };
    harm.or_else(|| {
        text_harm(
            b,
            BLOCK_FIELDS,
            &[("environment", true), ("tickets", false)],
        )
    })
    .map(|h| match h {
        Harm::Crash(w) => Harm::Crash(format!("block {index}: {w}")),
        Harm::Corrupt(w) => Harm::Corrupt(format!("block {index}: {w}")),
    })
}

/// `BlockData::setNumeric` (blockdata.cpp:787): clamps, then 64-bit arithmetic into an int32.
fn numeric_harm(b: &Map<String, Value>) -> Option<Harm> {
    let first = int64(b, "frame_first").unwrap_or(0);
    let last = int64(b, "frame_last").unwrap_or(0).max(first);
    let per_task = int64(b, "frames_per_task").unwrap_or(1).max(1);
    let inc = int64(b, "frames_inc").unwrap_or(1).max(1);
    let seq = int64(b, "sequential").unwrap_or(1);
    let span = i128::from(last) - i128::from(first);
    let frames = span / i128::from(inc) + 1;
    let tasks = (frames + i128::from(per_task) - 1) / i128::from(per_task);
    let step = i128::from(per_task) * i128::from(inc);
    let walk = match seq {
        s if s > 1 => i128::from(last) + i128::from(s),
        s if s < -1 => i128::from(first) + i128::from(s),
        _ => 0,
    };
    let fits = |n: i128| i64::try_from(n).is_ok();
    if !fits(span) || !fits(frames) || !fits(step) || !fits(i128::from(last) + step) || !fits(walk)
    {
        return crash("frame arithmetic overflows int64 (undefined behaviour)");
    }
    match tasks as i32 {
        0 => crash("the int32 task count wraps to 0"),
        n if n < 0 => corrupt(format!("the int32 task count wraps to {n}: never runs")),
        n if i128::from(n) != tasks => corrupt(format!("{tasks} tasks wrap to {n}")),
        _ => None,
    }
}

/// `jsonReadTasks` then `jr_int32("tasks_num")` (blockdata.cpp:268-273), `isValid` (550).
fn task_list_harm(b: &Map<String, Value>) -> Option<Harm> {
    let tasks: &[Value] = b
        .get("tasks")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    for (t, task) in tasks.iter().enumerate() {
        if let Some(harm) = task_harm(t, task) {
            return Some(harm);
        }
    }
    let count = int32(b, "tasks_num").unwrap_or(tasks.len() as i64);
    if tasks.is_empty() || count == 0 {
        return crash("zero tasks");
    }
    if count > tasks.len() as i64 {
        return crash(format!(
            "tasks_num {count} reads past {} tasks",
            tasks.len()
        ));
    }
    if count < 0 {
        return corrupt(format!("tasks_num {count}: never runs"));
    }
    let per_task = int64(b, "frames_per_task").filter(|n| *n != 0).unwrap_or(1);
    let span = i128::from(per_task).abs() * i128::from(count);
    if per_task == i64::MIN || i64::try_from(span).is_err() {
        return corrupt("frames_per_task times the task count overflows int64");
    }
    None
}

/// `TaskData(const JSON &)`: rapidjson with assertions off reads any value as an object. Values
/// whose bits read as an empty object (null, booleans, 0, "") make an empty task; others crash
/// afserver or make garbage.
fn task_harm(index: usize, task: &Value) -> Option<Harm> {
    let reads_empty = match task {
        Value::Null | Value::Bool(_) => true,
        Value::Number(n) => n.as_i64() == Some(0),
        Value::String(s) => s.is_empty(),
        _ => false,
    };
    match task.as_object() {
        Some(t) => text_harm(t, TASK_FIELDS, &[("environment", true)]).map(|h| in_task(h, index)),
        None if reads_empty => None,
        None => crash(format!("task {index} is not an object")),
    }
}

fn in_task(harm: Harm, index: usize) -> Harm {
    match harm {
        Harm::Crash(w) => Harm::Crash(format!("task {index}: {w}")),
        Harm::Corrupt(w) => Harm::Corrupt(format!("task {index}: {w}")),
    }
}

/// How a stored string goes back out: `af::strEscape` (name_afstr.cpp:291: `\` `"` `\n` `\r` `\t`)
/// or raw between quotes.
#[derive(Clone, Copy, PartialEq)]
enum Out {
    Escaped,
    Raw,
}

/// Job strings (job.cpp:61-128, afnode.cpp:71-95, afwork.cpp:116-120) and how they are written
/// (job.cpp:181-244, afnode.cpp:102-109, afwork.cpp:174-180; the name raw in branch.cpp:133,
/// taskexec.cpp:98). `branch` is missing on purpose: `Branch::FilterPath` makes it safe.
const JOB_FIELDS: &[(&str, Out)] = &[
    ("user_name", Out::Raw),
    ("host_name", Out::Raw),
    ("name", Out::Raw),
    ("description", Out::Escaped),
    ("command_pre", Out::Escaped),
    ("command_post", Out::Escaped),
    ("annotation", Out::Escaped),
    ("custom_data", Out::Escaped),
    ("srv_info", Out::Escaped),
    ("project", Out::Escaped),
    ("department", Out::Escaped),
    ("depend_mask", Out::Escaped),
    ("depend_mask_global", Out::Escaped),
    ("hosts_mask", Out::Escaped),
    ("hosts_mask_exclude", Out::Escaped),
    ("need_os", Out::Escaped),
    ("need_properties", Out::Escaped),
];

/// Block strings (blockdata.cpp:178-205) as blockdata.cpp:390-518 writes them.
const BLOCK_FIELDS: &[(&str, Out)] = &[
    ("depend_mask", Out::Raw),
    ("tasks_depend_mask", Out::Raw),
    ("hosts_mask", Out::Raw),
    ("hosts_mask_exclude", Out::Raw),
    ("need_properties", Out::Raw),
    ("name", Out::Raw),
    ("service", Out::Raw),
    ("tasks_name", Out::Raw),
    ("parser", Out::Raw),
    ("multihost_service", Out::Raw),
    ("srv_info", Out::Raw),
    ("working_directory", Out::Escaped),
    ("command", Out::Escaped),
    ("command_pre", Out::Escaped),
    ("command_post", Out::Escaped),
    ("custom_data", Out::Escaped),
    ("files", Out::Escaped),
];

/// Task strings (taskdata.cpp:32-36) as taskdata.cpp:44-52 writes them.
const TASK_FIELDS: &[(&str, Out)] = &[
    ("name", Out::Raw),
    ("command", Out::Escaped),
    ("files", Out::Escaped),
];

/// The first stored string of `o` afserver cannot write back. `maps` are `(key, string values)`:
/// their keys go out raw (`jw_stringmap`, `jw_intmap`), string values escaped.
fn text_harm(
    o: &Map<String, Value>,
    fields: &[(&str, Out)],
    maps: &[(&str, bool)],
) -> Option<Harm> {
    for &(key, out) in fields {
        let strings: Vec<&str> = match o.get(key) {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) if key == "files" => a.iter().filter_map(Value::as_str).collect(),
            _ => continue,
        };
        if let Some(why) = strings.iter().find_map(|s| unwritable(s, out)) {
            return corrupt(format!("{key}: {why}"));
        }
    }
    for &(key, string_values) in maps {
        for (k, v) in stored_entries(o, key, string_values) {
            if let Some(why) = unwritable(k, Out::Raw) {
                return corrupt(format!("{key} key {k:?}: {why}"));
            }
            if let Some(why) = v.and_then(|v| unwritable(v, Out::Escaped)) {
                return corrupt(format!("{key} {k:?}: {why}"));
            }
        }
    }
    None
}

/// The map entries afserver keeps: `jr_stringmap` keeps non-empty strings; `jr_intmap` stops at
/// the first non-integer (and "pools" then keeps nothing, afwork.cpp:126).
fn stored_entries<'a>(
    o: &'a Map<String, Value>,
    key: &str,
    string_values: bool,
) -> Vec<(&'a str, Option<&'a str>)> {
    let Some(map) = o.get(key).and_then(Value::as_object) else {
        return Vec::new();
    };
    if string_values {
        return map
            .iter()
            .filter_map(|(k, v)| {
                v.as_str()
                    .filter(|s| !s.is_empty())
                    .map(|s| (k.as_str(), Some(s)))
            })
            .collect();
    }
    let ints: Vec<_> = map
        .iter()
        .take_while(|(_, v)| v.as_i64().is_some_and(|n| i32::try_from(n).is_ok()))
        .map(|(k, _)| (k.as_str(), None))
        .collect();
    if key == "pools" && ints.len() != map.len() {
        return Vec::new();
    }
    ints
}

/// Why `s` cannot go out as `out`, if it cannot.
fn unwritable(s: &str, out: Out) -> Option<String> {
    s.chars().find_map(|c| match c {
        '\0' => Some("NUL cuts the string".to_string()),
        '\n' | '\r' | '\t' if out == Out::Escaped => None,
        c if (c as u32) < 0x20 => Some(format!("raw control character U+{:04X}", c as u32)),
        '"' | '\\' if out == Out::Raw => Some(format!("unescaped {c}")),
        _ => None,
    })
}
