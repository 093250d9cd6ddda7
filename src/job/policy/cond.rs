//! [`Condition`]: a pool ACL's CEL condition over one job (the `cel` crate, as selector pools'
//! rules), e.g. `project == "lighting" && priority <= 150`. Variables ([`VARIABLES`]) are read
//! from the job the way afserver reads it: `user_name`, `host_name`, `name`, `priority` (99
//! when absent), `services` (each block's, `generic` when absent), `blocks` (how many),
//! `custom_data` (the job's `custom_data` JSON object, `{}` otherwise), `project` and
//! `department` (from `custom_data`, `""` when absent) and `address` (the client's source
//! address, `""` when unknown). A condition is checked when written: it must parse, name only
//! these variables and give a bool for an empty job; refusals say line and column.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use cel::common::types::{CelNull, CelString};
use cel::common::value::{CowVal, Val};
use cel::{Context, Program, Value};

use crate::job::envelope::{Fields, Job};
use crate::select::rule::{position, walk, Fault, ENV};

/// The variables a condition may name, with what each holds.
pub const VARIABLES: &[(&str, &str)] = &[
    ("user_name", "the job's user_name (self-declared)"),
    ("host_name", "the job's host_name (self-declared)"),
    ("name", "the job's name"),
    ("priority", "the job's priority (99 when absent)"),
    ("services", "each block's service (generic when absent)"),
    ("blocks", "how many blocks"),
    (
        "custom_data",
        "the job's custom_data as a JSON object ({} otherwise)",
    ),
    ("project", "custom_data's project (\"\" when absent)"),
    ("department", "custom_data's department (\"\" when absent)"),
    ("address", "the client's source address (\"\" when unknown)"),
];

/// Why a condition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("condition {source_text:?}: {reason} (line {line}, column {column})")]
pub struct ConditionError {
    /// The condition as written.
    pub source_text: String,
    /// What is wrong.
    pub reason: String,
    /// Where, from 1.
    pub line: u32,
    /// Where, from 1.
    pub column: u32,
}

/// A compiled, checked condition.
#[derive(Clone)]
pub struct Condition {
    source: String,
    program: Arc<Program>,
}

impl std::fmt::Debug for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Condition({:?})", self.source)
    }
}

impl Condition {
    /// Compile and check `source`.
    pub fn compile(source: &str) -> Result<Condition, ConditionError> {
        let refuse = |reason: String, (line, column): (u32, u32)| ConditionError {
            source_text: source.to_string(),
            reason,
            line,
            column,
        };
        if source.trim().is_empty() {
            return Err(refuse("the condition is empty".into(), (1, 1)));
        }
        let program = ENV.compile(source).map_err(|e| {
            let first = e.errors.first();
            let at = first.map_or((1, 1), |e| (e.pos.0.max(1) as u32, e.pos.1.max(1) as u32));
            refuse(first.map_or(e.to_string(), |e| e.msg.clone()), at)
        })?;
        let mut unknown = None;
        walk(program.expression(), &mut Vec::new(), &mut |id, name| {
            if unknown.is_none() && !VARIABLES.iter().any(|(v, _)| *v == name) {
                unknown = Some((id, name.to_string()));
            }
        });
        if let Some((id, name)) = unknown {
            let at = position(source, program.source_info().offset_for(id));
            let known: Vec<_> = VARIABLES.iter().map(|(v, _)| *v).collect();
            let reason = format!("no job variable {name:?} (known: {})", known.join(", "));
            return Err(refuse(reason, at));
        }
        let cond = Condition {
            source: source.to_string(),
            program: Arc::new(program),
        };
        match cond.run(&JobFacts::default()) {
            Err(fault) if fault.typing => Err(refuse(fault.text, (1, 1))),
            _ => Ok(cond),
        }
    }

    /// The condition as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Does the condition hold for the job? An error says why it gave no bool.
    pub fn holds(&self, facts: &JobFacts) -> Result<bool, String> {
        self.holds_in(&facts.scope().bind())
    }

