//! Lowering of `SCHEMA` values into columns, with the Tinybird CLI's rules: a column is
//! `name [Type] [`json:path`] [DEFAULT expr] [CODEC(...)]`, columns are separated by commas, `--`
//! starts a comment.
//!
//! The scanner (`scan.rs`) splits the value; every rule about names, types and expressions is
//! checked here, as for the other values. `INDEXES` values are lowered in `indexes.rs`.

mod indexes;
mod scan;

pub(crate) use indexes::lower_indexes;
pub(crate) use scan::strip_comments;

use scan::{Part, PartKind, RawColumn, split_columns};

use super::diagnostic::SyntaxError;
use super::types::{TypeProblem, check_type};
use super::value::ValueText;
use crate::model::Column;
use crate::source::Span;

/// Parentheses deeper than this are refused before the columns are checked: no real type nests
/// so deep, and the type check recurses into nested types.
const MAX_NESTING: usize = 200;

/// Punctuation allowed in an unquoted column name, besides ASCII letters and digits.
const NAME_PUNCTUATION: &[u8] = b"._`*<>+-'";
/// Punctuation allowed in an expression outside quotes, besides what a name may hold.
const EXPRESSION_PUNCTUATION: &[u8] = b"[](),=!?:/% \n\t\r";

/// ASCII characters allowed in names (bit 0) and in expressions (bit 1), by code.
const ALLOWED: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut c = 0;
    while c < 128 {
        if (c as u8).is_ascii_alphanumeric() {
            table[c] = 0b11;
        }
        c += 1;
    }
    let mut i = 0;
    while i < NAME_PUNCTUATION.len() {
        table[NAME_PUNCTUATION[i] as usize] = 0b11;
        i += 1;
    }
    let mut i = 0;
    while i < EXPRESSION_PUNCTUATION.len() {
        table[EXPRESSION_PUNCTUATION[i] as usize] |= 0b10;
        i += 1;
    }
    table
};

/// Characters allowed in an unquoted column name.
fn is_name_char(c: char) -> bool {
    c.is_ascii() && ALLOWED[c as usize] & 0b01 != 0
}

/// Characters allowed in a type, DEFAULT or CODEC expression outside quotes.
fn is_expression_char(c: char) -> bool {
    c.is_ascii() && ALLOWED[c as usize] & 0b10 != 0
}

/// Lowers a schema value (comments already cut). Problems get file spans.
pub(crate) fn lower_schema(value: &ValueText, problems: &mut Vec<SyntaxError>) -> Vec<Column> {
    let mut parts = Vec::new();
    let (raw, (depth, at)) = split_columns(&value.text, &mut parts);
    if depth > MAX_NESTING {
        problems.push(SyntaxError::TooDeep {
            depth,
            span: value.file_span(Span::new(at, at + 1)),
        });
        return Vec::new();
    }
    raw.iter()
        .filter_map(|column| {
            ColumnLowering::new(value, problems).lower(column, &parts[column.parts.clone()])
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    Name,
    Type,
    JsonPath,
    Default,
    Codec,
}

impl Last {
    fn label(self) -> &'static str {
        match self {
            Last::Name => "the column name",
            Last::Type => "TYPE",
            Last::JsonPath => "JSONPATH",
            Last::Default => "DEFAULT",
            Last::Codec => "CODEC",
        }
    }
}

struct ColumnLowering<'a> {
    value: &'a ValueText,
    problems: &'a mut Vec<SyntaxError>,
}

impl<'a> ColumnLowering<'a> {
    fn new(value: &'a ValueText, problems: &'a mut Vec<SyntaxError>) -> Self {
        ColumnLowering { value, problems }
    }

    fn file(&self, span: Span) -> Span {
        self.value.file_span(span)
    }

    fn error(&mut self, message: impl Into<String>, span: Span, help: Option<&str>) {
        let span = self.file(span);
        self.problems.push(SyntaxError::InvalidColumn {
            message: message.into(),
            span,
            help: help.map(str::to_owned),
        });
    }

