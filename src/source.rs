//! Source text and positions: byte spans, and the line index that turns them into lines and columns.

use std::ops::Range;

/// A half-open byte range `start..end` in a file's original text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The span `start..end`.
    pub(crate) const fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// An empty span at `offset`.
    pub(crate) const fn at(offset: usize) -> Self {
        Span {
            start: offset,
            end: offset,
        }
    }

    /// Number of bytes covered.
    pub(crate) const fn len(&self) -> usize {
        self.end - self.start
    }

    /// True when the span covers no byte.
    pub(crate) const fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// This span moved `by` bytes to the right.
    pub(crate) const fn shifted(self, by: usize) -> Span {
        Span::new(self.start + by, self.end + by)
    }

    /// The byte range, for slicing.
    pub(crate) const fn range(&self) -> Range<usize> {
        self.start..self.end
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(span: Span) -> Self {
        miette::SourceSpan::new(span.start.into(), span.len())
    }
}

impl From<pest::Span<'_>> for Span {
    fn from(span: pest::Span<'_>) -> Self {
        Span::new(span.start(), span.end())
    }
}

/// A value with the span it was read from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Spanned<T> {
    /// The value.
    pub(crate) value: T,
    /// Where it was written.
    pub(crate) span: Span,
}

impl<T> Spanned<T> {
    /// Pairs a value with its span.
    pub(crate) const fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

/// A 1-based line and column. Columns count Unicode scalar values, so a column is what an editor
/// shows for UTF-8 text; [`LineIndex::utf16_position`] gives the LSP flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct LineColumn {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// Start offsets of every line of a text, for offset to line/column conversion.
///
/// Line breaks are LF, CRLF and lone CR, as in the grammar.
#[derive(Debug, Clone)]
pub(crate) struct LineIndex {
    line_starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes `text`.
    pub(crate) fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut line_starts = vec![0];
        for i in memchr::memchr2_iter(b'\n', b'\r', bytes) {
            // A CR followed by LF is one break: the LF ends the line.
            if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                continue;
            }
            line_starts.push(i + 1);
        }
        LineIndex { line_starts }
    }

    /// 0-based line containing `offset`.
    pub(crate) fn line_of(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next - 1,
        }
    }

    /// Byte offset where 0-based `line` starts, if the text has that line.
    pub(crate) fn line_start(&self, line: usize) -> Option<usize> {
        self.line_starts.get(line).copied()
    }

    /// Number of lines (a text without any line break has one).
    #[cfg(test)]
    pub(crate) fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// 1-based line and character column of `offset` in `text` (the text this index was built from).
    pub(crate) fn position(&self, text: &str, offset: usize) -> LineColumn {
        let offset = clamp_to_char_boundary(text, offset);
        let line = self.line_of(offset);
        let start = self.line_starts[line];
        LineColumn {
            line: line + 1,
            column: text[start..offset].chars().count() + 1,
        }
    }

    /// 0-based line and UTF-16 column of `offset`, as the Language Server Protocol counts them.
    pub(crate) fn utf16_position(&self, text: &str, offset: usize) -> (u32, u32) {
        let offset = clamp_to_char_boundary(text, offset);
        let line = self.line_of(offset);
        let start = self.line_starts[line];
        let column: usize = text[start..offset].chars().map(char::len_utf16).sum();
        (line as u32, column as u32)
    }

    /// Byte offset of a 0-based line and UTF-16 column, clamped to the line's end.
    pub(crate) fn offset_of_utf16(&self, text: &str, line: u32, column: u32) -> usize {
        let Some(start) = self.line_start(line as usize) else {
            return text.len();
        };
        let end = self
            .line_start(line as usize + 1)
            .unwrap_or(text.len())
            .min(text.len());
        let mut remaining = column as usize;
        for (i, ch) in text[start..end].char_indices() {
            if remaining == 0 || ch == '\n' || ch == '\r' {
                return start + i;
            }
            remaining = remaining.saturating_sub(ch.len_utf16());
        }
        end
    }
}

/// Maps offsets of a derived text (a rendered template, a block value) back to the text it was
/// built from, so that diagnostics point at what the user wrote.
///
/// The derived text is a sequence of segments: copied ones map byte for byte, replaced ones (a
/// `{{ tb_secret(...) }}` and its value, a synthetic line break) map as a whole. An empty map is
/// the identity.
#[derive(Debug, Clone, Default)]
pub(crate) struct OffsetMap {
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, Copy)]
struct Segment {
    derived: usize,
    derived_len: usize,
    original: usize,
    original_len: usize,
}

impl OffsetMap {
    /// The identity map.
    pub(crate) fn identity() -> Self {
        OffsetMap::default()
    }

