//! Routing settings: which pool to use by default, how masks are written, and what to do with a
//! job that cannot be routed.

use serde::{Deserialize, Serialize};

/// What to do with a job whose pool cannot be used (unknown pool, pool with no hosts, masks too
/// large for afserver).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// Forward the job paused (`"offline": true`) with an annotation that says why.
    #[default]
    Hold,
    /// Do not forward; answer the submitter with an error in its own framing.
    Reject,
    /// Forward the job unchanged but annotated.
    Pass,
}

/// Which job mask the pool is written into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MaskMode {
    /// `hosts_mask_exclude` = every host that is not a pool member, known or not (a negative
    /// look-ahead of the members, merged with the user's exclude).
    #[default]
    Exclude,
    /// `hosts_mask` = the pool's hosts (intersected with the user's include mask).
    Include,
    /// Both of the above.
    Both,
}

/// How afserver reads a mask (`hosts_mask_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MaskType {
    /// Tokens split on `|;,: `, each a case-sensitive name prefix (afserver 3.4 default).
    #[default]
    Find,
    /// Full-match regular expression.
    Regex,
}

/// Everything [`crate::job::route`] needs besides the job and the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RouteSettings {
    /// Pool for jobs that name none (none by default).
    pub default_pool: Option<String>,
    /// Which mask(s) to write.
    pub mask_mode: MaskMode,
    /// How to read a job's masks when the job has no `hosts_mask_type` (afserver uses the user's
    /// mode, `find` for new users).
    pub assume_mask_type: MaskType,
    /// Prefix the job annotation with `[pool: NAME]`.
    pub annotate: bool,
    /// Policy when the named pool does not exist.
    pub on_unknown_pool: Policy,
    /// Policy when the pool has no hosts (none the job's own mask allows, or masks too large for
    /// afserver to accept).
    pub on_empty_pool: Policy,
}

impl Default for RouteSettings {
    fn default() -> Self {
        RouteSettings {
            default_pool: None,
            mask_mode: MaskMode::Exclude,
            assume_mask_type: MaskType::Find,
            annotate: true,
            on_unknown_pool: Policy::Hold,
            on_empty_pool: Policy::Hold,
        }
    }
}
