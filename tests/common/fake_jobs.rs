//! The fake afserver's jobs, kept like afserver 3.4.1 keeps them: a submitted job gets the lowest
//! free id (`AfContainer::add`: ids of deleted jobs are reused at once) and a serial that is never
//! reused, and keeps its name, user, annotation, job and block masks and state; `get jobs` (all, or `ids`)
//! answers `{"jobs":[...]}` written by hand like `Job::v_jsonWrite` (job strings escaped, block
//! masks NOT escaped, as `BlockData::jsonWrite` writes them, so the reply can be invalid JSON);
//! an `action` of type `jobs` applies `params` to the jobs named by `ids` (`Work::jsonRead`:
//! `hosts_mask`, `hosts_mask_exclude`, `hosts_mask_type`), or to their blocks when it has
//! `block_ids` (`-1` = every block; `BlockData::jsonRead`, which has no `hosts_mask_type`), and
//! `operation` `delete`, `pause` and `start`. Every action is counted and kept.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// One block as afserver keeps it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FakeBlock {
    /// Block name.
    pub name: String,
    /// `hosts_mask`.
    pub hosts_mask: String,
    /// `hosts_mask_exclude`.
    pub hosts_mask_exclude: String,
    /// Tasks in the block.
    pub tasks_num: i64,
}

/// One job as afserver keeps it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FakeJob {
    /// Job id.
    pub id: i64,
    /// Job serial (afserver's counter, never reused).
    pub serial: i64,
    /// Job name.
    pub name: String,
    /// `user_name`.
    pub user: String,
    /// `annotation`.
    pub annotation: String,
    /// `hosts_mask`.
    pub hosts_mask: String,
    /// `hosts_mask_exclude`.
    pub hosts_mask_exclude: String,
    /// `hosts_mask_type`: `find` (afserver's default) or `regex`.
    pub hosts_mask_type: String,
    /// Paused (`offline`).
    pub offline: bool,
    /// Blocks.
    pub blocks: Vec<FakeBlock>,
}

/// Every job the fake holds, and the actions it received.
#[derive(Debug, Default)]
pub struct FakeJobs {
    /// Jobs by id.
    pub jobs: BTreeMap<i64, FakeJob>,
    /// Every `action` body received, in order.
    pub actions: Vec<Value>,
    /// Ids of deleted jobs below `next_id`.
    free: BTreeSet<i64>,
    /// Above every id ever given.
    next_id: i64,
    /// Serials given so far.
    serials: i64,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

impl FakeJobs {
    /// Keeps a submitted job under the lowest free id; its id and serial.
    pub fn add(&mut self, job: &Value) -> (i64, i64) {
        let id = self.free.pop_first().unwrap_or_else(|| {
            self.next_id = self.next_id.max(1);
            self.next_id += 1;
            self.next_id - 1
        });
        self.serials += 1;
        self.register(id, self.serials, job);
        (id, self.serials)
    }

    /// How many jobs each user has (afserver's `jobs_num`).
    pub fn jobs_per_user(&self) -> BTreeMap<String, usize> {
        let mut per = BTreeMap::new();
        for job in self.jobs.values() {
            *per.entry(job.user.clone()).or_insert(0) += 1;
        }
        per
    }

    /// Deletes job `id`; its id is free again.
    pub fn delete(&mut self, id: i64) {
        if self.jobs.remove(&id).is_some() {
            self.free.insert(id);
        }
    }

    fn register(&mut self, id: i64, serial: i64, job: &Value) {
        let blocks = job["blocks"].as_array().cloned().unwrap_or_default();
        let kind = text(job, "hosts_mask_type");
        let job = FakeJob {
            id,
            serial,
            name: text(job, "name"),
            user: text(job, "user_name"),
            annotation: text(job, "annotation"),
            hosts_mask: text(job, "hosts_mask"),
            hosts_mask_exclude: text(job, "hosts_mask_exclude"),
            hosts_mask_type: if kind == "regex" { kind } else { "find".into() },
            offline: job["offline"].as_bool().unwrap_or(false),
            blocks: blocks
                .iter()
                .map(|b| FakeBlock {
                    name: text(b, "name"),
                    hosts_mask: text(b, "hosts_mask"),
                    hosts_mask_exclude: text(b, "hosts_mask_exclude"),
                    tasks_num: b["tasks"].as_array().map_or(1, |t| t.len() as i64),
                })
                .collect(),
        };
        self.jobs.insert(id, job);
    }

    /// The `get jobs` reply body: every job, or those of `ids` that exist, in the order asked
    /// (`AfContainer::generateListIDs`). One id is looked up as one job, and an id afserver does
    /// not have is then an error, not an empty list (`threadprocessjson.cpp`: `ids.size() == 1`,
    /// `getJob`, `jsonMsgError("Invalid ID")`).
    pub fn list(&self, ids: Option<&[i64]>) -> Vec<u8> {
        if let Some([id]) = ids {
            if !self.jobs.contains_key(id) {
                return br#"{"info":{"kind":"error","text":"Invalid ID"}}"#.to_vec();
            }
        }
        let jobs: Vec<String> = match ids {
            None => self.jobs.values().map(write_job).collect(),
            Some(ids) => ids
                .iter()
                .filter_map(|id| self.jobs.get(id))
                .map(write_job)
                .collect(),
        };
        format!("{{\"jobs\":[\n{}\n]}}", jobs.join(",\n")).into_bytes()
    }

