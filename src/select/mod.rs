//! Selector pools: a pool whose members are chosen by what afserver says a render is. A pool's
//! `select` rule ([`rule::Rule`], CEL) is evaluated against each render's [`facts::RenderFacts`];
//! its members are its static hosts, plus the renders the rule selects, minus its `except`
//! list ([`resolve`]). The resolved pools feed routing and re-targeting exactly as typed host
//! lists do ([`feed`]), so a render that starts to match, or stops, moves live jobs like a
//! pool edit.

pub mod clock;
pub mod facts;
pub mod feed;
pub mod member;
pub mod resolve;
pub mod rule;
pub mod window;
