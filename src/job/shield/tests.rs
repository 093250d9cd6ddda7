//! The shield's rules as one table: each row a job and the rule that refuses it (`None`: afserver
//! 3.4.1 accepts it, so afpool must too). Rows marked "real" were checked against a real afserver
//! 3.4.1 (crashed, broken or accepted as the row says).

use super::*;
use crate::job::envelope::Envelope;
use rstest::rstest;

const TASKS: &str = r#""tasks":[{"name":"t","command":"c"}]"#;

fn check(job: &str) -> Result<(), Option<ShieldRule>> {
    message(job).map_err(|e| e.rule())
}

fn message(job: &str) -> Result<(), Rejection> {
    let body = format!(r#"{{"job":{job}}}"#);
    let mut env = Envelope::parse(body.as_bytes()).unwrap();
    let job = env.job_mut().unwrap();
    check_structure(job).and_then(|_| check_regex_masks(job))
}

fn job(blocks: &str) -> String {
    format!(r#"{{"name":"j","user_name":"u","blocks":{blocks}}}"#)
}

/// A job with `fields`, plus a name and a user name unless `fields` sets them (a body with a key
/// twice is refused before the shield runs).
fn with(fields: &str) -> String {
    let defaults: String = [r#""name":"j","#, r#""user_name":"u","#]
        .into_iter()
        .filter(|d| !fields.contains(&d[..d.find(':').unwrap() + 1]))
        .collect();
    format!(r#"{{{defaults}{fields},"blocks":[{{{TASKS}}}]}}"#)
}

fn block(fields: &str) -> String {
    job(&format!("[{{{TASKS},{fields}}}]"))
}

fn numeric(fields: &str) -> String {
    job(&format!(r#"[{{"flags":1,{fields}}}]"#))
}

fn task(task: &str) -> String {
    job(&format!(r#"[{{"tasks":[{task}]}}]"#))
}

use ShieldRule::*;

#[rstest]
#[case(&job(&format!("[{{{TASKS}}}]")), None)]
#[case(&format!(r#"{{"name":"j","blocks":[{{{TASKS}}}]}}"#), Some(NoUserName))] // real
#[case(&format!(r#"{{"user_name":"","blocks":[{{{TASKS}}}]}}"#), Some(NoUserName))]
#[case(&format!(r#"{{"user_name":5,"blocks":[{{{TASKS}}}]}}"#), Some(NoUserName))] // real
#[case(&format!(r#"{{"user_name":" ","blocks":[{{{TASKS}}}]}}"#), None)] // real
#[case(&format!(r#"{{"user_name":"\u0000x","blocks":[{{{TASKS}}}]}}"#), Some(ControlCharacter))] // real
#[case(r#"{"user_name":"u"}"#, Some(NoBlocks))]
#[case(&job("[]"), Some(NoBlocks))]
#[case(&job("{}"), Some(NoBlocks))]
#[case(&job("\"x\""), Some(NoBlocks))]
#[case(&job("[5]"), Some(EmptyBlock))] // real
#[case(&job("[null]"), Some(EmptyBlock))] // real
#[case(&job(r#"[{"tasks":[ ]}]"#), Some(EmptyBlock))]
#[case(&job(r#"[{"tasks":{"a":{}}}]"#), Some(EmptyBlock))] // real
#[case(&job(r#"[{"name":"b"}]"#), Some(EmptyBlock))]
#[case(&job(r#"[{"flags":0,"frame_first":1,"frame_last":9}]"#), Some(EmptyBlock))]
fn users_and_blocks(#[case] job: &str, #[case] rule: Option<ShieldRule>) {
    assert_eq!(check(job).err().flatten(), rule, "{job}");
}

#[rstest]
#[case(&numeric(r#""frame_first":1,"frame_last":10"#), None)]
#[case(&job(r#"[{"flags":1}]"#), None)]
#[case(&numeric(r#""frame_first":5,"frame_last":4"#), None)] // real: clamped to 5..5
#[case(&numeric(r#""frame_first":1,"frame_last":9,"frames_per_task":0,"frames_inc":0"#), None)] // real
#[case(&numeric(r#""frame_first":1,"frame_last":9,"frames_per_task":-5"#), None)] // real
#[case(&numeric(r#""frame_first":0,"frame_last":2147483646"#), None)]
#[case(&numeric(r#""frame_first":0,"frame_last":2147483647"#), Some(TaskCount))] // real: tasks_num -2^31
#[case(&numeric(r#""frame_first":0,"frame_last":4294967295"#), Some(TaskCount))] // real: crash
#[case(&numeric(r#""frame_first":0,"frame_last":4294967295,"frames_per_task":2"#), Some(TaskCount))]
#[case(&numeric(r#""frame_first":0,"frame_last":4294967295,"frames_per_task":4"#), None)]
#[case(&numeric(r#""frame_first":0,"frame_last":4294967295.0"#), None)] // a double: ignored
#[case(&numeric(r#""frame_first":-9223372036854775808,"frame_last":9223372036854775807"#), Some(FrameOverflow))] // real: crash
#[case(&numeric(r#""frame_last":9223372036854775807"#), Some(FrameOverflow))]
#[case(&numeric(r#""frame_last":9223372036854775808"#), None)] // not an int64: ignored
#[case(&numeric(r#""frame_last":10,"frames_per_task":9223372036854775807,"frames_inc":2"#), Some(FrameOverflow))]
#[case(&numeric(r#""frame_last":10,"sequential":9223372036854775800"#), Some(FrameOverflow))]
#[case(&numeric(r#""frame_last":10,"tasks_num":0"#), None)] // numeric blocks ignore tasks_num
#[case(&numeric(r#""frame_last":10,"tasks":[5]"#), None)] // ... and tasks
fn numeric_blocks(#[case] job: &str, #[case] rule: Option<ShieldRule>) {
    assert_eq!(check(job).err().flatten(), rule, "{job}");
}

#[rstest]
#[case(&block(r#""tasks_num":1"#), None)]
#[case(&job(r#"[{"tasks_num":1,"tasks":[{"name":"a"},{"name":"b"}]}]"#), None)] // real
#[case(&block(r#""tasks_num":3"#), Some(TaskCount))] // real: crash
#[case(&block(r#""tasks_num":-1"#), Some(TaskCount))] // real: never runs
#[case(&block(r#""tasks_num":0"#), Some(EmptyBlock))] // real: crash
#[case(&block(r#""tasks_num":"3""#), None)]
#[case(&block(r#""tasks_num":-0"#), Some(EmptyBlock))] // real: rapidjson reads the integer 0, a crash
#[case(&block(r#""tasks_num":-0.0"#), None)] // real: a double, ignored
#[case(&block(r#""tasks_num":4294967296"#), None)] // not an int32: ignored
#[case(&block(r#""frames_per_task":-9223372036854775808"#), Some(FrameOverflow))]
#[case(&task(r#"{"name":"t"}"#), None)]
#[case(&task("5"), Some(TaskNotObject))] // real: crash
#[case(&task("null"), Some(TaskNotObject))] // real: an empty task (undefined behaviour)
#[case(&task("[1,2]"), Some(TaskNotObject))] // real: a garbage task
#[case(&task(r#""abcdefgh""#), Some(TaskNotObject))]
#[case(&task(r#"{"name":"sh\"010"}"#), Some(Quote))]
#[case(&task(r#"{"name":"sh010","command":"say \"hi\" C:\\x"}"#), None)]
#[case(&task(r#"{"command":"a\u0001b"}"#), Some(ControlCharacter))] // real: lost at restart
#[case(&task(r#"{"files":["a","b\u0000"]}"#), Some(ControlCharacter))]
#[case(&task(r#"{"environment":{"K\\":"v"}}"#), Some(Backslash))]
fn task_lists(#[case] job: &str, #[case] rule: Option<ShieldRule>) {
    assert_eq!(check(job).err().flatten(), rule, "{job}");
}

#[rstest]
#[case(&with(r#""user_name":"a\"b""#), Some(Quote))] // real: lost at restart
#[case(&with(r#""host_name":"CORP\\ws""#), Some(Backslash))] // real: lost at restart
#[case(&with(r#""name":"n\"q""#), Some(Quote))] // real: get branches invalid
#[case(&with(r#""branch":"\\proj\\\"q\"\u0001""#), None)] // real: filtered to /proj
#[case(&with(r#""description":"a\nb\tc\r""#), None)] // real
#[case(&with(r#""annotation":"\u001b[1m""#), Some(ControlCharacter))] // real: invalid JSON
#[case(&with(r#""srv_info":"a\u0001""#), Some(ControlCharacter))] // real
#[case(&with(r#""project":"a\"b","need_os":"a\\b""#), None)] // real: escaped
#[case(&with(r#""hosts_mask":"gpu\\d+""#), None)]
#[case(&with(r#""folders":{"in\"put":"/x"}"#), Some(Quote))] // real
#[case(&with(r#""folders":{"input":"C:\\x"}"#), None)]
#[case(&with(r#""pools":{"gpu\"":10}"#), Some(Quote))] // real
#[case(&with(r#""id":0"#), None)]
#[case(&with(r#""id":1"#), Some(JobId))] // real: crash
#[case(&with(r#""id":5000"#), Some(JobId))] // real: accepted when free, crashes when taken
#[case(&with(r#""id":-1"#), Some(JobId))] // real: crash
#[case(&with(r#""id":2000000"#), Some(JobId))] // real: crash
#[case(&with(r#""id":4294967296"#), None)] // not an int32: ignored
#[case(&with(r#""id":"7""#), None)]
#[case(&with(r#""id":-0"#), None)]
fn job_text(#[case] job: &str, #[case] rule: Option<ShieldRule>) {
    assert_eq!(check(job).err().flatten(), rule, "{job}");
}

#[rstest]
#[case(r#""name":"b\"""#, Some(Quote))] // real
#[case(r#""service":"a\\b""#, Some(Backslash))] // real
#[case(r#""tasks_name":"a\"b""#, Some(Quote))] // real
#[case(r#""parser":"a\"b""#, Some(Quote))] // real
#[case(r#""srv_info":"a\"b""#, Some(Quote))] // real
#[case(r#""need_properties":"a\"b""#, Some(Quote))] // real
#[case(r#""depend_mask":"a\"b""#, Some(Quote))] // real
#[case(r#""hosts_mask":"gpu\\..*""#, Some(Backslash))]
#[case(r#""tasks_depend_mask":"a\\d""#, Some(Backslash))]
#[case(r#""hosts_mask":"gpu[.].*""#, None)]
#[case(r#""environment":{"A\"":"v"}"#, Some(Quote))] // real
#[case(r#""environment":{"A":"v\"w\\x"}"#, None)] // real: escaped
#[case(r#""tickets":{"lic\"":1}"#, Some(Quote))] // real
#[case(r#""command":"a\u0002""#, Some(ControlCharacter))]
#[case(r#""working_directory":"C:\\work""#, None)]
fn block_text(#[case] fields: &str, #[case] rule: Option<ShieldRule>) {
    let job = block(fields);
    assert_eq!(check(&job).err().flatten(), rule, "{job}");
}

#[rstest]
#[case(r#""hosts_mask":"render(""#, Some(InvalidRegex))]
#[case(r#""hosts_mask_exclude":"(?i)r1""#, Some(InvalidRegex))]
#[case(r#""hosts_mask":"render0[1-9]|gpu\\..*""#, None)]
fn job_level_regex_masks(#[case] field: &str, #[case] rule: Option<ShieldRule>) {
    let job = format!(r#"{{"user_name":"u",{field},"blocks":[{{{TASKS}}}]}}"#);
    assert_eq!(check(&job).err().flatten(), rule);
}

#[test]
fn block_level_regex_mask() {
    let job = job(&format!(r#"[{{{TASKS},"hosts_mask_exclude":"r[0-9"}}]"#));
    assert_eq!(check(&job).err().flatten(), Some(InvalidRegex));
}

#[rstest]
#[case(
    &job(r#"[{"name":"comp","hosts_mask_exclude":"gpu\\..*","tasks":[{}]}]"#),
    "afpool: job 'j': block 'comp' hosts_mask_exclude contains a backslash, which afserver 3.4.1 \
     writes unescaped, making its replies and job store invalid JSON; use [.] instead of \\."
)]
#[case(
    &with(r#""user_name":"CORP\\util""#),
    "afpool: job 'j': user_name contains a backslash, which afserver 3.4.1 writes unescaped, \
     making its replies and job store invalid JSON; remove it"
)]
#[case(
    &format!(r#"{{"name":"a\nb","user_name":"u","blocks":[{{{TASKS}}}]}}"#),
    "afpool: job 'a\\nb': name contains the control character U+000A, which afserver 3.4.1 \
     writes unescaped, making its replies and job store invalid JSON; remove it"
)]
#[case(
    &numeric(r#""name":"f","frame_first":0,"frame_last":2147483647"#),
    "afpool: job 'j': block 'f' has 2147483648 tasks, more than afserver's 32-bit task count \
     holds (2147483647); raise frames_per_task or split the block"
)]
#[case(
    &job(r#"[{"tasks":[{},7]}]"#),
    "afpool: job 'j': block #0 task #1 is a number, not an object (afserver 3.4.1 reads it as an \
     object and may crash); write it as {\"name\":...,\"command\":...}"
)]
#[case(
    &job(r#"[{"tasks":[{"name":"t\\1"}]}]"#),
    "afpool: job 'j': block #0 task #0 name contains a backslash, which afserver 3.4.1 writes \
     unescaped, making its replies and job store invalid JSON; remove it"
)]
#[case(
    &with(r#""id":1"#),
    "afpool: job 'j' sets \"id\" 1, which afserver 3.4.1 takes as the job's id and crashes on \
     when it is taken (1 is its system job) or out of range; remove \"id\""
)]
fn messages_name_job_block_field_and_fix(#[case] job: &str, #[case] text: &str) {
    let err = message(job).unwrap_err().to_string();
    assert_eq!(err, text);
    assert!(!err.contains('\n'), "one line: {err}");
}
