//! The parsed pattern: a tree of [`Node`]s in one arena, with the classes (one [`ByteSet`] per
//! case mode) kept aside. The parser builds it; the matcher's program is compiled from it.

use super::bytes::ByteSet;

/// An index into [`Ast::nodes`].
pub(super) type NodeId = u32;

/// One piece of a pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Node {
    /// Matches the empty string (an empty alternative).
    Empty,
    /// One byte.
    Byte(u8),
    /// `.`: any byte but `\n` and `\r`.
    Any,
    /// A class: `[...]`, `\d`..., an index into [`Ast::classes`].
    Class(u32),
    /// `\N`.
    Backref(u32),
    /// `^`
    LineBegin,
    /// `$`
    LineEnd,
    /// `\b`, or `\B` (`neg`).
    WordBound {
        /// `\B`
        neg: bool,
    },
    /// `(?=body)`, or `(?!body)` (`neg`).
    Lookahead {
        /// `(?!`
        neg: bool,
        /// What must (not) follow.
        body: NodeId,
    },
    /// `(body)` with its group number, or `(?:body)` (`None`).
    Group {
        /// The capture group number, from 1.
        index: Option<u32>,
        /// The group's content.
        body: NodeId,
    },
    /// A sequence: the nodes `Ast::kids[first..first + len]`.
    Concat {
        /// Where the children start in [`Ast::kids`].
        first: u32,
        /// How many.
        len: u32,
    },
    /// Alternatives, left first: the nodes `Ast::kids[first..first + len]`.
    Alt {
        /// Where the children start in [`Ast::kids`].
        first: u32,
        /// How many.
        len: u32,
    },
    /// `body{min,max}` (`max: None` for no upper bound); `*` is `{0,}` and `?` is `{0,1}`.
    /// `plus` marks `+`, which loops over the operand itself instead of a copy of it.
    Repeat {
        /// The operand.
        body: NodeId,
        /// Fewest repetitions.
        min: u32,
        /// Most repetitions.
        max: Option<u32>,
        /// `*?`, `+?`, `??`, `{..}?`: fewest first.
        lazy: bool,
        /// `+`
        plus: bool,
    },
}

/// A parsed pattern.
#[derive(Debug, Default)]
pub(super) struct Ast {
    /// Every node; children come before their parent.
    pub(super) nodes: Vec<Node>,
    /// Children of sequences and alternatives.
    pub(super) kids: Vec<NodeId>,
    /// Classes: what each matches case-sensitively (`[0]`) and case-insensitively (`[1]`).
    pub(super) classes: Vec<[ByteSet; 2]>,
    /// The whole pattern.
    pub(super) root: NodeId,
    /// Capture groups, group 0 (the whole match) included.
    pub(super) groups: u32,
}

impl Ast {
    /// Adds a node and returns its id.
    pub(super) fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        (self.nodes.len() - 1) as NodeId
    }

    /// Adds a class node.
    pub(super) fn class(&mut self, sets: [ByteSet; 2]) -> NodeId {
        self.classes.push(sets);
        self.push(Node::Class((self.classes.len() - 1) as u32))
    }

    /// Adds `items` as one node: `Empty` for none, the item itself for one, else `make(first,
    /// len)` over the children.
    pub(super) fn list(&mut self, items: &[NodeId], make: fn(u32, u32) -> Node) -> NodeId {
        match items {
            [] => self.push(Node::Empty),
            [one] => *one,
            _ => {
                let first = self.kids.len() as u32;
                self.kids.extend_from_slice(items);
                self.push(make(first, items.len() as u32))
            }
        }
    }

    /// The children of a `Concat` or `Alt` node.
    pub(super) fn children(&self, first: u32, len: u32) -> &[NodeId] {
        &self.kids[first as usize..(first + len) as usize]
    }
}
