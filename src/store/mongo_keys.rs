//! The keys a MongoDB pool document holds beside `name` and `clients` (a selector pool's
//! `select` and `except`, scheduled members' `during` and `time_zone`, a spilling pool's `fallback`, `spill_below` and `spill_after`): read
//! tolerantly (a value of the wrong type reads as unset), written only when set (`$set`), removed
//! when cleared (`$unset`), so the older tool keeps reading the document.

use bson::{doc, Bson, Document};

use super::{names, selection, Selection, Spill};

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
        during: during_from_doc(doc),
        time_zone: doc.get_str("time_zone").ok().map(str::to_string),
    }
}

/// `during` (a list of `{hostname, windows}`), tolerantly: entries of another shape are skipped.
pub(super) fn during_from_doc(doc: &Document) -> std::collections::BTreeMap<String, Vec<String>> {
    let Ok(entries) = doc.get_array("during") else {
        return Default::default();
    };
    let read = |b: &Bson| bson::from_bson::<selection::StoredWindows>(b.clone()).ok();
    let stored: Vec<_> = entries.iter().filter_map(read).collect();
    selection::during_from_stored(&stored)
}

/// `during` as stored: a list of `{hostname, windows}` (host names hold dots, which older MongoDB
/// servers refuse in field names).
pub(super) fn during_to_bson(during: &std::collections::BTreeMap<String, Vec<String>>) -> Bson {
    let entry = |s: selection::StoredWindows| doc! { "hostname": s.hostname, "windows": s.windows };
    let entries = selection::during_to_stored(during).into_iter().map(entry);
    Bson::Array(entries.map(Bson::Document).collect())
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
