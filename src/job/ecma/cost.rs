//! What a piece of pattern costs afserver, computed bottom-up while parsing, without building
//! libstdc++'s NFA:
//!
//! - **States**, counted as libstdc++'s `_Compiler` inserts them (`bits/regex_compiler.tcc`): one
//!   per character, class, `.`, back-reference or assertion; a dummy closing every alternative
//!   (sequence); two per `|`; two per capturing group, one per `(?:`, two per look-ahead; one per
//!   `*`/`+`, two per `?`. A counted repeat `{m,n}` keeps its operand as an orphan and appends
//!   `m + (n-m)` clones of it (a clone copies only the operand's reachable, *live*, states), a
//!   dummy before and after them, and one repeat state per optional copy; `{m,}` appends `m + 1`
//!   clones and one repeat state. The whole pattern adds 3 (group 0 and the accept state).
//! - **Matcher frames**: libstdc++ matches by recursion (`_Executor::_M_dfs`), ~150 bytes of stack
//!   per frame that is not a tail call (measured with g++ 12 -O2): each character consumed, two
//!   per capturing group, one per back-reference, per `|` taken on its left side and per lazy
//!   repeat left, two per repeat iteration. `frames` is the most such frames a path keeps outside
//!   loops; a loop's iterations are charged per consumed character (`per_char`, summed along
//!   nested loops) or, for bodies that can match empty, to the two entries per position
//!   libstdc++ allows (`empty`); a look-ahead's nested search is transient (`excess`). Copies of
//!   an operand that cannot match empty are entered at most once per character. Names are
//!   assumed at most [`NAME_BOUND`] bytes long.

/// The longest render name the frame bound assumes (host names are at most 253 bytes).
pub(super) const NAME_BOUND: u64 = 255;

/// The cost of a piece of pattern; all sums saturate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Cost {
    /// States libstdc++ inserts for it, orphans included.
    pub(super) created: u64,
    /// States reachable from its start: what a clone copies.
    pub(super) live: u64,
    /// Most non-tail matcher frames along one path, loops left out.
    pub(super) frames: u64,
    /// Most frames one consumed character can add through the loops it iterates.
    pub(super) per_char: u64,
    /// Frames from empty loop iterations, summed over loops.
    pub(super) empty: u64,
    /// Most frames a look-ahead's nested search adds for a moment on top of the path.
    pub(super) excess: u64,
    /// Whether it can match the empty string.
    pub(super) nullable: bool,
}

fn add(a: u64, b: u64) -> u64 {
    a.saturating_add(b)
}

fn mul(a: u64, b: u64) -> u64 {
    a.saturating_mul(b)
}

impl Cost {
    /// One state: a character, class or `.` (not nullable), or an assertion (nullable).
    pub(super) const fn state(nullable: bool) -> Cost {
        Cost {
            created: 1,
            live: 1,
            frames: 0,
            per_char: 0,
            empty: 0,
            excess: 0,
            nullable,
        }
    }

    /// A back-reference: one state, one frame, may match empty.
    pub(super) const fn backref() -> Cost {
        Cost {
            frames: 1,
            ..Cost::state(true)
        }
    }

    /// The dummy state that ends every alternative: an empty sequence costs just this.
    pub(super) const fn empty_sequence() -> Cost {
        Cost::state(true)
    }

    /// `self` followed by `next` in a sequence.
    pub(super) fn then(self, next: Cost) -> Cost {
        Cost {
            created: add(self.created, next.created),
            live: add(self.live, next.live),
            frames: add(self.frames, next.frames),
            per_char: self.per_char.max(next.per_char),
            empty: add(self.empty, next.empty),
            excess: self.excess.max(next.excess),
            nullable: self.nullable && next.nullable,
        }
    }

    /// `self|other`: an alternative state and a dummy; taking the left side is a frame.
    pub(super) fn or(self, other: Cost) -> Cost {
        Cost {
            created: add(add(self.created, other.created), 2),
            live: add(add(self.live, other.live), 2),
            frames: add(self.frames, 1).max(other.frames),
            per_char: self.per_char.max(other.per_char),
            empty: add(self.empty, other.empty),
            excess: self.excess.max(other.excess),
            nullable: self.nullable || other.nullable,
        }
    }