    /// True when offsets map to themselves.
    pub(crate) fn is_identity(&self) -> bool {
        self.segments.is_empty()
    }

    /// Records that `len` bytes at `derived` were copied from `original`.
    pub(crate) fn push_copy(&mut self, derived: usize, original: usize, len: usize) {
        if len == 0 {
            return;
        }
        if let Some(last) = self.segments.last_mut() {
            let contiguous = last.derived_len == last.original_len
                && last.derived + last.derived_len == derived
                && last.original + last.original_len == original;
            if contiguous {
                last.derived_len += len;
                last.original_len += len;
                return;
            }
        }
        self.segments.push(Segment {
            derived,
            derived_len: len,
            original,
            original_len: len,
        });
    }

    /// Records that `derived_len` bytes at `derived` stand for `original_len` bytes at `original`.
    pub(crate) fn push_replaced(
        &mut self,
        derived: usize,
        derived_len: usize,
        original: usize,
        original_len: usize,
    ) {
        self.segments.push(Segment {
            derived,
            derived_len,
            original,
            original_len,
        });
    }

    fn segment_for(&self, offset: usize, at_end: bool) -> Option<&Segment> {
        // The last segment that starts at or before `offset` (strictly before for an end).
        let index = self.segments.partition_point(|s| {
            if at_end {
                s.derived < offset
            } else {
                s.derived <= offset
            }
        });
        index.checked_sub(1).map(|i| &self.segments[i])
    }

    fn map(&self, offset: usize, at_end: bool) -> usize {
        let Some(segment) = self.segment_for(offset, at_end) else {
            return self.segments.first().map_or(offset, |s| s.original);
        };
        let inside = offset - segment.derived;
        if segment.derived_len == segment.original_len {
            segment.original + inside.min(segment.original_len)
        } else if at_end || inside >= segment.derived_len {
            segment.original + segment.original_len
        } else {
            segment.original
        }
    }

    /// The end of the segment that holds derived `offset`, and whether that segment was copied
    /// byte for byte (the identity map is one endless copied segment).
    pub(crate) fn segment_at(&self, offset: usize) -> (usize, bool) {
        match self.segment_for(offset, false) {
            Some(s) if offset < s.derived + s.derived_len => {
                (s.derived + s.derived_len, s.derived_len == s.original_len)
            }
            _ if self.is_identity() => (usize::MAX, true),
            // Past every segment: nothing maps there; treat it as one synthetic run.
            _ => (usize::MAX, false),
        }
    }

    /// Where `offset` of the derived text comes from.
    pub(crate) fn offset(&self, offset: usize) -> usize {
        if self.is_identity() {
            offset
        } else {
            self.map(offset, false)
        }
    }

    /// The original span of a derived span. A span that touches a replaced segment covers all of
    /// it.
    pub(crate) fn span(&self, span: Span) -> Span {
        if self.is_identity() {
            return span;
        }
        let start = self.map(span.start, false);
        if span.is_empty() {
            return Span::at(start);
        }
        let end = self.map(span.end, true).max(start);
        Span::new(start, end)
    }
}

/// The largest char boundary at or before `offset` (and never past the end).
pub(crate) fn clamp_to_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_and_all_line_breaks() {
        let text = "ab\r\nñx\rz\n";
        let index = LineIndex::new(text);
        assert_eq!(index.line_count(), 4);
        assert_eq!(index.position(text, 0), LineColumn { line: 1, column: 1 });
        assert_eq!(index.position(text, 4), LineColumn { line: 2, column: 1 });
        // 'ñ' is two bytes but one column.
        assert_eq!(index.position(text, 6), LineColumn { line: 2, column: 2 });
        assert_eq!(index.position(text, 8), LineColumn { line: 3, column: 1 });
        assert_eq!(index.utf16_position(text, 6), (1, 1));
        assert_eq!(index.offset_of_utf16(text, 1, 1), 6);
        assert_eq!(index.offset_of_utf16(text, 1, 99), 7);
    }

    #[test]
    fn offset_map_maps_copied_bytes_exactly_and_replacements_whole() {
        // Original: "TOKEN {{ tb_secret('T', 'x') }} READ"; derived: "TOKEN x READ".
        let mut map = OffsetMap::identity();
        map.push_copy(0, 0, 6);
        map.push_replaced(6, 1, 6, 25);
        map.push_copy(7, 31, 5);
        assert_eq!(map.span(Span::new(0, 5)), Span::new(0, 5));
        assert_eq!(map.span(Span::new(6, 7)), Span::new(6, 31));
        assert_eq!(map.span(Span::new(8, 12)), Span::new(32, 36));
        assert_eq!(map.offset(12), 36);
        assert_eq!(map.span(Span::at(8)), Span::at(32));
    }
}
