//! Seeded random inputs for `tests/ecma_agreement.rs`: regex patterns built from the pieces
//! people (and afpool) write and the ones that trip libstdc++'s grammar, and host-like names to
//! match them against. Piece lists are space-separated.

/// Names every pattern is matched against: host names, near misses, bytes patterns play with.
const NAMES: &str = "a A b ab aa aab abab render01 Render01 render0 render09 gpu.node3 gpu-node3 \
                     GPU_node3 node_1 x-y.z 0 01 é Aé - _ . ba bb";
/// Bytes of the random names.
const NAME_BYTES: &str = "a b A B 0 1 - _ . é x";
/// Characters, and characters libstdc++ reads as characters although they look special.
const CHARS: &str = "a b A 0 - _ é x ] } \u{1}";
const ASSERTIONS: &str = r". ^ $ \b \B";
const ESCAPES: &str = r"\d \D \w \W \s \S \. \- \x41 \u0062 \u0141 \cA \0 \n \t \k \p \/ \xe9 \f";
const BAD_ESCAPES: &str = r"\x4 \c \u12";
const BRACKET_ITEMS: &str = r"a b z A 0 9 - a-z 0-9 A-Z --0 é [:alpha:] [:digit:] [:lower:]
    [:upper:] [:w:] [.a.] [.hyphen.] [=a=] [=B=] \d \W \s \b \x41 \u0062 \] \\ [ . \cb Z-a";
const BAD_BRACKET_ITEMS: &str = "z-a [:foo:] [.0.] \\B \\1 \u{7f}-\u{80} \\d-z";
const QUANTIFIERS: &str = "* + ? *? +? ?? {2} {0} {1,} {0,2} {2,3}? {01}";
const BAD_QUANTIFIERS: &str = "{3,1} {,2} { {x} {1";
const STRAYS: &str = r"( ) { [ \ (? (?<a> * |";

/// Host-like names, plus random ones, and names made of the pattern's own letters and digits
/// (so that many of them match).
pub fn names(rng: &mut fastrand::Rng, pattern: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = vec![Vec::new()];
    out.extend(NAMES.split_whitespace().map(|n| n.as_bytes().to_vec()));
    let bytes: Vec<&str> = NAME_BYTES.split_whitespace().collect();
    for _ in 0..12 {
        let len = rng.usize(0..7);
        let name = (0..len).flat_map(|_| bytes[rng.usize(..bytes.len())].bytes());
        out.push(name.collect());
    }
    let letters: Vec<u8> = pattern
        .iter()
        .copied()
        .filter(u8::is_ascii_alphanumeric)
        .collect();
    for _ in 0..8 {
        let name: Vec<u8> = letters
            .iter()
            .copied()
            .filter(|_| rng.u8(..) < 200)
            .collect();
        let mut doubled = name.clone();
        if !name.is_empty() {
            let i = rng.usize(..name.len());
            doubled.insert(i, name[i]);
        }
        out.extend([name, doubled]);
    }
    out
}

/// A random pattern: half of them `clean` (only valid pieces, to test matching in depth), the
/// others sometimes broken in the ways people break patterns.
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

struct Gen<'r> {
    rng: &'r mut fastrand::Rng,
    out: Vec<u8>,
    clean: bool,
}

impl Gen<'_> {
    fn pick(&mut self, pieces: &str) {
        let pieces: Vec<&str> = pieces.split_whitespace().collect();
        let piece = pieces[self.rng.usize(..pieces.len())];
        self.out.extend_from_slice(piece.as_bytes());
    }

    /// True now and then (`chance` in 256), never in a clean pattern.
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
            0..=39 => self.pick(CHARS),
            40..=47 => self.pick(ASSERTIONS),
            48..=59 => self.escape(),
            60..=71 => self.bracket(),
            72..=89 if depth > 0 => self.group(depth - 1),
            90..=93 => self.pick(r"\1 \2 \3"),
            94..=95 if self.break_it(255) => self.pick(STRAYS),
            _ => self.pick("a b"),
        }
        let assertion = matches!(self.out.last(), Some(b'^' | b'$' | b'B' | b'b'));
        while self.rng.u8(..) < 70 && (!assertion || self.break_it(255)) {
            self.pick(QUANTIFIERS);
            if self.break_it(20) {
                self.pick(BAD_QUANTIFIERS);
            }
        }
    }

    fn escape(&mut self) {
        self.pick(ESCAPES);
        if self.break_it(20) {
            self.pick(BAD_ESCAPES);
        }
    }

    fn bracket(&mut self) {
        self.pick("[ [ [^");
        if self.rng.bool() {
            self.pick("] - ^ a");
        }
        for _ in 0..self.rng.usize(0..4) {
            self.pick(BRACKET_ITEMS);
            if self.break_it(25) {
                self.pick(BAD_BRACKET_ITEMS);
            }
        }
        if !self.break_it(10) {
            self.out.push(b']');
        }
    }

    fn group(&mut self, depth: usize) {
        self.pick("( ( (?: (?: (?= (?!");
        let lookahead = self.out.ends_with(b"(?=") || self.out.ends_with(b"(?!");
        self.disjunction(depth);
        if !self.break_it(8) {
            self.out.push(b')');
        }
        if lookahead && !self.break_it(255) {
            self.pick("a b");
        }
    }
}
