//! Lowering of `INDEXES` values: one index a line, each read by the pest rule of
//! `grammar/indexes.pest`.

use pest::Parser;

use crate::model::Index;
use crate::source::Span;
use crate::syntax::diagnostic::SyntaxError;
use crate::syntax::value::ValueText;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/indexes.pest"]
struct IndexParser;

/// Lowers the value of an INDEXES block: one index a line.
pub(crate) fn lower_indexes(value: &ValueText, problems: &mut Vec<SyntaxError>) -> Vec<Index> {
    let mut indexes = Vec::new();
    let mut offset = 0;
    for line in value.text.split_inclusive('\n') {
        let body = line.strip_suffix('\n').unwrap_or(line);
        let line_start = offset;
        offset += line.len();
        if body.trim().is_empty() {
            continue;
        }
        let lead = body.len() - body.trim_start().len();
        let trimmed_span = Span::new(line_start + lead, line_start + body.trim_end().len());
        let Ok(mut pairs) = IndexParser::parse(Rule::index, body) else {
            problems.push(SyntaxError::InvalidIndex {
                span: value.file_span(trimmed_span),
            });
            continue;
        };
        let Some(index) = pairs.next() else {
            continue;
        };
        let mut name = String::new();
        let mut expr = String::new();
        let mut index_type = String::new();
        let mut granularity = None;
        for part in index.into_inner() {
            match part.as_rule() {
                Rule::index_name => name = part.as_str().to_owned(),
                Rule::index_expr => expr = part.as_str().trim().to_owned(),
                Rule::index_type => index_type = part.as_str().to_owned(),
                Rule::index_granularity => granularity = part.as_str().parse().ok(),
                Rule::index_trailing => {
                    let span = Span::from(part.as_span()).shifted(line_start);
                    problems.push(SyntaxError::IgnoredText {
                        message: "text after the index definition is ignored".into(),
                        span: value.file_span(span),
                        help: Some(
                            "write one index per line: name expr TYPE type GRANULARITY n".into(),
                        ),
                    });
                }
                _ => {}
            }
        }
        indexes.push(Index {
            name,
            expr,
            index_type,
            granularity,
            span: value.file_span(trimmed_span),
        });
    }
    indexes
}
