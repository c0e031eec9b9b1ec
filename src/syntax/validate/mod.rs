//! Whole-file rules the Tinybird CLI checks after parsing (`Datafile.validate` and `parse_pipe`):
//! for data sources in `datasource.rs` (mandatory SCHEMA, sorting keys, complete connector
//! settings), for pipes in `pipe.rs` (node types and their attributes).

mod datasource;
mod pipe;

use super::diagnostic::SyntaxError;
use crate::model::{Datafile, DatafileBody};
use crate::source::Span;
use datasource::validate_datasource;
use pipe::validate_pipe;

/// Adds the problems of a lowered datafile. `text` is the file's (rendered) text.
pub(crate) fn validate(datafile: &Datafile, text: &str, problems: &mut Vec<SyntaxError>) {
    let start = Span::new(0, first_line_end(text));
    match &datafile.body {
        DatafileBody::Datasource(datasource) => validate_datasource(datasource, start, problems),
        DatafileBody::Pipe(pipe) => validate_pipe(pipe, start, problems),
        DatafileBody::Connection(_) => {}
    }
}

/// Where the first line ends (after a byte order mark): file-level problems such as a missing
/// SCHEMA point at that line.
fn first_line_end(text: &str) -> usize {
    let text_start = text.strip_prefix('\u{feff}').map_or(0, |_| 3);
    text[text_start..]
        .find(['\n', '\r'])
        .map_or(text.len(), |e| text_start + e)
}
