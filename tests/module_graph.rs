//! The module import graph of `src/` (module = file) has no cycle, and only `commands/*` and
//! `main` import `cli`: the layering the README's concept map describes, checked on every test
//! run. `scripts/cycles.sh` prints the graph's cycles. The reader is in `tests/module_graph/`:
//! a tokenizer (`lex`), the module tree as rustc finds it (`tree`), the paths each module names
//! (`refs`), the resolved graph and its strongly connected components (`graph`).

#[path = "module_graph/graph.rs"]
mod graph;
#[path = "module_graph/lex.rs"]
mod lex;
#[path = "module_graph/refs.rs"]
mod refs;
#[path = "module_graph/tree.rs"]
mod tree;

use std::collections::BTreeMap;
use std::path::Path;

use graph::{cycles, graph, one_cycle, Graph};

/// Every `.rs` file under `dir`, keyed by its path relative to `root`.
fn read_sources(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            read_sources(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.insert(rel, std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// Modules other than `commands/*` and `main` that import `cli`.
fn cli_importers(g: &Graph) -> Vec<String> {
    g.iter()
        .filter(|(m, deps)| {
            let allowed = *m == "main" || *m == "commands" || m.starts_with("commands/");
            !allowed && deps.contains("cli")
        })
        .map(|(m, _)| m.clone())
        .collect()
}

/// The report `scripts/cycles.sh` prints: one line per cycle and per forbidden `cli` import.
fn report(g: &Graph) -> Vec<String> {
    let mut lines: Vec<String> = cycles(g)
        .iter()
        .map(|c| format!("cycle: {}", one_cycle(g, c).join(" -> ")))
        .collect();
    lines.extend(
        cli_importers(g)
            .into_iter()
            .map(|m| format!("imports cli: {m}")),
    );
    lines
}

#[test]
fn src_has_no_import_cycle_and_only_commands_import_cli() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    read_sources(&src, &src, &mut files);
    let g = graph(&files);
    assert!(g.len() > 100, "the tree was not read: {} modules", g.len());
    let edges: usize = g.values().map(|d| d.len()).sum();
    let lines = report(&g);
    println!(
        "{} modules, {} import edges, {} problems",
        g.len(),
        edges,
        lines.len()
    );
    for line in &lines {
        println!("{line}");
    }
    assert!(lines.is_empty(), "{}", lines.join("\n"));
}

/// A crate of `(file, source)` pairs.
fn crate_of(files: &[(&str, &str)]) -> Graph {
    graph(
        &files
            .iter()
            .map(|(f, s)| (f.to_string(), s.to_string()))
            .collect(),
    )
}

fn deps(g: &Graph, m: &str) -> Vec<String> {
    g[m].iter().cloned().collect()
}

#[test]
fn a_cycle_between_two_files_is_found_and_named() {
    let g = crate_of(&[
        ("lib.rs", "pub mod a;\npub mod b;\n"),
        ("a.rs", "use crate::b::Two;\npub struct One;"),
        ("b.rs", "pub struct Two(crate::a::One);"),
    ]);
    assert_eq!(cycles(&g), [["a", "b"]]);
    assert_eq!(report(&g), ["cycle: a -> b -> a"]);
}

#[test]
fn a_cycle_through_three_modules_and_a_reexport_is_found() {
    let g = crate_of(&[
        (
            "lib.rs",
            "pub mod cli;\npub mod commands;\npub mod submit;\n",
        ),
        (
            "cli.rs",
            "pub struct G;\npub enum C { E(crate::commands::explain::E) }",
        ),
        ("commands/mod.rs", "pub mod explain;"),
        (
            "commands/explain.rs",
            "use crate::submit::{self, Args};\npub struct E(Args);",
        ),
        ("submit/mod.rs", "mod args;\npub use args::Args;"),
        ("submit/args.rs", "use crate::cli::G;\npub struct Args(G);"),
    ]);
    assert_eq!(deps(&g, "commands/explain"), ["submit", "submit/args"]);
    assert_eq!(cycles(&g), [["cli", "commands/explain", "submit/args"]]);
    assert_eq!(
        report(&g),
        [
            "cycle: cli -> commands/explain -> submit/args -> cli",
            "imports cli: submit/args"
        ]
    );
}

#[test]
fn a_parent_owns_its_children_and_a_childs_super_is_an_edge() {
    let g = crate_of(&[
        ("lib.rs", "pub mod p;\npub mod q;"),
        (
            "p/mod.rs",
            "pub mod c;\npub mod d;\npub struct S;\nfn f() { c::go(); d::go(); }",
        ),
        ("p/c.rs", "use super::S;\nuse super::d::D;\npub fn go() {}"),
        ("p/d.rs", "pub struct D;\npub fn go() { crate::q::x(); }"),
        ("q.rs", "pub fn x() {}"),
    ]);
    assert!(cycles(&g).is_empty(), "{:?}", cycles(&g));
    assert_eq!(deps(&g, "p/c"), ["p", "p/d"]);
    assert_eq!(deps(&g, "p/d"), ["q"]);
    assert!(deps(&g, "p").is_empty());
}

#[test]
fn comments_strings_tests_and_other_crates_are_not_imports() {
    let g = crate_of(&[
        ("lib.rs", "pub mod a;\npub mod b;"),
        (
            "a.rs",
            "//! See [`crate::b`].\n/* crate::b::X */\nconst S: &str = \"crate::b::X\";\n\
             const R: &str = r#\"crate::b\"#;\nconst C: char = '\"';\nuse serde::b;\n\
             fn f<'a>(x: &'a str) -> &'a str { x }\n\
             #[cfg(test)]\nmod tests { use crate::b::Y; }\npub struct A;",
        ),
        ("b.rs", "pub struct B(crate::a::A);"),
    ]);
    assert!(deps(&g, "a").is_empty(), "{:?}", deps(&g, "a"));
    assert!(cycles(&g).is_empty());
}

#[test]
fn path_attributes_and_binaries_are_followed() {
    let g = crate_of(&[
        ("lib.rs", "pub mod cli;\npub mod job;"),
        ("cli.rs", "pub struct Cli;"),
        (
            "job.rs",
            "#[path = \"job/impl_x.rs\"]\nmod x;\npub use x::X;",
        ),
        ("job/impl_x.rs", "pub struct X(crate::cli::Cli);"),
        (
            "main.rs",
            "use afpool::cli::Cli;\nuse afpool::job::X;\nfn main() {}",
        ),
    ]);
    assert_eq!(deps(&g, "main"), ["cli", "job/x"]);
    assert_eq!(report(&g), ["imports cli: job/x"]);
}