    /// [`Condition::holds`] in a scope made once for many conditions ([`Scope::bind`]).
    pub fn holds_in(&self, bound: &Bound<'_>) -> Result<bool, String> {
        self.execute(bound).map_err(|f| f.text)
    }

    fn run(&self, facts: &JobFacts) -> Result<bool, Fault> {
        self.execute(&facts.scope().bind())
    }

    fn execute(&self, bound: &Bound<'_>) -> Result<bool, Fault> {
        match self.program.execute(&bound.0) {
            Ok(Value::Bool(b)) => Ok(b),
            Ok(other) => Err(Fault {
                typing: true,
                text: format!("the condition gives {other:?}, not true or false"),
            }),
            Err(e) => Err(Fault::from(e)),
        }
    }
}

/// A job's facts as CEL variables ([`JobFacts::scope`]), for every condition checked on the job:
/// each variable is made when a condition first names it (lists and maps once per scope).
pub struct Scope<'f> {
    facts: &'f JobFacts,
    services: OnceLock<Box<dyn Val>>,
    custom_data: OnceLock<Box<dyn Val>>,
}

impl Scope<'_> {
    /// A CEL context reading this scope, for any number of conditions.
    pub fn bind(&self) -> Bound<'_> {
        let mut ctx = Context::with_env(ENV.clone());
        ctx.set_variable_resolver(self);
        Bound(ctx)
    }
}

/// A CEL context over a [`Scope`] ([`Scope::bind`]).
pub struct Bound<'s>(Context<'s, 's>);

/// A list or map as a CEL value (`null` if it cannot be one, which never happens for facts).
fn val_of(v: &Value) -> Box<dyn Val> {
    let made: Result<Box<dyn Val>, _> = v.clone().try_into();
    made.unwrap_or_else(|_| Box::new(CelNull))
}

impl cel::context::VariableResolver for Scope<'_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        let f = self.facts;
        let text = |s: &'b str| Some(CowVal::owned(CelString::from(s)));
        let shared = |cell: &'b OnceLock<Box<dyn Val>>, v: &Value| {
            Some(CowVal::Borrowed(cell.get_or_init(|| val_of(v)).as_ref()))
        };
        let value = match variable {
            "user_name" => return text(&f.user_name),
            "host_name" => return text(&f.host_name),
            "name" => return text(&f.name),
            "address" => return text(&f.address),
            "services" => return shared(&self.services, &f.services),
            "custom_data" => return shared(&self.custom_data, &f.custom_data),
            "priority" => Value::Int(f.priority),
            "blocks" => Value::Int(f.blocks),
            "project" => Value::from(f.text("project")),
            "department" => Value::from(f.text("department")),
            _ => return None,
        };
        value.try_into().ok().map(CowVal::Owned)
    }
}

/// What a condition sees of one job (read once per job, only for pools that have conditions).
#[derive(Debug, Clone)]
pub struct JobFacts {
    user_name: String,
    host_name: String,
    name: String,
    priority: i64,
    /// A CEL list of strings.
    services: Value,
    blocks: i64,
    custom_data: Value,
    address: String,
}

impl Default for JobFacts {
    fn default() -> Self {
        JobFacts {
            user_name: String::new(),
            host_name: String::new(),
            name: String::new(),
            priority: 99,
            services: Value::List(Arc::new(Vec::new())),
            blocks: 0,
            custom_data: Value::Map(HashMap::<String, Value>::new().into_map()),
            address: String::new(),
        }
    }
}

trait IntoMap {
    fn into_map(self) -> cel::objects::Map;
}

impl IntoMap for HashMap<String, Value> {
    fn into_map(self) -> cel::objects::Map {
        match Value::from(self) {
            Value::Map(m) => m,
            _ => unreachable!("a HashMap becomes a map"),
        }
    }
}

