//! The byte scanner that splits a `SCHEMA` value into columns and their parts (names, keywords,
//! JSON paths, balanced expressions), and cuts its `--` comments first.
//!
//! A scanner rather than a pest rule: a schema is a third of a data source's bytes, and a rule
//! call per character made it the slowest part of `check`. It only splits; every rule about the
//! parts is checked by the lowering in `mod.rs`.

use crate::source::Span;
use crate::syntax::value::ValueText;

/// The value of a SCHEMA block with `--` comments cut, as the CLI cleans it: on each line,
/// everything from `--` on, except inside a `` `json:...` `` path.
pub(crate) fn strip_comments(value: &ValueText) -> ValueText {
    let mut out = ValueText::new();
    let mut offset = 0;
    for line in value.text.split_inclusive('\n') {
        let body = line.strip_suffix('\n').unwrap_or(line);
        let kept = match comment_start(body) {
            Some(at) => body[..at].trim_end().len(),
            None => body.len(),
        };
        out.push_from(value, offset..offset + kept);
        if line.ends_with('\n') {
            out.push_synthetic("\n", value.map.offset(offset + body.len()));
        }
        offset += line.len();
    }
    out
}

fn comment_start(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let mut in_json_path = false;
    let mut i = 0;
    while i < bytes.len() {
        if !in_json_path && bytes[i] == b'-' && bytes.get(i + 1) == Some(&b'-') {
            return Some(i);
        }
        // Bytes, not `line[i..]`: `i` walks every byte and may be inside a multi-byte character.
        if !in_json_path && bytes[i..].starts_with(b"`json:") {
            in_json_path = true;
        } else if in_json_path && bytes[i] == b'`' {
            in_json_path = false;
        }
        i += 1;
    }
    None
}

/// What a part of a column is, as the scanner splits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PartKind {
    /// Expression text: words, balanced parentheses, quoted strings.
    Expression,
    /// `` `json:$.path` `` (the closing backtick may be missing).
    JsonPath,
    /// DEFAULT, CODEC, MATERIALIZED, ALIAS, TTL, NULL or NOT NULL, not followed by a word
    /// character.
    Keyword,
    /// From a parenthesis or quote that never closes to the end of the schema.
    Unbalanced,
}

/// A part of a column, with its text and its span in the schema value.
pub(super) struct Part<'t> {
    pub(super) kind: PartKind,
    pub(super) text: &'t str,
    pub(super) span: Span,
}

/// A column as the scanner split it: the name's span and where its parts are in the list of
/// all parts (one list for the schema, not one per column).
pub(super) struct RawColumn {
    pub(super) name: Span,
    pub(super) parts: std::ops::Range<usize>,
}

fn is_gap(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

const KEYWORDS: [&[u8]; 6] = [
    b"DEFAULT",
    b"CODEC",
    b"MATERIALIZED",
    b"ALIAS",
    b"TTL",
    b"NULL",
];

/// Length of a column keyword at the start of `bytes`, case-insensitive.
fn keyword_len(bytes: &[u8]) -> Option<usize> {
    let ends = |len: usize| {
        !bytes
            .get(len)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
    };
    let starts =
        |word: &[u8]| bytes.len() >= word.len() && bytes[..word.len()].eq_ignore_ascii_case(word);
    if starts(b"NOT") {
        let gap = bytes[3..].iter().take_while(|b| is_gap(**b)).count();
        if gap > 0 && starts_at(bytes, 3 + gap, b"NULL") && ends(3 + gap + 4) {
            return Some(3 + gap + 4);
        }
    }
    KEYWORDS
        .iter()
        .find(|word| starts(word) && ends(word.len()))
        .map(|word| word.len())
}

fn starts_at(bytes: &[u8], at: usize, word: &[u8]) -> bool {
    bytes.len() >= at + word.len() && bytes[at..at + word.len()].eq_ignore_ascii_case(word)
}

/// End of the quoted string that starts at `at`, or `None` when it never closes.
fn quoted_end(bytes: &[u8], at: usize) -> Option<usize> {
    let quote = bytes[at];
    bytes[at + 1..]
        .iter()
        .position(|b| *b == quote)
        .map(|p| at + 1 + p + 1)
}

/// End of the parenthesised group that starts at `at` (nested groups and quoted strings inside),
/// or `None` when it never closes. `deepest` records the deepest nesting seen and where.
fn group_end(bytes: &[u8], at: usize, deepest: &mut (usize, usize)) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = at;
    while i < bytes.len() {
        match bytes[i] {
            b'(' => {
                depth += 1;
                if depth > deepest.0 {
                    *deepest = (depth, i);
                }
            }
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b'\'' | b'"' => {
                i = quoted_end(bytes, i)?;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Splits a schema (comments cut) into columns: names, then parts up to a top-level comma.
/// Returns the columns and the deepest parenthesis nesting seen, with its offset.
pub(super) fn split_columns<'t>(
    text: &'t str,
    parts: &mut Vec<Part<'t>>,
) -> (Vec<RawColumn>, (usize, usize)) {
    let bytes = text.as_bytes();
    let mut columns = Vec::new();
    let mut deepest = (0, 0);
    let mut i = 0;
    while i < bytes.len() {
        if is_gap(bytes[i]) || bytes[i] == b',' {
            i += 1;
            continue;
        }
        let name_start = i;
        while i < bytes.len() && !is_gap(bytes[i]) {
            i += 1;
        }
        let mut column = RawColumn {
            name: Span::new(name_start, i),
            parts: parts.len()..parts.len(),
        };
        loop {
            let mut j = i;
            while j < bytes.len() && is_gap(bytes[j]) {
                j += 1;
            }
            if j >= bytes.len() || bytes[j] == b',' {
                i = j;
                break;
            }
            let rest = &bytes[j..];
            let (kind, end) = if rest.starts_with(b"`json:") {
                let len = rest[6..].iter().position(|b| *b == b'`' || is_gap(*b));
                match len {
                    Some(n) if rest[6 + n] == b'`' => (PartKind::JsonPath, j + 6 + n + 1),
                    Some(n) => (PartKind::JsonPath, j + 6 + n),
                    None => (PartKind::JsonPath, bytes.len()),
                }
            } else if let Some(len) = keyword_len(rest) {
                (PartKind::Keyword, j + len)
            } else {
                expression_end(bytes, j, &mut deepest)
            };
            parts.push(Part {
                kind,
                text: &text[j..end],
                span: Span::new(j, end),
            });
            column.parts.end = parts.len();
            i = end;
            if kind == PartKind::Unbalanced {
                break;
            }
        }
        columns.push(column);
    }
    (columns, deepest)
}

/// The expression that starts at `at`: words, balanced groups and strings up to a gap or a
/// top-level comma. An opening parenthesis or quote that never closes makes the rest of the
/// schema one unbalanced part (when the expression has nothing before it).
fn expression_end(bytes: &[u8], at: usize, deepest: &mut (usize, usize)) -> (PartKind, usize) {
    let mut i = at;
    while i < bytes.len() {
        let next = match bytes[i] {
            b'(' => group_end(bytes, i, deepest),
            b'\'' | b'"' => quoted_end(bytes, i),
            b if is_gap(b) || b == b',' => break,
            _ => Some(i + 1),
        };
        match next {
            Some(end) => i = end,
            None if i == at => return (PartKind::Unbalanced, bytes.len()),
            // The unbalanced part starts here; it is reported as the next part.
            None => break,
        }
    }
    (PartKind::Expression, i)
}