    /// `(...)` (two states and frames) or `(?:...)` (one dummy state).
    pub(super) fn group(self, capturing: bool) -> Cost {
        let (states, frames) = if capturing { (2, 2) } else { (1, 0) };
        Cost {
            created: add(self.created, states),
            live: add(self.live, states),
            frames: add(self.frames, frames),
            ..self
        }
    }

    /// `(?=...)`/`(?!...)`: two states; matched by a nested executor, then a tail call.
    pub(super) fn lookahead(self) -> Cost {
        Cost {
            created: add(self.created, 2),
            live: add(self.live, 2),
            frames: 0,
            per_char: 0,
            empty: 0,
            excess: add(self.total_frames(), 3),
            nullable: true,
        }
    }

    /// `X*` (`plus: false`) or `X+`: one repeat state looping back to the operand.
    pub(super) fn looped(self, plus: bool, lazy: bool) -> Cost {
        Cost {
            created: add(self.created, 1),
            live: add(self.live, 1),
            frames: add(if plus { self.frames } else { 0 }, u64::from(lazy)),
            per_char: add(self.iteration(), self.per_char),
            empty: add(self.empty, self.empty_entries()),
            nullable: !plus || self.nullable,
            ..self
        }
    }

    /// `X?`: a repeat state and a dummy.
    pub(super) fn optional(self, lazy: bool) -> Cost {
        Cost {
            created: add(self.created, 2),
            live: add(self.live, 2),
            frames: add(self.iteration(), u64::from(lazy)),
            nullable: true,
            ..self
        }
    }

    /// `X{min,max}` (`max: None` for `X{min,}`): the operand stays as an orphan, clones follow.
    pub(super) fn counted(self, min: u64, max: Option<u64>, lazy: bool) -> Cost {
        let mandatory = mul(self.passes(min), self.frames);
        let (extra, frames, per_char, empty) = match max {
            None => (
                add(self.live, 1),
                add(mandatory, u64::from(lazy)),
                add(self.iteration(), self.per_char),
                add(mul(add(min, 1), self.empty), self.empty_entries()),
            ),
            Some(max) => {
                let optional = max.saturating_sub(min);
                let each = add(self.iteration(), u64::from(lazy));
                (
                    add(mul(optional, add(self.live, 1)), 1),
                    add(mandatory, mul(self.passes(optional), each)),
                    self.per_char,
                    mul(max, self.empty),
                )
            }
        };
        let live = add(add(mul(min, self.live), extra), 1);
        Cost {
            created: add(self.created, live),
            live,
            frames,
            per_char,
            empty,
            nullable: min == 0 || self.nullable,
            ..self
        }
    }

    /// The whole pattern: group 0's two states and the accept state.
    pub(super) fn whole(self) -> Cost {
        Cost {
            created: add(self.created, 3),
            live: add(self.live, 3),
            ..self
        }
    }

    /// The most frames matching a name of at most [`NAME_BOUND`] bytes can stack up.
    pub(super) fn total_frames(&self) -> u64 {
        let persistent = add(self.frames, mul(NAME_BOUND, add(self.per_char, 1)));
        add(add(persistent, self.empty), self.excess)
    }

    /// Frames one iteration (or one optional copy) keeps: two for the repeat, then the body.
    fn iteration(&self) -> u64 {
        add(self.frames, 2)
    }

    /// How many of `copies` copies in a row a match can enter: one per character at most,
    /// unless the operand can match empty.
    fn passes(&self, copies: u64) -> u64 {
        if self.nullable {
            copies
        } else {
            copies.min(NAME_BOUND + 1)
        }
    }

    /// Frames of the empty iterations of a loop over `self`: two entries per position.
    fn empty_entries(&self) -> u64 {
        if self.nullable {
            mul(2 * (NAME_BOUND + 1), self.iteration())
        } else {
            0
        }
    }
}
