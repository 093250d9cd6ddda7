//! The flags `afpool` and `afsubmit` share, below both command lines: where settings and pools
//! come from ([`GlobalArgs`]) and the routing flags ([`RoutingArgs`]). Flag values have their own
//! enums here, mapped onto the routing core's settings, so `job` does not depend on clap.

use std::path::PathBuf;

use clap::builder::{EnumValueParser, TypedValueParser};
use clap::{Args, ValueEnum};

use crate::job::{MaskMode, MaskType, Policy};
use crate::secret::SecretUri;

/// Where settings and pools come from; shared by `afpool` (global flags) and `afsubmit`.
#[derive(Debug, Args, Default, Clone)]
pub struct GlobalArgs {
    /// TOML config file (flags and AFPOOL_* variables override it).
    #[arg(long, global = true, env = "AFPOOL_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Pool store: `file:PATH` (embedded, the default) or a `mongodb://...` URI (legacy
    /// afpools.pools shape). Its value is never printed (its password is redacted in logs).
    #[arg(
        long,
        global = true,
        env = "AFPOOL_STORE",
        value_name = "SPEC",
        hide_env_values = true
    )]
    pub store: Option<SecretUri>,
    /// Read the MongoDB address from the old Python tool's poolmanager/config.json.
    #[arg(long, global = true, env = "AFPOOL_LEGACY_CONFIG", value_name = "PATH")]
    pub legacy_config: Option<PathBuf>,
}

impl GlobalArgs {
    /// The config file (if any) with these flags applied over it.
    pub fn load_config(&self) -> anyhow::Result<crate::config::Config> {
        let mut config = match &self.config {
            Some(path) => crate::config::Config::load(path)?,
            None => crate::config::Config::default(),
        };
        if let Some(spec) = &self.store {
            config.store = Some(spec.clone());
        }
        if let Some(path) = &self.legacy_config {
            config.legacy_config = Some(path.display().to_string());
        }
        Ok(config)
    }
}

/// Routing flags shared by `serve` and `afsubmit`.
#[derive(Debug, Args, Default, Clone)]
pub struct RoutingArgs {
    /// Pool for jobs that name none.
    #[arg(long, env = "AFPOOL_DEFAULT_POOL", value_name = "NAME")]
    pub default_pool: Option<String>,
    /// Which mask the pool is written into [default: exclude].
    #[arg(long, env = "AFPOOL_MASK_MODE", value_parser = values::<MaskModeArg, MaskMode>())]
    pub mask_mode: Option<MaskMode>,
    /// How to read masks of jobs without hosts_mask_type [default: find, afserver's default].
    #[arg(long, env = "AFPOOL_ASSUME_MASK_TYPE", value_parser = values::<MaskTypeArg, MaskType>())]
    pub assume_mask_type: Option<MaskType>,
    /// Policy for a job naming a pool that does not exist [default: hold].
    #[arg(long, env = "AFPOOL_ON_UNKNOWN_POOL", value_parser = values::<PolicyArg, Policy>())]
    pub on_unknown_pool: Option<Policy>,
    /// Policy for a job whose pool has no usable hosts (none, none its own mask allows, or too
    /// many to write as a mask afserver accepts) [default: hold].
    #[arg(long, env = "AFPOOL_ON_EMPTY_POOL", value_parser = values::<PolicyArg, Policy>())]
    pub on_empty_pool: Option<Policy>,
    /// Do not prefix the job annotation with `[pool: NAME]`.
    #[arg(long, env = "AFPOOL_NO_ANNOTATE")]
    pub no_annotate: bool,
}

impl RoutingArgs {
    /// Apply these flags over the config file's routing settings.
    pub fn apply(&self, settings: &mut crate::job::RouteSettings) {
        if let Some(p) = &self.default_pool {
            settings.default_pool = Some(p.clone());
        }
        if let Some(m) = self.mask_mode {
            settings.mask_mode = m;
        }
        if let Some(t) = self.assume_mask_type {
            settings.assume_mask_type = t;
        }
        if let Some(p) = self.on_unknown_pool {
            settings.on_unknown_pool = p;
        }
        if let Some(p) = self.on_empty_pool {
            settings.on_empty_pool = p;
        }
        if self.no_annotate {
            settings.annotate = false;
        }
    }
}

/// Parses a flag with the values of the CLI enum `A` into the core setting `T`.
fn values<A, T>() -> impl TypedValueParser<Value = T>
where
    A: ValueEnum + Clone + Send + Sync + 'static,
    T: From<A> + Clone + Send + Sync + 'static,
{
    EnumValueParser::<A>::new().map(T::from)
}

/// `--on-unknown-pool` and `--on-empty-pool` values (the core's [`Policy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyArg {
    /// Forward the job paused (`"offline": true`) with an annotation that says why.
    Hold,
    /// Do not forward; answer the submitter with an error in its own framing.
    Reject,
    /// Forward the job unchanged but annotated.
    Pass,
}

impl From<PolicyArg> for Policy {
    fn from(arg: PolicyArg) -> Policy {
        match arg {
            PolicyArg::Hold => Policy::Hold,
            PolicyArg::Reject => Policy::Reject,
            PolicyArg::Pass => Policy::Pass,
        }
    }
}

/// `--mask-mode` values (the core's [`MaskMode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MaskModeArg {
    /// `hosts_mask_exclude` = every host that is not a pool member, known or not (a negative
    /// look-ahead of the members, merged with the user's exclude).
    Exclude,
    /// `hosts_mask` = the pool's hosts (intersected with the user's include mask).
    Include,
    /// Both of the above.
    Both,
}

impl From<MaskModeArg> for MaskMode {
    fn from(arg: MaskModeArg) -> MaskMode {
        match arg {
            MaskModeArg::Exclude => MaskMode::Exclude,
            MaskModeArg::Include => MaskMode::Include,
            MaskModeArg::Both => MaskMode::Both,
        }
    }
}

/// `--assume-mask-type` values (the core's [`MaskType`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MaskTypeArg {
    /// Tokens split on `|;,: `, each a case-sensitive name prefix (afserver 3.4 default).
    Find,
    /// Full-match regular expression.
    Regex,
}

impl From<MaskTypeArg> for MaskType {
    fn from(arg: MaskTypeArg) -> MaskType {
        match arg {
            MaskTypeArg::Find => MaskType::Find,
            MaskTypeArg::Regex => MaskType::Regex,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    /// Each flag value maps to the core value the config file spells the same way.
    fn same_names<A, T>()
    where
        A: ValueEnum + Copy,
        T: From<A> + Serialize,
    {
        for arg in A::value_variants() {
            let flag = arg.to_possible_value().unwrap().get_name().to_string();
            let core = serde_json::to_value(T::from(*arg)).unwrap();
            assert_eq!(core, serde_json::Value::String(flag));
        }
    }

    #[test]
    fn flag_values_are_the_config_file_values() {
        same_names::<PolicyArg, Policy>();
        same_names::<MaskModeArg, MaskMode>();
        same_names::<MaskTypeArg, MaskType>();
    }
}
