//! [`RenderFacts`]: what a selector rule may ask of a render, read from afserver's render list
//! (`os`, `engine`, `properties_host`, `capacity_host`, `max_tasks_host`, the native `pool`) and
//! its resources mode (`host_resources`), and the variables a rule sees ([`VARIABLES`]).

use serde::Serialize;

/// afserver's root pool defaults, used when a render sets no capacity or task limit of its own.
pub const DEFAULT_CAPACITY: i64 = 1100;
/// See [`DEFAULT_CAPACITY`].
pub const DEFAULT_MAX_TASKS: i64 = 4;

/// What afserver says a render is, beyond its name and state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RenderFacts {
    /// `os`, e.g. `unix linux 64 debian 12`.
    pub os: String,
    /// afrender's version, e.g. `3.4.1`.
    pub engine: String,
    /// `properties_host` (empty when the render sets none).
    pub properties: String,
    /// `capacity_host`, else afserver's default.
    pub capacity: i64,
    /// `max_tasks_host`, else afserver's default.
    pub max_tasks: i64,
    /// `host_resources.cpu_num` (0 until afserver listed the render's resources).
    pub cpu_num: i64,
    /// `host_resources.cpu_mhz`.
    pub cpu_mhz: i64,
    /// `host_resources.mem_total_mb`.
    pub mem_total_mb: i64,
    /// `host_resources.gpu_mem_total_mb`.
    pub gpu_mem_total_mb: i64,
    /// `host_resources.gpu_string`.
    pub gpu_string: String,
    /// `host_resources.hw_info`.
    pub hw_info: String,
    /// `host_resources.hdd_total_gb`.
    pub hdd_total_gb: i64,
}

impl Default for RenderFacts {
    fn default() -> Self {
        RenderFacts {
            os: String::new(),
            engine: String::new(),
            properties: String::new(),
            capacity: DEFAULT_CAPACITY,
            max_tasks: DEFAULT_MAX_TASKS,
            cpu_num: 0,
            cpu_mhz: 0,
            mem_total_mb: 0,
            gpu_mem_total_mb: 0,
            gpu_string: String::new(),
            hw_info: String::new(),
            hdd_total_gb: 0,
        }
    }
}

/// A variable's value, as a rule sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact<'a> {
    /// A string.
    Text(&'a str),
    /// An integer.
    Int(i64),
}

impl std::fmt::Display for Fact<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fact::Text(s) => write!(f, "{s:?}"),
            Fact::Int(n) => write!(f, "{n}"),
        }
    }
}

/// Every variable a selector rule may name, with what it is.
pub const VARIABLES: &[(&str, &str)] = &[
    ("name", "the render's name, as afserver lists it (string)"),
    (
        "os",
        "afserver's os string, e.g. \"unix linux 64 debian 12\"",
    ),
    ("engine", "afrender's version, e.g. \"3.4.1\""),
    ("properties", "the render's properties_host (string)"),
    ("capacity", "capacity_host, else 1100 (int)"),
    ("max_tasks", "max_tasks_host, else 4 (int)"),
    (
        "native_pool",
        "Afanasy's own pool path, e.g. \"/gpu\" (string)",
    ),
    ("cpu_num", "CPU cores (int)"),
    ("cpu_mhz", "CPU clock in MHz (int)"),
    ("mem_total_mb", "memory in MB (int)"),
    ("gpu_mem_total_mb", "GPU memory in MB (int)"),
    ("gpu_string", "the GPU's name (string)"),
    ("hw_info", "the CPU's name (string)"),
    ("hdd_total_gb", "disk size in GB (int)"),
];

/// The value of variable `var` for the render `name` in native pool `native_pool`.
pub fn fact<'a>(
    var: &str,
    name: &'a str,
    native_pool: &'a str,
    facts: &'a RenderFacts,
) -> Option<Fact<'a>> {
    use Fact::{Int, Text};
    Some(match var {
        "name" => Text(name),
        "os" => Text(&facts.os),
        "engine" => Text(&facts.engine),
        "properties" => Text(&facts.properties),
        "capacity" => Int(facts.capacity),
        "max_tasks" => Int(facts.max_tasks),
        "native_pool" => Text(native_pool),
        "cpu_num" => Int(facts.cpu_num),
        "cpu_mhz" => Int(facts.cpu_mhz),
        "mem_total_mb" => Int(facts.mem_total_mb),
        "gpu_mem_total_mb" => Int(facts.gpu_mem_total_mb),
        "gpu_string" => Text(&facts.gpu_string),
        "hw_info" => Text(&facts.hw_info),
        "hdd_total_gb" => Int(facts.hdd_total_gb),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variable_has_a_value() {
        let facts = RenderFacts::default();
        for (var, _) in VARIABLES {
            assert!(fact(var, "r1", "/", &facts).is_some(), "{var}");
        }
        assert_eq!(fact("gpu", "r1", "/", &facts), None);
        assert_eq!(fact("capacity", "r1", "/", &facts), Some(Fact::Int(1100)));
    }
}
