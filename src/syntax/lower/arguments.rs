//! What follows a command: the words of its line, or the value of its block, and the values
//! lowering builds from them the way the CLI does.

use pest::iterators::Pair;

use super::Rule;
use crate::source::Span;
use crate::syntax::value::{ValueText, unquote};
use crate::syntax::words::Word;

/// A word the grammar read (a command, the words of a block head).
#[inline]
pub(super) fn word_of<'t>(pair: &Pair<'t, Rule>) -> Word<'t> {
    Word {
        text: pair.as_str(),
        span: Span::from(pair.as_span()),
        quoted: pair.as_rule() == Rule::quoted,
        unclosed: pair.as_rule() == Rule::unclosed,
    }
}

/// What follows a command: the words of its line, or the value of its block.
pub(super) enum Arguments<'w, 't> {
    Line(&'w [Word<'t>]),
    Block {
        marker: Span,
        value: ValueText,
        /// Where the block's lines are, for values and empty-block errors.
        body: Span,
    },
}

/// The words of a line joined with `separator`, quotes kept, as the CLI's `" ".join(args)`.
#[inline]
pub(super) fn joined(args: &[Word<'_>], separator: &str) -> ValueText {
    let mut value = ValueText::new();
    for (i, word) in args.iter().enumerate() {
        if i > 0 {
            value.push_synthetic(separator, word.span.start);
        }
        value.push(word.text, word.span.start);
    }
    value
}

/// A `KEY value` setting's value: joined, trimmed and unquoted, with its span (an empty span at
/// the end of the line when there is no value).
#[inline]
pub(super) fn setting_value(args: Arguments<'_, '_>, line: Span) -> (String, Span) {
    let value = match args {
        Arguments::Line(args) => joined(args, " "),
        Arguments::Block { value, .. } => value,
    };
    let span = value.trimmed_file_span(Span::at(line.end));
    let trimmed = value.text.trim();
    (unquote(trimmed).to_owned(), span)
}

/// The value of a block: its lines after the head, without the blank and comment-only ones,
/// each followed by `\n`.
pub(super) fn block_value(body: &str, body_start: usize) -> ValueText {
    let mut value = ValueText::with_capacity(body.len());
    let bytes = body.as_bytes();
    // Kept LF-ended lines in a row are copied as one piece: the value is then the body as
    // written, and maps back to the file in one segment.
    let mut run: Option<usize> = None;
    let flush = |value: &mut ValueText, run: &mut Option<usize>, end: usize| {
        if let Some(start) = run.take() {
            value.push(&body[start..end], body_start + start);
        }
    };
    let mut i = 0;
    while i < bytes.len() {
        // Each line starts after a line break.
        let break_len = if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            2
        } else {
            1
        };
        let start = i + break_len;
        let end = memchr::memchr2(b'\n', b'\r', &bytes[start..]).map_or(body.len(), |e| start + e);
        let line = &body[start..end];
        if is_blank_for_cli(line) {
            flush(&mut value, &mut run, start);
        } else if bytes.get(end) == Some(&b'\n') {
            run.get_or_insert(start);
        } else {
            flush(&mut value, &mut run, start);
            value.push(line, body_start + start);
            value.push_synthetic("\n", body_start + end);
        }
        i = end;
    }
    // The last line of a run ends with the LF that starts the next line; the body ends at `i`.
    flush(&mut value, &mut run, (i + 1).min(bytes.len()));
    value
}

/// True when the CLI splits `line` into no words: blank, or only a `#` comment.
fn is_blank_for_cli(line: &str) -> bool {
    // Most block lines are indented text: decided by their first non-space byte.
    match line.bytes().find(|b| *b != b' ' && *b != b'\t') {
        None => return true,
        // A line holding `#` is split by shlex, where it starts a comment.
        Some(b'#') => return true,
        Some(b) if b.is_ascii_graphic() => return false,
        Some(_) => {}
    }
    if line.contains(['"', '\'', '\\', '#']) {
        // shlex: only space, tab, CR and LF separate words; `#` starts a comment.
        let rest = line.trim_start_matches([' ', '\t', '\r', '\n']);
        rest.is_empty() || rest.starts_with('#')
    } else {
        // str.split(): Python's whitespace, which includes the ASCII separators 0x1c-0x1f.
        line.chars()
            .all(|c| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
    }
}
