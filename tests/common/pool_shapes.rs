//! Pool shapes of issue 26, each on a farm of 5,000 hosts, and near misses of their members: what
//! the mask tests check exactness on (afpool's matcher in `src/job/compact_tests.rs`, libstdc++ in
//! `tests/std_regex.rs`) and what `examples/mask_cost.rs` times. Deterministic (fixed seeds).
#![allow(dead_code)]

use std::collections::HashSet;

/// Hosts in every farm.
pub const FARM: usize = 5_000;

/// One pool on its farm.
pub struct Shape {
    /// Short name for reports (`gpu10`, `render1000`, `ws100`, `fqdn2000`).
    pub name: &'static str,
    /// What it stands for, in words.
    pub about: &'static str,
    /// The pool's members.
    pub members: Vec<String>,
    /// Every host of the farm, members included, in farm order.
    pub farm: Vec<String>,
}

impl Shape {
    /// The farm's hosts outside the pool.
    pub fn outsiders(&self) -> Vec<String> {
        let members: HashSet<&String> = self.members.iter().collect();
        self.farm
            .iter()
            .filter(|h| !members.contains(h))
            .cloned()
            .collect()
    }
}

fn numbered(prefix: &str, width: usize, range: std::ops::RangeInclusive<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix}{i:0width$}")).collect()
}

fn hex_fqdn(rng: &mut fastrand::Rng, n: usize, taken: &mut HashSet<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let name = format!("n{:04x}.farm.studio.local", rng.u16(..));
        if taken.insert(name.clone()) {
            out.push(name);
        }
    }
    out
}

const FIRST_NAMES: [&str; 40] = [
    "anna", "ben", "carla", "dev", "eva", "finn", "gita", "hugo", "ines", "jon", "kai", "lena",
    "max", "nora", "otto", "paula", "quinn", "rosa", "sam", "tara", "uli", "vera", "will", "xena",
    "yuri", "zoe", "ada", "bob", "cleo", "dan", "emil", "fay", "gus", "hana", "ivan", "jade",
    "karl", "lou", "mia", "ned",
];

/// 100 workstations of mixed shapes: `ws-anna19.studio.local` (most), `ws-ben07-gpu.studio.local`,
/// `carla-laptop`.
fn workstations(rng: &mut fastrand::Rng) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    while out.len() < 100 {
        let who = FIRST_NAMES[rng.usize(..FIRST_NAMES.len())];
        let n = rng.u8(..100);
        let name = match rng.u8(..20) {
            0..=14 => format!("ws-{who}{n:02}.studio.local"),
            15..=17 => format!("ws-{who}{n:02}-gpu.studio.local"),
            _ => format!("{who}-laptop"),
        };
        if seen.insert(name.clone()) {
            out.push(name);
        }
    }
    out
}

/// The four shapes of issue 26's table.
pub fn shapes() -> Vec<Shape> {
    let mut rng = fastrand::Rng::with_seed(26);
    let gpu = numbered("gpu", 3, 1..=10);
    let mut gpu_farm = gpu.clone();
    gpu_farm.extend(numbered("render", 4, 1..=FARM - gpu.len()));
    let render_farm = numbered("render", 4, 1..=FARM);
    let ws = workstations(&mut rng);
    let mut taken: HashSet<String> = HashSet::new();
    let mut ws_farm = ws.clone();
    ws_farm.extend(hex_fqdn(&mut rng, FARM - ws.len(), &mut taken));
    let mut taken = HashSet::new();
    let fqdn_farm = hex_fqdn(&mut rng, FARM, &mut taken);
    vec![
        Shape {
            name: "gpu10",
            about: "10 numbered (gpu001..gpu010)",
            members: gpu,
            farm: gpu_farm,
        },
        Shape {
            name: "render1000",
            about: "1,000 numbered (render0001..render1000)",
            members: render_farm[..1000].to_vec(),
            farm: render_farm,
        },
        Shape {
            name: "ws100",
            about: "100 mixed workstations (ws-anna19.studio.local, ws-ben07-gpu.studio.local, carla-laptop)",
            members: ws,
            farm: ws_farm,
        },
        Shape {
            name: "fqdn2000",
            about: "2,000 random FQDN (n04af.farm.studio.local)",
            members: fqdn_farm[..2000].to_vec(),
            farm: fqdn_farm,
        },
    ]
}

/// Names near the members that are not members: one character more (at the end, the start and
/// inside), one less (last, first, inside), one changed (and the first letter upper-cased),
/// another domain or none (or one added), and a member as the prefix of a longer name.
pub fn near_misses(members: &[String]) -> Vec<String> {
    let set: HashSet<&str> = members.iter().map(String::as_str).collect();
    let mut rng = fastrand::Rng::with_seed(0x6e65_6172);
    let mut out: Vec<String> = Vec::new();
    let alphabet: Vec<char> = "0123456789abcdefz.-".chars().collect();
    for m in members {
        let chars: Vec<char> = m.chars().collect();
        let n = chars.len();
        let at = rng.usize(..n);
        let c = alphabet[rng.usize(..alphabet.len())];
        let with = |i: usize, s: &[char]| -> String {
            chars[..i].iter().chain(s).chain(&chars[i..]).collect()
        };
        let without = |i: usize| -> String { chars[..i].iter().chain(&chars[i + 1..]).collect() };
        let changed: String = {
            let mut v = chars.clone();
            let other = alphabet.iter().find(|&&a| a != v[at]).copied().unwrap();
            v[at] = if c != v[at] { c } else { other };
            v.into_iter().collect()
        };
        out.extend([
            format!("{m}{c}"),
            with(0, &[c]),
            with(at, &[c]),
            without(n - 1),
            without(0),
            without(at),
            changed,
            format!("{}{}", chars[0].to_ascii_uppercase(), &m[1..]),
            format!("{m}-old"),
            format!("{m}0"),
        ]);
        match m.split_once('.') {
            Some((host, _)) => {
                out.push(host.to_string());
                out.push(format!("{host}.other.local"));
                out.push(format!("{m}.studio.local"));
            }
            None => out.push(format!("{m}.studio.local")),
        }
    }
    out.extend(
        [
            "",
            "a",
            "gpu",
            "render",
            "ws-",
            ".studio.local",
            "n.farm.studio.local",
        ]
        .map(String::from),
    );
    let mut seen = HashSet::new();
    out.retain(|n| !set.contains(n.as_str()) && seen.insert(n.clone()));
    out
}
