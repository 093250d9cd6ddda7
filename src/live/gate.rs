//! The gate on live moves: a job moved into a pool other than by a submission (a held job
//! coming back, a `spill_after` step, an afwatch `pool:NAME` edit) is routed as a live job, with
//! no policy; a pool whose policy checks who submits is therefore closed to such moves
//! (fail-closed: the job is submitted there instead).

use crate::job::poolexpr::PoolExpr;
use crate::store::Pool;

/// The first pool `reference` takes hosts from (the pool, or a pool an expression names outside
/// a `!`) whose policy checks who submits (an allow or deny list, allowed services). A job afpool
/// held (an unknown or empty pool) was never checked against it and its client's address is
/// gone, so it stays held rather than come back around the check (fail-closed).
pub fn checks_submitters(reference: &str, pools: &[Pool]) -> Option<String> {
    let guards =
        |name: &str| (pools.iter()).any(|p| p.name == name && p.policy.checks_submitters());
    if pools.iter().any(|p| p.name == reference) {
        return guards(reference).then(|| reference.to_string());
    }
    let expr = PoolExpr::parse(reference).ok()?;
    let found = expr.positive_names().into_iter().find(|n| guards(n));
    found.map(str::to_string)
}
