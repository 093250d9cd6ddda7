//! [`Rule`]: a selector pool's `select` rule, a CEL expression (the `cel` crate) over one render's
//! [`facts`](super::facts), e.g. `gpu_mem_total_mb >= 20000 && os.contains("linux")`. A rule is
//! checked when it is written: it must parse, name only known variables, and give a bool for a
//! render afserver knows nothing of; each refusal says where (line and column) and why.

use std::sync::{Arc, LazyLock};

use cel::common::ast::{Expr, IdedExpr};
use cel::{Context, Env, Program, Value};

use super::facts::{fact, Fact, RenderFacts, VARIABLES};

/// Why a rule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule {rule:?}: {reason} (line {line}, column {column})")]
pub struct RuleError {
    /// The rule as written.
    pub rule: String,
    /// What is wrong.
    pub reason: String,
    /// Where, from 1.
    pub line: u32,
    /// Where, from 1.
    pub column: u32,
}

/// A compiled, checked rule.
#[derive(Clone)]
pub struct Rule {
    source: String,
    program: Arc<Program>,
    /// The variables it names, in order of first use.
    vars: Vec<&'static str>,
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rule({:?})", self.source)
    }
}

impl PartialEq for Rule {
    fn eq(&self, other: &Rule) -> bool {
        self.source == other.source
    }
}

/// The standard library and the strings extension (`lowerAscii`, `split`, ...).
pub(crate) static ENV: LazyLock<Arc<Env>> = LazyLock::new(|| {
    let mut env = Env::stdlib();
    env.add_extension(cel::extensions::strings)
        .expect("the strings extension registers once");
    Arc::new(env)
});

impl Rule {
    /// Compile and check `source`.
    pub fn compile(source: &str) -> Result<Rule, RuleError> {
        let refuse = |reason: String, (line, column): (u32, u32)| RuleError {
            rule: source.to_string(),
            reason,
            line,
            column,
        };
        if source.trim().is_empty() {
            return Err(refuse("the rule is empty".into(), (1, 1)));
        }
        let program = ENV.compile(source).map_err(|e| {
            let first = e.errors.first();
            let at = first.map_or((1, 1), |e| (e.pos.0.max(1) as u32, e.pos.1.max(1) as u32));
            refuse(first.map_or(e.to_string(), |e| e.msg.clone()), at)
        })?;
        let mut vars = Vec::new();
        let mut unknown = None;
        walk(
            program.expression(),
            &mut Vec::new(),
            &mut |id, name| match VARIABLES.iter().find(|(v, _)| *v == name) {
                Some((v, _)) if !vars.contains(v) => vars.push(*v),
                Some(_) => {}
                None if unknown.is_none() => unknown = Some((id, name.to_string())),
                None => {}
            },
        );
        if let Some((id, name)) = unknown {
            let at = position(source, program.source_info().offset_for(id));
            let known: Vec<_> = VARIABLES.iter().map(|(v, _)| *v).collect();
            let reason = format!(
                "afserver lists no render field {name:?} (known: {})",
                known.join(", ")
            );
            return Err(refuse(reason, at));
        }
        let rule = Rule {
            source: source.to_string(),
            program: Arc::new(program),
            vars,
        };
        match rule.evaluate("", "/", &RenderFacts::default()) {
            Err(fault) if fault.typing => Err(refuse(fault.text, (1, 1))),
            _ => Ok(rule),
        }
    }

    /// The rule as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Does the rule select this render? An error says why it gave no bool.
    pub fn selects(
        &self,
        name: &str,
        native_pool: &str,
        facts: &RenderFacts,
    ) -> Result<bool, String> {
        self.evaluate(name, native_pool, facts).map_err(|f| f.text)
    }

