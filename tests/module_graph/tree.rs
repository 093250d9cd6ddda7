//! The module tree: which file is which module, found as rustc finds it, from `src/lib.rs` (and
//! the binaries' roots) through every `mod NAME;` (with its `#[path]`), test modules left out.

use std::collections::{BTreeMap, HashMap};

use super::lex::{tokens, without_tests, Tok};

/// One module (one file).
#[derive(Debug)]
pub struct Module {
    /// Its name in reports: `crate` for the library root, `a/b` for `crate::a::b`, `main` and
    /// `bin/NAME` for the binaries' roots.
    pub name: String,
    /// Its path from the library root (empty for the root and for a binary root).
    pub path: Vec<String>,
    /// A binary's root: it reaches the library as `afpool::`.
    pub binary: bool,
    /// Its tokens, test items removed.
    pub toks: Vec<Tok>,
}

/// Every module of the crate whose sources are `files` (paths relative to `src/`).
#[derive(Debug, Default)]
pub struct Tree {
    /// The modules, the library root first.
    pub modules: Vec<Module>,
    /// Library module path → index in `modules`.
    pub by_path: HashMap<Vec<String>, usize>,
}

impl Tree {
    /// The tree of `files` (relative path → source).
    pub fn new(files: &BTreeMap<String, String>) -> Tree {
        let mut tree = Tree::default();
        tree.load(files, "lib.rs", Vec::new(), false, "crate".into());
        for file in files.keys() {
            let bin = file == "main.rs" || (file.starts_with("bin/") && !file[4..].contains('/'));
            if bin {
                let name = file.trim_end_matches(".rs").to_string();
                tree.load(files, file, Vec::new(), true, name);
            }
        }
        tree
    }

    fn load(
        &mut self,
        files: &BTreeMap<String, String>,
        file: &str,
        path: Vec<String>,
        binary: bool,
        name: String,
    ) {
        let Some(src) = files.get(file) else { return };
        let toks = without_tests(&tokens(src));
        let children = declared_children(&toks);
        let index = self.modules.len();
        if !binary {
            self.by_path.insert(path.clone(), index);
        }
        self.modules.push(Module {
            name,
            path: path.clone(),
            binary,
            toks,
        });
        if binary {
            return;
        }
        let dir = parent_dir(file);
        let mod_rs = file == "lib.rs" || file.ends_with("/mod.rs") || file == "mod.rs";
        let child_dir = if mod_rs {
            dir.clone()
        } else {
            format!(
                "{dir}{}/",
                file.trim_end_matches(".rs").rsplit('/').next().unwrap()
            )
        };
        for (child, attr) in children {
            let found = match attr {
                Some(p) => Some(format!("{dir}{p}")),
                None => [
                    format!("{child_dir}{child}.rs"),
                    format!("{child_dir}{child}/mod.rs"),
                ]
                .into_iter()
                .find(|f| files.contains_key(f)),
            };
            let mut child_path = path.clone();
            child_path.push(child);
            if let Some(f) = found {
                let name = child_path.join("/");
                self.load(files, &f, child_path, false, name);
            }
        }
    }

    /// The library module at `path`, if there is one.
    pub fn get(&self, path: &[String]) -> Option<usize> {
        self.by_path.get(path).copied()
    }
}

/// `"a/b/"` for `"a/b/c.rs"`, `""` for `"c.rs"`.
fn parent_dir(file: &str) -> String {
    match file.rfind('/') {
        Some(i) => file[..=i].to_string(),
        None => String::new(),
    }
}

/// The `mod NAME;` declarations of a file, each with its `#[path = "..."]` if it has one.
fn declared_children(toks: &[Tok]) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut pending: Option<String> = None;
    for (i, t) in toks.iter().enumerate() {
        match t {
            Tok::Ident(k) if k == "path" => {
                if let [Tok::Punct('['), _] = &toks[i.saturating_sub(1)..=i] {
                    if let (Some(Tok::Punct('=')), Some(Tok::Str(p))) =
                        (toks.get(i + 1), toks.get(i + 2))
                    {
                        pending = Some(p.clone());
                    }
                }
            }
            Tok::Ident(k) if k == "mod" => {
                if let (Some(Tok::Ident(name)), Some(Tok::Punct(';'))) =
                    (toks.get(i + 1), toks.get(i + 2))
                {
                    out.push((name.clone(), pending.take()));
                }
            }
            Tok::Punct(';' | '{' | '}') => pending = None,
            _ => {}
        }
    }
    out
}
