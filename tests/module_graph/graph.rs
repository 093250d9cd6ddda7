//! The module import graph (module = file) and its cycles. A module depends on the module each
//! of its paths resolves to, through `pub use` re-exports to the file that defines the item. A
//! module's paths into its own descendants are ownership, not imports, and are not edges; a
//! child's `super::` is.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::refs::{refs, Ref};
use super::tree::Tree;

/// Module name → the names of the modules it imports.
pub type Graph = BTreeMap<String, BTreeSet<String>>;

/// The import graph of the crate whose sources are `files` (paths relative to `src/`).
pub fn graph(files: &BTreeMap<String, String>) -> Graph {
    let tree = Tree::new(files);
    let all: Vec<Vec<Ref>> = tree
        .modules
        .iter()
        .map(|m| refs(&m.toks, m.binary))
        .collect();
    let exports = exports(&tree, &all);
    let mut g = Graph::new();
    for (m, module_refs) in tree.modules.iter().zip(&all) {
        let edges = g.entry(m.name.clone()).or_default();
        for r in module_refs {
            let Some(abs) = absolute(&tree, m.binary, &m.path, &r.path) else {
                continue;
            };
            let target = resolve(&tree, &exports, abs, 0);
            let t = &tree.modules[target];
            let owned = !m.binary && t.path.starts_with(&m.path);
            if !owned {
                edges.insert(t.name.clone());
            }
        }
    }
    g
}

/// Per library module: name it re-exports → the absolute path it comes from.
fn exports(tree: &Tree, all: &[Vec<Ref>]) -> Vec<HashMap<String, Vec<String>>> {
    let mut out = vec![HashMap::new(); tree.modules.len()];
    for (i, (m, module_refs)) in tree.modules.iter().zip(all).enumerate() {
        for r in module_refs {
            if let (Some(name), Some(abs)) =
                (&r.exported, absolute(tree, m.binary, &m.path, &r.path))
            {
                out[i].insert(name.clone(), abs);
            }
        }
    }
    out
}

/// `path` as written in the module at `here`, made absolute from the library root; `None` for
/// another crate's path (or the binary's own).
fn absolute(tree: &Tree, binary: bool, here: &[String], path: &[String]) -> Option<Vec<String>> {
    let (first, rest) = path.split_first()?;
    let mut base: Vec<String> = match first.as_str() {
        "afpool" if binary => Vec::new(),
        _ if binary => return None,
        "crate" => Vec::new(),
        "self" => here.to_vec(),
        "super" => here[..here.len().checked_sub(1)?].to_vec(),
        _ => {
            let mut child = here.to_vec();
            child.push(first.clone());
            tree.get(&child)?;
            return Some([here, path].concat());
        }
    };
    let mut rest = rest;
    while let Some((seg, more)) = rest.split_first() {
        if seg != "super" {
            break;
        }
        base.pop()?;
        rest = more;
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The module (index) defining what absolute `path` names: its deepest module, then through
/// that module's re-export of the next segment, if it has one.
fn resolve(
    tree: &Tree,
    exports: &[HashMap<String, Vec<String>>],
    path: Vec<String>,
    depth: usize,
) -> usize {
    let mut at = 0;
    let mut used = 0;
    while used < path.len() {
        match tree.get(&path[..=used]) {
            Some(m) => {
                at = m;
                used += 1;
            }
            None => break,
        }
    }
    if let (Some(item), true) = (path.get(used), depth < 16) {
        if let Some(source) = exports[at].get(item) {
            let mut next = source.clone();
            next.extend(path[used + 1..].iter().cloned());
            return resolve(tree, exports, next, depth + 1);
        }
    }
    at
}

/// The graph's cycles: each strongly connected component of more than one module, its module
/// names sorted (every module of one is on a cycle with every other).
pub fn cycles(g: &Graph) -> Vec<Vec<String>> {
    let mut sccs = Tarjan::run(g);
    sccs.retain(|c| c.len() > 1);
    for c in &mut sccs {
        c.sort();
    }
    sccs.sort();
    sccs
}

/// One cycle from the first of `members` (a component of [`cycles`]) back to it, for the report.
pub fn one_cycle(g: &Graph, members: &[String]) -> Vec<String> {
    let inside: BTreeSet<&String> = members.iter().collect();
    let start = &members[0];
    let mut prev: BTreeMap<&String, &String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        for next in g
            .get(n)
            .into_iter()
            .flatten()
            .filter(|x| inside.contains(x))
        {
            if next == start {
                let mut path = vec![n.clone()];
                let mut at = n;
                while at != start {
                    at = prev[at];
                    path.push(at.clone());
                }
                path.reverse();
                path.push(start.clone());
                return path;
            }
            if !prev.contains_key(next) && next != start {
                prev.insert(next, n);
                queue.push_back(next);
            }
        }
    }
    members.to_vec()
}

/// Tarjan's strongly connected components over the graph.
struct Tarjan<'g> {
    g: &'g Graph,
    index: HashMap<&'g str, usize>,
    low: HashMap<&'g str, usize>,
    stack: Vec<&'g str>,
    on_stack: BTreeSet<&'g str>,
    out: Vec<Vec<String>>,
}

impl<'g> Tarjan<'g> {
    fn run(g: &'g Graph) -> Vec<Vec<String>> {
        let mut t = Tarjan {
            g,
            index: HashMap::new(),
            low: HashMap::new(),
            stack: Vec::new(),
            on_stack: BTreeSet::new(),
            out: Vec::new(),
        };
        for n in g.keys() {
            if !t.index.contains_key(n.as_str()) {
                t.visit(n);
            }
        }
        t.out
    }

    fn visit(&mut self, n: &'g str) {
        let i = self.index.len();
        self.index.insert(n, i);
        self.low.insert(n, i);
        self.stack.push(n);
        self.on_stack.insert(n);
        for m in self.g.get(n).into_iter().flatten() {
            let m = m.as_str();
            if !self.index.contains_key(m) {
                self.visit(m);
                let low = self.low[n].min(self.low[m]);
                self.low.insert(n, low);
            } else if self.on_stack.contains(m) {
                let low = self.low[n].min(self.index[m]);
                self.low.insert(n, low);
            }
        }
        if self.low[n] == self.index[n] {
            let mut scc = Vec::new();
            while let Some(m) = self.stack.pop() {
                self.on_stack.remove(m);
                scc.push(m.to_string());
                if m == n {
                    break;
                }
            }
            self.out.push(scc);
        }
    }
}
