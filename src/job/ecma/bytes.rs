//! Bytes as libstdc++'s `std::regex` sees them in afserver: the "C" locale (afserver never sets
//! another), where only ASCII has classes and case, and `char` is signed (so ranges compare
//! bytes 0x80..=0xFF as negative numbers). Holds [`ByteSet`], the POSIX class names of
//! `[[:name:]]`, and the collating-element names of `[[.name.]]`/`[[=name=]]`.

/// A set of bytes, one bit per byte value: what one bracket, escape or literal matches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ByteSet([u64; 4]);

impl ByteSet {
    /// The set of bytes for which `f` holds.
    pub(crate) fn from_fn(f: impl Fn(u8) -> bool) -> ByteSet {
        let mut set = ByteSet::default();
        for b in 0..=255u8 {
            if f(b) {
                set.insert(b);
            }
        }
        set
    }

    /// The bytes equal to `c` ignoring ASCII case: `tolower(x) == tolower(c)`.
    pub(crate) fn either_case(c: u8) -> ByteSet {
        let mut set = ByteSet::default();
        set.insert(lower(c));
        set.insert(upper(c));
        set
    }

    /// Adds `b`.
    pub(crate) fn insert(&mut self, b: u8) {
        self.0[usize::from(b >> 6)] |= 1 << (b & 63);
    }

    /// Whether `b` is in the set.
    pub(crate) fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }

    /// Adds every byte of `other`.
    pub(crate) fn union(&mut self, other: &ByteSet) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a |= b;
        }
    }

    /// Every byte not in the set.
    pub(crate) fn complement(&self) -> ByteSet {
        ByteSet(self.0.map(|w| !w))
    }
}

/// `std::tolower` in the "C" locale.
pub(crate) fn lower(b: u8) -> u8 {
    b.to_ascii_lowercase()
}

/// `std::toupper` in the "C" locale.
pub(crate) fn upper(b: u8) -> u8 {
    b.to_ascii_uppercase()
}

/// A byte as libstdc++ compares it in ranges: `char` is signed on afserver's platforms.
pub(crate) fn signed(b: u8) -> i8 {
    b as i8
}

/// What `\b` counts as a word character: `[[:alnum:]_]`.
pub(crate) fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The bytes of a class name as `regex_traits::lookup_classname` reads it (the name is
/// lower-cased first, so `[[:ALPHA:]]` is valid). With `icase`, `lower` and `upper` mean
/// `alpha`. `None` for an unknown name.
pub(crate) fn class(name: &[u8], icase: bool) -> Option<ByteSet> {
    let name = name.to_ascii_lowercase();
    let test: fn(u8) -> bool = match name.as_slice() {
        b"d" | b"digit" => |b| b.is_ascii_digit(),
        b"w" => is_word,
        b"s" | b"space" => |b| matches!(b, b'\t'..=b'\r' | b' '),
        b"alnum" => |b| b.is_ascii_alphanumeric(),
        b"alpha" => |b| b.is_ascii_alphabetic(),
        b"lower" | b"upper" if icase => |b| b.is_ascii_alphabetic(),
        b"lower" => |b| b.is_ascii_lowercase(),
        b"upper" => |b| b.is_ascii_uppercase(),
        b"blank" => |b| b == b'\t' || b == b' ',
        b"cntrl" => |b| b < 0x20 || b == 0x7f,
        b"graph" => |b| b.is_ascii_graphic(),
        b"print" => |b| (0x20..0x7f).contains(&b),
        b"punct" => |b| b.is_ascii_punctuation(),
        b"xdigit" => |b| b.is_ascii_hexdigit(),
        _ => return None,
    };
    Some(ByteSet::from_fn(test))
}

/// The byte a collating-element name stands for (`regex_traits::lookup_collatename`): the
/// POSIX names of the 128 ASCII characters, case-sensitive (`a`, `A`, `space`, `hyphen`,
/// `zero`, `NUL`, ...). Digits and most punctuation have only their long names.
pub(crate) fn collating_element(name: &[u8]) -> Option<u8> {
    let name = std::str::from_utf8(name).ok()?;
    if let [c] = name.as_bytes() {
        if c.is_ascii_alphabetic() {
            return Some(*c);
        }
    }
    let index = COLLATING_NAMES.iter().position(|n| *n == name)?;
    Some(if index < 32 {
        index as u8
    } else {
        NAMED_PUNCT[index - 32]
    })
}

/// Names of bytes 0..=31, then of the ASCII punctuation, digits, space and DEL below.
const COLLATING_NAMES: [&str; 32 + 44] = [
    "NUL",
    "SOH",
    "STX",
    "ETX",
    "EOT",
    "ENQ",
    "ACK",
    "alert",
    "backspace",
    "tab",
    "newline",
    "vertical-tab",
    "form-feed",
    "carriage-return",
    "SO",
    "SI",
    "DLE",
    "DC1",
    "DC2",
    "DC3",
    "DC4",
    "NAK",
    "SYN",
    "ETB",
    "CAN",
    "EM",
    "SUB",
    "ESC",
    "IS4",
    "IS3",
    "IS2",
    "IS1",
    "space",
    "exclamation-mark",
    "quotation-mark",
    "number-sign",
    "dollar-sign",
    "percent-sign",
    "ampersand",
    "apostrophe",
    "left-parenthesis",
    "right-parenthesis",
    "asterisk",
    "plus-sign",
    "comma",
    "hyphen",
    "period",
    "slash",
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "colon",
    "semicolon",
    "less-than-sign",
    "equals-sign",
    "greater-than-sign",
    "question-mark",
    "commercial-at",
    "left-square-bracket",
    "backslash",
    "right-square-bracket",
    "circumflex",
    "underscore",
    "grave-accent",
    "left-curly-bracket",
    "vertical-line",
    "right-curly-bracket",
    "tilde",
    "DEL",
];

/// The bytes named by `COLLATING_NAMES[32..]`, in the same order.
const NAMED_PUNCT: &[u8; 44] = b" !\"#$%&'()*+,-./0123456789:;<=>?@[\\]^_`{|}~\x7f";