impl JobFacts {
    /// The job's facts as afserver reads them, and the client's address.
    pub(crate) fn of(job: &Job<'_>, peer: Option<IpAddr>) -> JobFacts {
        let blocks = job.blocks().and_then(Result::ok).unwrap_or(&[]);
        let services = blocks
            .iter()
            .map(|b| Value::from(super::block_service(b)))
            .collect();
        let custom = job
            .text_of("custom_data")
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .filter(serde_json::Value::is_object);
        JobFacts {
            user_name: job.str_of("user_name").unwrap_or_default(),
            host_name: job.str_of("host_name").unwrap_or_default(),
            name: job.str_of("name").unwrap_or_default(),
            priority: super::int32_of(job, "priority").unwrap_or(99),
            services: Value::List(Arc::new(services)),
            blocks: blocks.len() as i64,
            custom_data: custom.map_or_else(|| JobFacts::default().custom_data, |v| to_cel(&v)),
            address: peer.map(|p| p.to_string()).unwrap_or_default(),
        }
    }

    /// The facts as CEL variables, read by each condition as it names them.
    pub fn scope(&self) -> Scope<'_> {
        Scope {
            facts: self,
            services: OnceLock::new(),
            custom_data: OnceLock::new(),
        }
    }

    /// A text key of `custom_data`, `""` when absent or not a string.
    fn text(&self, key: &str) -> String {
        match &self.custom_data {
            Value::Map(m) => match m.get(&cel::objects::Key::from(key)) {
                Some(Value::String(s)) => s.to_string(),
                _ => String::new(),
            },
            _ => String::new(),
        }
    }
}

/// A JSON value as CEL sees it.
fn to_cel(v: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match v {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::Int(i),
            (None, Some(u)) => Value::UInt(u),
            _ => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Value::from(s.clone()),
        J::Array(a) => Value::List(Arc::new(a.iter().map(to_cel).collect())),
        J::Object(o) => {
            let map: HashMap<String, Value> =
                o.iter().map(|(k, v)| (k.clone(), to_cel(v))).collect();
            Value::from(map)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::envelope::Envelope;

    fn facts(body: &str, peer: Option<&str>) -> JobFacts {
        let mut env = Envelope::parse(body.as_bytes()).unwrap();
        let job = env.job_mut().unwrap();
        JobFacts::of(job, peer.map(|p| p.parse().unwrap()))
    }

    #[test]
    fn conditions_see_the_job() {
        let job = r#"{"job":{"name":"sh010","user_name":"anna","host_name":"ws1","priority":120,
            "custom_data":"{\"project\":\"lighting\",\"pool\":\"x\",\"n\":3}",
            "blocks":[{"service":"maya"},{"name":"b"}]}}"#;
        let f = facts(job, Some("10.1.2.3"));
        let cases: &[(&str, bool)] = &[
            (r#"user_name == "anna""#, true),
            (r#"host_name == "ws2""#, false),
            (r#"name.startsWith("sh0")"#, true),
            ("priority <= 150", true),
            (r#""maya" in services && "generic" in services"#, true),
            (r#"services.all(s, s == "maya")"#, false),
            ("blocks == 2", true),
            (r#"project == "lighting" && department == """#, true),
            ("custom_data.n == 3", true),
            (r#"address.startsWith("10.1.")"#, true),
        ];
        for (src, want) in cases {
            let c = Condition::compile(src).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(c.holds(&f), Ok(*want), "{src}");
        }
        let bare = facts(r#"{"job":{"blocks":[{}]}}"#, None);
        let c = Condition::compile("priority == 99 && project == \"\" && address == \"\"").unwrap();
        assert_eq!(c.holds(&bare), Ok(true));
        let missing = Condition::compile("custom_data.shot == \"x\"").unwrap();
        assert!(missing.holds(&bare).is_err());
    }

    #[test]
    fn bad_conditions_say_where() {
        let cases: &[(&str, &str, u32)] = &[
            ("user == \"anna\"", "no job variable \"user\"", 1),
            ("priority >= 10 && ram > 4", "no job variable \"ram\"", 19),
            ("priority +", "", 1),
            ("priority", "not true or false", 1),
            ("", "empty", 1),
        ];
        for (src, why, column) in cases {
            let e = Condition::compile(src).expect_err(src);
            assert!(e.reason.contains(why), "{src}: {e}");
            assert!(*column == 1 || e.column == *column, "{src}: {e}");
        }
    }
}