    /// Applies an action of type `jobs`; the reply body.
    pub fn action(&mut self, action: &Value) -> Vec<u8> {
        self.actions.push(action.clone());
        let ids: Vec<i64> = action["ids"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default();
        if let Some(kind) = action["operation"]["type"].as_str() {
            for id in &ids {
                match kind {
                    "delete" => self.delete(*id),
                    "pause" | "start" => {
                        if let Some(job) = self.jobs.get_mut(id) {
                            job.offline = kind == "pause";
                        }
                    }
                    _ => {}
                }
            }
            return info("log", &format!("{kind}: {ids:?}"));
        }
        let params = &action["params"];
        let blocks: Option<Vec<i64>> = action["block_ids"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_i64).collect());
        for id in &ids {
            let Some(job) = self.jobs.get_mut(id) else {
                continue;
            };
            match &blocks {
                Some(which) => job_blocks(job, which, params),
                None => job_params(job, params),
            }
        }
        info("log", &format!("jobs {ids:?} changed"))
    }
}

/// `Node::jsonRead` (the annotation) and `Work::jsonRead`: the masks, then `hosts_mask_type`.
fn job_params(job: &mut FakeJob, params: &Value) {
    if let Some(a) = params["annotation"].as_str() {
        job.annotation = a.to_string();
    }
    if let Some(m) = params["hosts_mask"].as_str() {
        job.hosts_mask = m.to_string();
    }
    if let Some(m) = params["hosts_mask_exclude"].as_str() {
        job.hosts_mask_exclude = m.to_string();
    }
    if let Some(kind @ ("find" | "regex")) = params["hosts_mask_type"].as_str() {
        job.hosts_mask_type = kind.to_string();
    }
}

/// `BlockData::jsonRead` on the blocks named (`[-1]` = all).
fn job_blocks(job: &mut FakeJob, which: &[i64], params: &Value) {
    let all = which == [-1];
    for (i, block) in job.blocks.iter_mut().enumerate() {
        if !all && !which.contains(&(i as i64)) {
            continue;
        }
        if let Some(m) = params["hosts_mask"].as_str() {
            block.hosts_mask = m.to_string();
        }
        if let Some(m) = params["hosts_mask_exclude"].as_str() {
            block.hosts_mask_exclude = m.to_string();
        }
    }
}

/// `{"info":{"kind":K,"text":T}}`, like `af::jsonMsgInfo`.
pub fn info(kind: &str, text: &str) -> Vec<u8> {
    let text = serde_json::to_string(text).unwrap();
    format!(r#"{{"info":{{"kind":"{kind}","text":{text}}}}}"#).into_bytes()
}

/// JSON string text, escaped like `af::strEscape`.
fn esc(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap();
    quoted[1..quoted.len() - 1].to_string()
}

/// One job like `Job::v_jsonWrite` (the fields afpool reads).
fn write_job(j: &FakeJob) -> String {
    let mut o = format!(
        "{{\n\"name\":\"{}\",\n\"id\":{},\n\"priority\":99",
        esc(&j.name),
        j.id
    );
    if !j.annotation.is_empty() {
        o += &format!(",\n\"annotation\":\"{}\"", esc(&j.annotation));
    }
    if !j.hosts_mask.is_empty() {
        o += &format!(",\n\"hosts_mask\":\"{}\"", esc(&j.hosts_mask));
    }
    if !j.hosts_mask_exclude.is_empty() {
        o += &format!(
            ",\n\"hosts_mask_exclude\":\"{}\"",
            esc(&j.hosts_mask_exclude)
        );
    }
    o += &format!(",\n\"hosts_mask_type\":\"{}\"", j.hosts_mask_type);
    o += &format!(",\n\"serial\":{},\n\"user_name\":\"{}\"", j.serial, j.user);
    let (st, state) = if j.offline { (65, "OFF") } else { (1, "RDY") };
    o += &format!(",\n\"st\":{st},\n\"state\":\"{state}\"");
    o += ",\n\"time_creation\":1780000000,\n\"blocks\":[\n";
    let blocks: Vec<String> = j.blocks.iter().enumerate().map(write_block).collect();
    o += &blocks.join(",\n");
    o + "]\n}"
}

/// One block like `BlockData::jsonWrite` for a jobs list: masks written unescaped.
fn write_block((num, b): (usize, &FakeBlock)) -> String {
    let mut o = format!(
        "{{\n\"name\":\"{}\",\n\"tasks_num\":{}",
        esc(&b.name),
        b.tasks_num
    );
    if !b.hosts_mask.is_empty() {
        o += &format!(",\n\"hosts_mask\":\"{}\"", b.hosts_mask);
    }
    if !b.hosts_mask_exclude.is_empty() {
        o += &format!(",\n\"hosts_mask_exclude\":\"{}\"", b.hosts_mask_exclude);
    }
    o + &format!(",\n\"block_num\":{num},\n\"p_percentage\":25\n}}")
}
