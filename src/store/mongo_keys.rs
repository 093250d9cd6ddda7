//! The keys a MongoDB pool document holds beside `name` and `clients` (a selector pool's
//! `select` and `except`, a spilling pool's `fallback`, `spill_below` and `spill_after`): read
//! tolerantly (a value of the wrong type reads as unset), written only when set (`$set`), removed
//! when cleared (`$unset`), so the older tool keeps reading the document.

use bson::{Bson, Document};

use super::{names, Selection, Spill};

/// The `fallback` pools (strings), `spill_below` (a number) and `spill_after` (a string) beside
/// `name`, tolerantly.
pub(super) fn spill_from_doc(doc: &Document) -> Spill {
    let fallback = doc.get_array("fallback").map_or(Vec::new(), |names| {
        names
            .iter()
            .filter_map(Bson::as_str)
            .map(str::to_string)
            .collect()
    });
    let below = match doc.get("spill_below") {
        Some(Bson::Int32(n)) => u32::try_from(*n).ok(),
        Some(Bson::Int64(n)) => u32::try_from(*n).ok(),
        Some(Bson::Double(n)) if n.fract() == 0.0 && *n >= 0.0 => Some(*n as u32),
        _ => None,
    };
    Spill {
        fallback,
        spill_below: below,
        spill_after: doc.get_str("spill_after").ok().map(str::to_string),
    }
}

/// The `select` rule (a string) and `except` hosts (strings) beside `name`, tolerantly.
pub(super) fn selection_from_doc(doc: &Document) -> Selection {
    let except = doc.get_array("except").map_or(Vec::new(), |hosts| {
        let named = hosts.iter().filter_map(Bson::as_str).map(str::to_string);
        names::dedupe_hosts(named)
    });
    Selection {
        select: doc.get_str("select").ok().map(str::to_string),
        except,
    }
}

/// An update that sets the fields with a value and removes the others (`$set`, `$unset`).
pub(super) fn set_or_unset<const N: usize>(fields: [(&str, Option<Bson>); N]) -> Document {
    let (mut set, mut unset) = (Document::new(), Document::new());
    for (key, value) in fields {
        match value {
            Some(v) => set.insert(key, v),
            None => unset.insert(key, ""),
        };
    }
    let mut update = Document::new();
    for (op, fields) in [("$set", set), ("$unset", unset)] {
        if !fields.is_empty() {
            update.insert(op, fields);
        }
    }
    update
}
