//! [`Member`]: why a host is a member of a pool (`static`, or the values a rule read), and
//! for a scheduled member its windows and when it next joins or leaves.

use serde::Serialize;

/// Why a host is a member of a pool, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    /// The host, as typed or as afserver spells it.
    pub host: String,
    /// `static` (typed into the pool), or the values the rule read (`gpu_mem_total_mb=24576`).
    pub why: String,
    /// Whether afserver lists it.
    pub listed: bool,
    /// Its windows (empty: always a member, when listed or typed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub during: Vec<String>,
    /// Whether it is a member now (false only outside its windows).
    pub member_now: bool,
    /// When it next joins or leaves, in the pool's zone
    /// (`2026-12-08T07:00:00+01:00[Europe/Berlin]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_change: Option<String>,
    /// The same, short, for people: `Tue 07:00 CET`.
    #[serde(skip)]
    pub next_change_short: Option<String>,
}

impl Member {
    /// Why, and for a scheduled member its windows and when it next joins or leaves:
    /// `static, window Mon-Fri 19:00-07:00 (member now; leaves Tue 07:00 CET)`.
    pub fn describe(&self) -> String {
        if self.during.is_empty() {
            return self.why.clone();
        }
        let state = match (self.member_now, &self.next_change_short) {
            (true, Some(at)) => format!("member now; leaves {at}"),
            (false, Some(at)) => format!("not a member now; joins {at}"),
            (true, None) => "member now".to_string(),
            (false, None) => "not a member now".to_string(),
        };
        let plural = if self.during.len() > 1 {
            "windows"
        } else {
            "window"
        };
        let windows = self.during.join(", ");
        format!("{}, {plural} {windows} ({state})", self.why)
    }
}