    fn lower(mut self, raw: &RawColumn, parts: &[Part<'_>]) -> Option<Column> {
        let text = &self.value.text;
        let name_span = raw.name;
        let (name, name_ok) = self.column_name(&text[name_span.range()], name_span);
        if !name_ok {
            return None;
        }
        let column_span = name_span;

        let mut data_type: Option<(String, Span)> = None;
        let mut default: Option<String> = None;
        let mut codec: Option<String> = None;
        let mut json_path: Option<String> = None;
        let mut last = Last::Name;
        let mut i = 0;
        while i < parts.len() {
            let part = &parts[i];
            match part.kind {
                PartKind::Expression if last == Last::Name => {
                    let end = run_end(parts, i, false);
                    let span = Span::new(part.span.start, parts[end - 1].span.end);
                    data_type = Some((self.value.text[span.range()].to_owned(), span));
                    last = Last::Type;
                    i = end;
                    continue;
                }
                PartKind::Expression => {
                    let gap = &self.value.text[parts[i - 1].span.end..part.span.start];
                    let help = gap
                        .contains('\n')
                        .then_some("separate columns with a comma at the end of the previous line");
                    self.error(
                        format!("Unexpected `{}` after {}", part.text, last.label()),
                        part.span,
                        help,
                    );
                    return None;
                }
                PartKind::JsonPath => {
                    if part.text.len() < 7 || !part.text.ends_with('`') {
                        self.error(
                            "Expected closing backtick",
                            part.span,
                            Some("write the JSON path as `json:$.path`, without spaces"),
                        );
                        return None;
                    }
                    json_path = Some(part.text[6..part.text.len() - 1].to_owned());
                    last = Last::JsonPath;
                }
                PartKind::Keyword => {
                    let keyword = part
                        .text
                        .split_whitespace()
                        .map(str::to_ascii_uppercase)
                        .collect::<Vec<_>>()
                        .join(" ");
                    match keyword.as_str() {
                        "DEFAULT" | "CODEC" => {
                            let is_default = keyword == "DEFAULT";
                            if last == Last::Codec || (is_default && last == Last::Default) {
                                self.error(
                                    format!("Unexpected {keyword} after {}", last.label()),
                                    part.span,
                                    Some("write a column as: name Type `json:$.path` DEFAULT value CODEC(...)"),
                                );
                                return None;
                            }
                            let end = run_end(parts, i + 1, true);
                            if end == i + 1 {
                                self.error(
                                    format!("Missing mandatory value for {keyword}"),
                                    part.span,
                                    None,
                                );
                                return None;
                            }
                            let span = Span::new(parts[i + 1].span.start, parts[end - 1].span.end);
                            let text = &self.value.text[span.range()];
                            if !self.check_expression_chars(text, span) {
                                return None;
                            }
                            if is_default {
                                default = Some(format!("DEFAULT {text}"));
                                last = Last::Default;
                            } else {
                                codec = Some(format!("CODEC{text}"));
                                last = Last::Codec;
                            }
                            i = end;
                            continue;
                        }
                        "NULL" => {
                            self.error(
                                "NULL column syntax not supported",
                                part.span,
                                Some("use Nullable(...)"),
                            );
                            return None;
                        }
                        "NOT NULL" => {
                            self.error(
                                "NOT NULL column syntax not supported",
                                part.span,
                                Some("Columns are not nullable by default"),
                            );
                            return None;
                        }
                        "MATERIALIZED" => {
                            self.error("MATERIALIZED columns are not supported", part.span, None);
                            return None;
                        }
                        "ALIAS" => {
                            self.error("ALIAS columns are not supported", part.span, None);
                            return None;
                        }
                        _ => {
                            self.error(
                                "column TTL is not supported",
                                part.span,
                                Some("use ENGINE_TTL for a TTL on the table"),
                            );
                            return None;
                        }
                    }
                }
                PartKind::Unbalanced => {
                    let (closer, what) = match part.text.as_bytes()[0] {
                        b'(' => (")", "parenthesis"),
                        b'\'' => ("'", "quote"),
                        _ => ("\"", "quote"),
                    };
                    self.error(
                        format!("Expected closing {closer}"),
                        Span::new(part.span.start, part.span.start + 1),
                        Some(&format!("this {what} is never closed")),
                    );
                    return None;
                }
            }
            i += 1;
        }

        if data_type.is_none() && default.is_none() {
            self.error(
                "Column name and either type or DEFAULT are required",
                name_span,
                Some("write the column's type after its name, e.g. `timestamp DateTime`"),
            );
            return None;
        }
        let mut type_span = None;
        let mut nullable = false;
        let mut stored_type = String::new();
        if let Some((text, span)) = data_type {
            if !self.check_type(&text, span) {
                return None;
            }
            type_span = Some(self.file(span));
            nullable = text
                .get(.."nullable".len())
                .is_some_and(|p| p.eq_ignore_ascii_case("nullable"));
            stored_type = if nullable && text.len() > "Nullable(".len() && text.ends_with(')') {
                text["Nullable(".len()..text.len() - 1].to_owned()
            } else {
                text
            };
        }
        let end = parts.last().map_or(name_span.end, |p| p.span.end);
        Some(Column {
            name,
            name_span: self.file(name_span),
            data_type: stored_type,
            type_span,
            nullable,
            json_path,
            default,
            codec,
            span: self.file(Span::new(column_span.start, end)),
        })
    }

    /// The name without backticks, and whether it is valid.
    fn column_name(&mut self, text: &str, span: Span) -> (String, bool) {
        if let Some(inner) = text.strip_prefix('`') {
            return match inner.find('`') {
                Some(close) if close + 1 == inner.len() => (inner[..close].to_owned(), true),
                Some(close) => {
                    let at = span.start + 1 + close + 1;
                    self.error(
                        format!("Unexpected `{}` after the column name", &inner[close + 1..]),
                        Span::new(at, span.end),
                        Some("put a space between the column name and its type"),
                    );
                    (String::new(), false)
                }
                None => {
                    self.error(
                        "Expected closing backtick",
                        span,
                        Some("column names in backticks cannot contain spaces"),
                    );
                    (String::new(), false)
                }
            };
        }
        if let Some((offset, ch)) = text.char_indices().find(|(_, c)| !is_name_char(*c)) {
            let at = span.start + offset;
            self.error(
                format!("Column name contains invalid character {ch:?}"),
                Span::new(at, at + ch.len_utf8()),
                Some(if ch == ',' {
                    "a column needs a type before the comma, e.g. `name String,`"
                } else {
                    "use backticks: `my-column name`"
                }),
            );
            return (String::new(), false);
        }
        if text == "INDEX" {
            self.error(
                "Forbidden INDEX definition",
                span,
                Some("Indexes are not allowed in SCHEMA section. Use the INDEXES section instead"),
            );
            return (String::new(), false);
        }
        (text.to_owned(), true)
    }

    /// Reports characters the CLI refuses in expressions, outside quotes.
    fn check_expression_chars(&mut self, text: &str, span: Span) -> bool {
        let mut quote = None;
        for (i, ch) in text.char_indices() {
            match (quote, ch) {
                (Some(q), _) if q == ch => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(ch),
                (None, c) if !is_expression_char(c) => {
                    let at = span.start + i;
                    self.error(
                        format!("Invalid character {c:?}"),
                        Span::new(at, at + c.len_utf8()),
                        None,
                    );
                    return false;
                }
                _ => {}
            }
        }
        true
    }

    fn check_type(&mut self, text: &str, span: Span) -> bool {
        if !self.check_expression_chars(text, span) {
            return false;
        }
        // Types are short: lower-case them on the stack to search them.
        let mut buffer = [0u8; 128];
        let lowered = match buffer.get_mut(..text.len()) {
            Some(slot) => {
                slot.copy_from_slice(text.as_bytes());
                slot.make_ascii_lowercase();
                std::str::from_utf8(slot).ok()
            }
            None => None,
        };
        let has = |needle: &str| match lowered {
            Some(lower) => lower.contains(needle),
            None => contains_ignore_case(text, needle),
        };
        let unsupported = if has("boolean") {
            Some((
                "Boolean type is not supported".to_owned(),
                "use Bool or UInt8 instead".to_owned(),
            ))
        } else if has("datetime64") && !has("datetime64(") {
            Some((
                "DateTime64 type without precision is not supported".to_owned(),
                "use DateTime64(3) instead".to_owned(),
            ))
        } else if text == "Int" || text == "UInt" {
            Some((
                format!("Precision is mandatory for {text} types"),
                format!("use one of {text}8, {text}16, {text}32, {text}64, {text}128, {text}256"),
            ))
        } else {
            None
        };
        if let Some((message, help)) = unsupported {
            let span = self.file(span);
            self.problems.push(SyntaxError::UnsupportedType {
                message,
                span,
                help: Some(help),
            });
            return false;
        }
        match check_type(text) {
            Ok(()) => true,
            Err(TypeProblem::Unknown {
                family,
                range,
                suggestions,
            }) => {
                let span = self.file(Span::new(span.start + range.start, span.start + range.end));
                let help = (!suggestions.is_empty())
                    .then(|| format!("did you mean {}?", suggestions.join(" or ")));
                self.problems
                    .push(SyntaxError::UnknownType { family, span, help });
                false
            }
            Err(TypeProblem::Invalid { message, range }) => {
                let span = self.file(Span::new(span.start + range.start, span.start + range.end));
                let help = message
                    .starts_with("unexpected")
                    .then(|| "separate columns with commas".to_owned());
                self.problems.push(SyntaxError::UnsupportedType {
                    message,
                    span,
                    help,
                });
                false
            }
        }
    }
}

/// True when `needle` (lower-case ASCII) is in `text`, ignoring ASCII case.
fn contains_ignore_case(text: &str, needle: &str) -> bool {
    text.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// End (exclusive) of the run of expression parts starting at `from`. In a DEFAULT or CODEC
/// expression a `NULL` keyword is part of the expression, as in the CLI.
fn run_end(parts: &[Part<'_>], from: usize, null_is_expression: bool) -> usize {
    let mut end = from;
    while let Some(part) = parts.get(end) {
        let continues = match part.kind {
            PartKind::Expression => true,
            PartKind::Keyword => null_is_expression && part.text.eq_ignore_ascii_case("NULL"),
            PartKind::JsonPath | PartKind::Unbalanced => false,
        };
        if !continues {
            break;
        }
        end += 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lower(text: &str) -> (Vec<Column>, Vec<String>) {
        let mut value = ValueText::new();
        value.push(text, 0);
        let value = strip_comments(&value);
        let mut problems = Vec::new();
        let columns = lower_schema(&value, &mut problems);
        (
            columns,
            problems
                .iter()
                .map(|p| format!("{p} @{:?}", p.span()))
                .collect(),
        )
    }

    #[test]
    fn columns_with_paths_defaults_and_codecs() {
        let (columns, problems) = lower(
            "  `ts` DateTime64(3) `json:$.ts` DEFAULT now(), -- time\n  v Nullable(String) DEFAULT NULL CODEC(ZSTD(1)),\n  c String--c\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(columns.len(), 3);
        assert_eq!(columns[0].name, "ts");
        assert_eq!(columns[0].json_path.as_deref(), Some("$.ts"));
        assert_eq!(columns[0].default.as_deref(), Some("DEFAULT now()"));
        assert_eq!(columns[1].data_type, "String");
        assert!(columns[1].nullable);
        assert_eq!(columns[1].default.as_deref(), Some("DEFAULT NULL"));
        assert_eq!(columns[1].codec.as_deref(), Some("CODEC(ZSTD(1))"));
        assert_eq!(columns[2].name, "c");
        // `--` starts a comment even inside a name, as in the CLI.
        assert_eq!(
            lower("c--c String").1[0],
            "Column name and either type or DEFAULT are required @Span { start: 0, end: 1 }"
        );
    }

    #[test]
    fn errors_point_at_the_offending_text() {
        assert_eq!(
            lower("a Foo32").1,
            ["Unknown data type family: Foo32 @Span { start: 2, end: 7 }"]
        );
        assert_eq!(
            lower("a Int32\nb String").1[0],
            "unexpected `b` after the type @Span { start: 8, end: 9 }"
        );
        assert_eq!(
            lower("col").1[0],
            "Column name and either type or DEFAULT are required @Span { start: 0, end: 3 }"
        );
        assert_eq!(
            lower("a Int32 NULL").1[0],
            "NULL column syntax not supported @Span { start: 8, end: 12 }"
        );
        assert_eq!(
            lower("a Int32 DEFAULT").1[0],
            "Missing mandatory value for DEFAULT @Span { start: 8, end: 15 }"
        );
        assert_eq!(
            lower("a Array(Int32").1[0],
            "Expected closing ) @Span { start: 7, end: 8 }"
        );
        assert_eq!(
            lower("a#b Int32").1[0],
            "Column name contains invalid character '#' @Span { start: 1, end: 2 }"
        );
        assert_eq!(
            lower("a Int32 `json:$.a b`").1[0],
            "Expected closing backtick @Span { start: 8, end: 17 }"
        );
        assert_eq!(
            lower("a Int32 CODEC(ZSTD) DEFAULT 1").1[0],
            "Unexpected DEFAULT after CODEC @Span { start: 20, end: 27 }"
        );
    }
}
