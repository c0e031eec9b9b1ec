//! The words of a directive's line, split as the Tinybird CLI splits them (Python's non-POSIX
//! `shlex`, which the grammar's `word` rule also follows): a word that starts with a quote runs to
//! the same quote on the line and ends there, quotes inside other words are ordinary characters,
//! `#` outside quotes starts a comment, and only spaces and tabs separate words.
//!
//! The grammar reads a directive as its command and the rest of the line; the rest is split here.
//! Reading each word with pest rules cost about a dozen rule calls a word, a fifth of all the
//! parsing; the `words_agree_with_the_grammar` test in `syntax/mod.rs` keeps both splits the same.

use crate::source::Span;

/// A word of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Word<'t> {
    /// The word as written, quotes included.
    pub(crate) text: &'t str,
    pub(crate) span: Span,
    /// It is a quoted word (its quotes are its first and last characters).
    pub(crate) quoted: bool,
    /// It opens a quote that never closes: the rest of the line.
    pub(crate) unclosed: bool,
}

impl<'t> Word<'t> {
    /// The word without its quotes.
    pub(crate) fn unquoted(&self) -> &'t str {
        if self.quoted {
            &self.text[1..self.text.len() - 1]
        } else {
            self.text
        }
    }
}

/// Appends the words of `text` (the rest of a line, without its line break), which starts at
/// file offset `base`, to `words`.
pub(crate) fn split<'t>(text: &'t str, base: usize, words: &mut Vec<Word<'t>>) {
    let bytes = text.as_bytes();
    let mut i = 0;
    loop {
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t') {
            i += 1;
        }
        let Some(&first) = bytes.get(i) else {
            return;
        };
        let start = i;
        let (end, quoted, unclosed) = match first {
            b'#' => return,
            b'"' | b'\'' => match memchr::memchr(first, &bytes[i + 1..]) {
                Some(close) => (i + 1 + close + 1, true, false),
                None => (bytes.len(), false, true),
            },
            _ => {
                let rest = &bytes[i..];
                let len = rest
                    .iter()
                    .position(|b| matches!(b, b' ' | b'\t' | b'#'))
                    .unwrap_or(rest.len());
                (i + len, false, false)
            }
        };
        words.push(Word {
            text: &text[start..end],
            span: Span::new(base + start, base + end),
            quoted,
            unclosed,
        });
        if unclosed {
            return;
        }
        i = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &str) -> Vec<(&str, bool, bool)> {
        let mut words = Vec::new();
        split(line, 0, &mut words);
        words
            .iter()
            .map(|w| (w.text, w.quoted, w.unclosed))
            .collect()
    }

    #[test]
    fn shlex_rules() {
        assert_eq!(texts("a  \tb"), [("a", false, false), ("b", false, false)]);
        assert_eq!(
            texts("\"a b\"c d"),
            [
                ("\"a b\"", true, false),
                ("c", false, false),
                ("d", false, false)
            ]
        );
        assert_eq!(
            texts("it's x#y z"),
            [("it's", false, false), ("x", false, false)]
        );
        assert_eq!(
            texts("a 'b c"),
            [("a", false, false), ("'b c", false, true)]
        );
        assert_eq!(texts("  # only a comment"), []);
    }
}