    fn evaluate(&self, name: &str, native_pool: &str, facts: &RenderFacts) -> Result<bool, Fault> {
        let root = Context::with_env(ENV.clone());
        let mut ctx = root.new_inner_scope();
        for var in &self.vars {
            match fact(var, name, native_pool, facts) {
                Some(Fact::Text(s)) => ctx.add_variable_from_value(*var, s.to_string()),
                Some(Fact::Int(n)) => ctx.add_variable_from_value(*var, n),
                None => {}
            }
        }
        match self.program.execute(&ctx) {
            Ok(Value::Bool(b)) => Ok(b),
            Ok(other) => Err(Fault {
                typing: true,
                text: format!("the rule gives {other:?}, not true or false"),
            }),
            Err(e) => Err(Fault::from(e)),
        }
    }

    /// The values of the variables the rule names, for the render: why it was selected
    /// (`gpu_mem_total_mb=24576`).
    pub fn values(&self, name: &str, native_pool: &str, facts: &RenderFacts) -> String {
        let shown: Vec<String> = self
            .vars
            .iter()
            .filter_map(|v| fact(v, name, native_pool, facts).map(|f| format!("{v}={f}")))
            .collect();
        shown.join(" ")
    }
}

/// Why a rule gave no bool; `typing`: it never could (wrong types, unknown functions), not a
/// fault of one render's values.
pub(crate) struct Fault {
    /// It never could give a bool.
    pub typing: bool,
    /// What went wrong.
    pub text: String,
}

impl From<cel::ExecutionError> for Fault {
    fn from(e: cel::ExecutionError) -> Fault {
        use cel::ExecutionError as E;
        let typing = matches!(
            e,
            E::NoSuchOverload(_)
                | E::UnexpectedType { .. }
                | E::NotSupportedAsMethod { .. }
                | E::ValuesNotComparable(..)
                | E::UnsupportedBinaryOperator(..)
                | E::InvalidArgumentCount { .. }
                | E::UndeclaredReference(_)
        );
        Fault {
            typing,
            text: e.to_string(),
        }
    }
}

/// Calls `seen(id, name)` for every identifier `expr` reads that is not bound by a macro
/// (`exists(x, ...)` binds `x`) within it.
pub(crate) fn walk(expr: &IdedExpr, bound: &mut Vec<String>, seen: &mut impl FnMut(u64, &str)) {
    match &expr.expr {
        Expr::Ident(name) if !bound.iter().any(|b| b == name) => seen(expr.id, name),
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
        Expr::Call(call) => {
            if let Some(target) = &call.target {
                walk(target, bound, seen);
            }
            call.args.iter().for_each(|a| walk(a, bound, seen));
        }
        Expr::Select(select) => walk(&select.operand, bound, seen),
        Expr::List(list) => list.elements.iter().for_each(|e| walk(e, bound, seen)),
        Expr::Map(map) => map.entries.iter().for_each(|e| walk_entry(e, bound, seen)),
        Expr::Struct(s) => s.entries.iter().for_each(|e| walk_entry(e, bound, seen)),
        Expr::Comprehension(c) => {
            walk(&c.iter_range, bound, seen);
            walk(&c.accu_init, bound, seen);
            let n = bound.len();
            bound.push(c.iter_var.clone());
            bound.extend(c.iter_var2.clone());
            bound.push(c.accu_var.clone());
            for e in [&c.loop_cond, &c.loop_step, &c.result] {
                walk(e, bound, seen);
            }
            bound.truncate(n);
        }
    }
}

fn walk_entry(
    entry: &cel::common::ast::IdedEntryExpr,
    bound: &mut Vec<String>,
    seen: &mut impl FnMut(u64, &str),
) {
    use cel::common::ast::EntryExpr;
    match &entry.expr {
        EntryExpr::StructField(f) => walk(&f.value, bound, seen),
        EntryExpr::MapEntry(m) => {
            walk(&m.key, bound, seen);
            walk(&m.value, bound, seen);
        }
    }
}

/// Line and column (from 1) of byte offset `start` in `source`.
pub(crate) fn position(source: &str, offset: Option<(u32, u32)>) -> (u32, u32) {
    let start = offset
        .map_or(0, |(start, _)| start as usize)
        .min(source.len());
    let before = &source[..start];
    let line = before.matches('\n').count() as u32 + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
    (line, column)
}

#[cfg(test)]
mod tests;
