//! Text for people: control characters escaped so that bytes from datafiles, token names and
//! workspace answers never reach a terminal (or an editor, or a CI log) as commands. Every output
//! meant to be read by a person goes through [`escape_controls`] or [`escape_source`]; JSON
//! output does not, as it must stay exact.
//!
//! It lives apart from `render` because the language server, which never imports `render`,
//! escapes its messages with it too.

use std::borrow::Cow;

/// True for the characters a terminal may act on: C0 controls other than tab and line feed,
/// DEL, and C1 controls (U+0080 to U+009F, which some terminals read as `ESC` sequences).
fn is_escaped(c: char) -> bool {
    match c {
        '\t' | '\n' => false,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        _ => false,
    }
}

/// Appends the visible form of a control character: `\x1b` for C0 and DEL, `\u{9b}` for C1.
fn push_escape(out: &mut String, c: char) {
    use std::fmt::Write;
    let code = u32::from(c);
    if code < 0x80 {
        let _ = write!(out, "\\x{code:02x}");
    } else {
        let _ = write!(out, "\\u{{{code:x}}}");
    }
}

/// The text with every control character but tab and line feed shown as an escape (`\x1b`,
/// `\x0d`, `\u{9b}`); borrowed when there is none.
pub(crate) fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_escaped) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_escaped(c) {
            push_escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A file's text escaped for a source snippet, with the map from the original's byte offsets
/// to the escaped text's, so that labels still point at what they pointed at.
#[derive(Debug, Clone)]
pub(crate) struct EscapedSource {
    /// The escaped text.
    pub(crate) text: String,
    /// Offsets of the original to offsets of `text`.
    pub(crate) map: EscapeMap,
}

/// Where the original's offsets are in an escaped text.
#[derive(Debug, Clone, Default)]
pub(crate) struct EscapeMap {
    /// For every escaped character: the original offset just after it and how many bytes the
    /// escaped text has gained up to there. Sorted by offset.
    growth: Vec<(usize, usize)>,
}

impl EscapeMap {
    /// The escaped text's offset for a char boundary of the original.
    pub(crate) fn offset(&self, original: usize) -> usize {
        let passed = self.growth.partition_point(|&(end, _)| end <= original);
        let gained = passed.checked_sub(1).map_or(0, |i| self.growth[i].1);
        original + gained
    }
}

/// A file's text escaped as [`escape_controls`] does, except carriage returns, which are line
/// breaks in datafiles (CRLF or alone) and which a snippet shows as such.
pub(crate) fn escape_source(text: &str) -> EscapedSource {
    let mut out = String::new();
    let mut growth = Vec::new();
    let mut copied = 0;
    for (offset, c) in text.char_indices() {
        if c == '\r' || !is_escaped(c) {
            continue;
        }
        out.push_str(&text[copied..offset]);
        let before = out.len();
        push_escape(&mut out, c);
        let gained = growth.last().map_or(0, |&(_, g)| g) + (out.len() - before) - c.len_utf8();
        copied = offset + c.len_utf8();
        growth.push((copied, gained));
    }
    if growth.is_empty() {
        return EscapedSource {
            text: text.to_owned(),
            map: EscapeMap::default(),
        };
    }
    out.push_str(&text[copied..]);
    EscapedSource {
        text: out,
        map: EscapeMap { growth },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_shown_and_the_rest_kept() {
        assert!(matches!(
            escape_controls("plain\ttext\nñ €"),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            escape_controls("a\x1b]0;T\x07b\r\x7f\u{9b}c\u{a0}"),
            "a\\x1b]0;T\\x07b\\x0d\\x7f\\u{9b}c\u{a0}"
        );
    }

    #[test]
    fn sources_keep_line_breaks_and_map_offsets() {
        let text = "ab\r\n\x1bc\u{85}d";
        let escaped = escape_source(text);
        assert_eq!(escaped.text, "ab\r\n\\x1bc\\u{85}d");
        let at = |offset| escaped.map.offset(offset);
        // Before the first escape, the same; after, shifted by what the escapes added.
        assert_eq!(at(2), 2);
        assert_eq!(at(4), 4);
        assert_eq!(&escaped.text[at(5)..at(6)], "c");
        assert_eq!(&escaped.text[at(8)..], "d");
        assert_eq!(at(text.len()), escaped.text.len());
    }
}
