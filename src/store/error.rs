//! [`StoreError`]: what a pool store's callers branch on (not found, taken, a refused name,
//! host, rule, schedule, spill-over, policy or default rule list, the backend unavailable).

/// Errors a caller can branch on.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// No pool with that name.
    #[error("no pool named '{0}'")]
    NotFound(String),
    /// A pool with that name exists already.
    #[error("a pool named '{0}' already exists")]
    AlreadyExists(String),
    /// The pool name is not acceptable.
    #[error("invalid pool name '{0}': {1}")]
    InvalidName(String, String),
    /// A host name is not acceptable.
    #[error("invalid host name '{0}': {1}")]
    InvalidHost(String, String),
    /// A `select` rule is not acceptable (the reason says where).
    #[error("invalid select rule: {0}")]
    InvalidRule(String),
    /// Spill-over settings are not acceptable.
    #[error("invalid spill-over: {0}")]
    InvalidSpill(String),
    /// A member window or the pool's time zone is not acceptable (the reason says which).
    #[error("invalid schedule: {0}")]
    InvalidSchedule(String),
    /// A pool policy is not acceptable (the reason says what and where).
    #[error("invalid policy: {0}")]
    InvalidPolicy(String),
    /// The default pool rules are not acceptable (the reason says which rule and where).
    #[error("invalid default pool rules: {0}")]
    InvalidRules(String),
    /// The backend cannot be reached or failed.
    #[error("pool store unavailable: {0}")]
    Unavailable(String),
}
