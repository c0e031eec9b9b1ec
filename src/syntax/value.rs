//! Values built from pieces of a file (the joined words of a line, the kept lines of a block), with
//! the map from their offsets back to the file.

use crate::source::{OffsetMap, Span};

/// A value and where each of its bytes was written.
#[derive(Debug, Default)]
pub(crate) struct ValueText {
    pub(crate) text: String,
    /// Value offsets to file offsets.
    pub(crate) map: OffsetMap,
}

impl ValueText {
    /// An empty value.
    pub(crate) fn new() -> Self {
        ValueText::default()
    }

    /// An empty value with room for `bytes`.
    pub(crate) fn with_capacity(bytes: usize) -> Self {
        ValueText {
            text: String::with_capacity(bytes),
            map: OffsetMap::identity(),
        }
    }

    /// Appends `piece`, which was written at file offset `at`.
    pub(crate) fn push(&mut self, piece: &str, at: usize) {
        self.map.push_copy(self.text.len(), at, piece.len());
        self.text.push_str(piece);
    }

    /// Appends text that is not in the file (a joining space, a line break), attributed to the
    /// file offset `at`.
    pub(crate) fn push_synthetic(&mut self, piece: &str, at: usize) {
        self.map.push_replaced(self.text.len(), piece.len(), at, 0);
        self.text.push_str(piece);
    }

    /// Appends `range` of another value, keeping where each of its bytes was written.
    pub(crate) fn push_from(&mut self, other: &ValueText, range: std::ops::Range<usize>) {
        let mut at = range.start;
        while at < range.end {
            let (end, copied) = other.map.segment_at(at);
            let end = end.min(range.end);
            let piece = &other.text[at..end];
            if copied {
                self.push(piece, other.map.offset(at));
            } else {
                self.push_synthetic(piece, other.map.offset(at));
            }
            at = end;
        }
    }

    /// The file span of a span of the value.
    pub(crate) fn file_span(&self, span: Span) -> Span {
        self.map.span(span)
    }

    /// The file span of the value without its surrounding whitespace, or of `fallback` when the
    /// value is blank.
    pub(crate) fn trimmed_file_span(&self, fallback: Span) -> Span {
        let start = self.text.len() - self.text.trim_start().len();
        let end = self.text.trim_end().len();
        if start >= end {
            fallback
        } else {
            self.file_span(Span::new(start, end))
        }
    }

    /// Drops the first and last byte when both are quotes, as the Tinybird CLI's `_unquote` does
    /// to a joined value.
    pub(crate) fn unquote(self) -> ValueText {
        let bytes = self.text.as_bytes();
        let is_quote = |b: u8| b == b'"' || b == b'\'';
        if bytes.len() >= 2 && is_quote(bytes[0]) && is_quote(bytes[bytes.len() - 1]) {
            let mut out = ValueText::new();
            for (offset, ch) in self.text[1..self.text.len() - 1].char_indices() {
                let at = self.map.offset(offset + 1);
                let mut buf = [0; 4];
                out.push(ch.encode_utf8(&mut buf), at);
            }
            out
        } else {
            self
        }
    }
}

/// The Tinybird CLI's `_unquote` on a string: strips one quote at each end when both ends are
/// quotes (not necessarily the same one).
pub(crate) fn unquote(text: &str) -> &str {
    let bytes = text.as_bytes();
    let is_quote = |b: u8| b == b'"' || b == b'\'';
    if bytes.len() >= 2 && is_quote(bytes[0]) && is_quote(bytes[bytes.len() - 1]) {
        &text[1..text.len() - 1]
    } else if bytes.len() == 1 && is_quote(bytes[0]) {
        // A lone quote is both first and last character: Python's x[1:-1] is empty.
        ""
    } else {
        text
    }
}

/// Python's `textwrap.dedent`: removes the longest run of leading spaces and tabs common to every
/// non-blank line. Blank lines become empty.
pub(crate) fn dedent(text: &str) -> String {
    let mut margin: Option<&str> = None;
    for line in text.lines() {
        let content = line.trim_start_matches([' ', '\t']);
        if content.is_empty() {
            continue;
        }
        let indent = &line[..line.len() - content.len()];
        margin = Some(match margin {
            None => indent,
            Some(m) => {
                let common = m
                    .bytes()
                    .zip(indent.bytes())
                    .take_while(|(a, b)| a == b)
                    .count();
                &m[..common]
            }
        });
    }
    let margin = margin.unwrap_or("");
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let body = line.strip_suffix('\n').unwrap_or(line);
        if body.trim_start_matches([' ', '\t']).is_empty() {
            if line.ends_with('\n') {
                out.push('\n');
            }
            continue;
        }
        out.push_str(&line[margin.len()..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedent_matches_python() {
        assert_eq!(dedent("    a\n      b\n"), "a\n  b\n");
        assert_eq!(dedent("  a\n\tb\n"), "  a\n\tb\n");
        assert_eq!(dedent("    a\n   \n    b"), "a\n\nb");
    }

    #[test]
    fn unquote_strips_any_pair_of_end_quotes() {
        assert_eq!(unquote("\"a b\""), "a b");
        assert_eq!(unquote("'a\""), "a");
        assert_eq!(unquote("\"a b\" c"), "\"a b\" c");
        assert_eq!(unquote("x"), "x");
    }
}
