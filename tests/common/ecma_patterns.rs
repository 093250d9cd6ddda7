//! Seeded random inputs for `tests/ecma_agreement.rs`: regex patterns built from the pieces
//! people (and afpool) write and the ones that trip libstdc++'s grammar, and host-like names to
//! match them against.

/// Host-like names, plus near misses, bytes the patterns play with, and names made of the
/// pattern's own literal bytes (so that many of them match).
pub fn names(rng: &mut fastrand::Rng, pattern: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = [
        "",
        "a",
        "A",
        "b",
        "ab",
        "aa",
        "aab",
        "abab",
        "render01",
        "Render01",
        "render0",
        "render09",
        "gpu.node3",
        "gpu-node3",
        "GPU_node3",
        "node_1",
        "x-y.z",
        "0",
        "01",
        "é",
        "Aé",
        "a\nb",
        "-",
        "_",
        ".",
        "ba",
        "bb",
    ]
    .iter()
    .map(|n| n.as_bytes().to_vec())
    .collect();
    let alphabet: &[&[u8]] = &[
        b"a",
        b"b",
        b"A",
        b"B",
        b"0",
        b"1",
        b"-",
        b"_",
        b".",
        "é".as_bytes(),
        b"x",
    ];
    for _ in 0..12 {
        let len = rng.usize(0..7);
        out.push(
            (0..len)
                .flat_map(|_| alphabet[rng.usize(..alphabet.len())].to_vec())
                .collect(),
        );
    }
    let literal: Vec<u8> = pattern
        .iter()
        .copied()
        .filter(|b| b.is_ascii_alphanumeric())
        .collect();
    for _ in 0..8 {
        let name: Vec<u8> = literal
            .iter()
            .copied()
            .filter(|_| rng.u8(..) < 200)
            .collect();
        let mut doubled = name.clone();
        if let Some(i) = (!name.is_empty()).then(|| rng.usize(..name.len())) {
            doubled.insert(i, name[i]);
        }
        out.extend([name, doubled]);
    }
    out
}

/// A random pattern from tricky pieces: `clean` ones only use valid pieces (to test matching in
/// depth), the others are sometimes broken in the ways people break patterns.
struct Gen<'r> {
    rng: &'r mut fastrand::Rng,
    out: Vec<u8>,
    clean: bool,
}

impl Gen<'_> {
    fn pick(&mut self, options: &[&str]) {
        let s = options[self.rng.usize(..options.len())];
        self.out.extend_from_slice(s.as_bytes());
    }

    /// True now and then, never for a clean pattern.
    fn break_it(&mut self, chance: u8) -> bool {
        !self.clean && self.rng.u8(..) < chance
    }

    fn disjunction(&mut self, depth: usize) {
        self.sequence(depth);
        while self.rng.u8(..) < 50 {
            self.out.push(b'|');
            self.sequence(depth);
        }
    }

    fn sequence(&mut self, depth: usize) {
        for _ in 0..self.rng.usize(0..5) {
            self.term(depth);
        }
    }

    fn term(&mut self, depth: usize) {
        match self.rng.u8(..100) {
            0..=39 => self.pick(&["a", "b", "A", "0", "-", "_", "é", "x", "]", "}", "\u{1}"]),
            40..=47 => self.pick(&[".", "^", "$", r"\b", r"\B"]),
            48..=59 => self.escape(),
            60..=71 => self.bracket(),
            72..=89 if depth > 0 => self.group(depth - 1),
            90..=93 => self.pick(&[r"\1", r"\2", r"\3"]),
            94..=95 if self.break_it(255) => {
                self.pick(&["(", ")", "{", "[", "\\", "(?", "(?<a>", "*", "|"])
            }
            _ => self.pick(&["a", "b"]),
        }
        let assertion = matches!(self.out.last(), Some(b'^' | b'$' | b'B' | b'b'));
        while self.rng.u8(..) < 70 && (!assertion || self.break_it(255)) {
            self.quantifier();
        }
    }

    fn escape(&mut self) {
        self.pick(&[
            r"\d", r"\D", r"\w", r"\W", r"\s", r"\S", r"\.", r"\-", r"\x41", r"\u0062", r"\u0141",
            r"\cA", r"\0", r"\n", r"\t", r"\k", r"\p", r"\/", r"\xe9", r"\f",
        ]);
        if self.break_it(20) {
            self.pick(&[r"\x4", r"\c", r"\u12"]);
        }
    }

    fn bracket(&mut self) {
        self.pick(&["[", "[", "[^"]);
        if self.rng.bool() {
            self.pick(&["]", "-", "^", "a"]);
        }
        for _ in 0..self.rng.usize(0..4) {
            self.pick(&[
                "a",
                "b",
                "z",
                "A",
                "0",
                "9",
                "-",
                "a-z",
                "0-9",
                "A-Z",
                "--0",
                "é",
                "[:alpha:]",
                "[:digit:]",
                "[:lower:]",
                "[:upper:]",
                "[:w:]",
                "[.a.]",
                "[.hyphen.]",
                "[=a=]",
                "[=B=]",
                r"\d",
                r"\W",
                r"\s",
                r"\b",
                r"\x41",
                r"\u0062",
                r"\]",
                r"\\",
                "[",
                ".",
                r"\cb",
                "Z-a",
            ]);
            if self.break_it(25) {
                self.pick(&[
                    "z-a",
                    "[:foo:]",
                    "[.0.]",
                    r"\B",
                    r"\1",
                    "\u{7f}-\u{80}",
                    r"\d-z",
                ]);
            }
        }
        if !self.break_it(10) {
            self.out.push(b']');
        }
    }

    fn group(&mut self, depth: usize) {
        self.pick(&["(", "(", "(?:", "(?:", "(?=", "(?!"]);
        let lookahead = self.out.ends_with(b"(?=") || self.out.ends_with(b"(?!");
        self.disjunction(depth);
        if !self.break_it(8) {
            self.out.push(b')');
        }
        if lookahead && !self.break_it(255) {
            self.pick(&["a", "b", ""]);
        }
    }

    fn quantifier(&mut self) {
        self.pick(&[
            "*", "+", "?", "*?", "+?", "??", "{2}", "{0}", "{1,}", "{0,2}", "{2,3}?", "{01}",
        ]);
        if self.break_it(20) {
            self.pick(&["{3,1}", "{,2}", "{", "{x}", "{1"]);
        }
    }
}

pub fn random_pattern(rng: &mut fastrand::Rng) -> Vec<u8> {
    let clean = rng.bool();
    let mut g = Gen {
        rng,
        out: Vec::new(),
        clean,
    };
    g.disjunction(3);
    g.out
}
