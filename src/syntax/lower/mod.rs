//! Lowering: from the pest parse of a datafile to the typed model, collecting one diagnostic per
//! problem instead of stopping at the first.
//!
//! This module walks the parse and runs the checks every command shares (removed, block or line,
//! inside a node); `arguments.rs` builds a command's value from its words or block, and
//! `actions.rs` lowers each command into the model.

mod actions;
mod arguments;

use pest::Parser;
use pest::iterators::Pair;

use super::commands::{self, Action, BlockRule, Command, closest, lookup};
use super::diagnostic::SyntaxError;
use super::words::{self, Word};
use crate::model::{
    Connection, Datafile, DatafileBody, DatafileKind, Datasource, Node, TokenDirective,
};
use crate::source::{Span, Spanned};
use arguments::{Arguments, block_value, word_of};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/datafile.pest"]
pub(crate) struct DatafileParser;

/// The entry rule of a file kind.
pub(crate) fn file_rule(kind: DatafileKind) -> Rule {
    match kind {
        DatafileKind::Datasource => Rule::datasource_file,
        DatafileKind::Pipe => Rule::pipe_file,
        DatafileKind::Connection => Rule::connection_file,
    }
}

/// Lowers `text` (already rendered) into a datafile. Spans are offsets in `text`.
pub(crate) fn lower(
    kind: DatafileKind,
    resource: &str,
    text: &str,
) -> (Datafile, Vec<SyntaxError>) {
    let mut lowerer = Lowerer::new(kind, text);
    match DatafileParser::parse(file_rule(kind), text) {
        Ok(mut pairs) => {
            if let Some(file) = pairs.next() {
                for item in file.into_inner() {
                    lowerer.item(item);
                }
            }
        }
        Err(error) => {
            // The grammar accepts every input, so this is a bug; report it rather than panic.
            let at = match error.location {
                pest::error::InputLocation::Pos(p) => p,
                pest::error::InputLocation::Span((s, _)) => s,
            };
            lowerer.problems.push(SyntaxError::InvalidValue {
                message: format!(
                    "tokenplan could not parse this file: {}",
                    error.variant.message()
                ),
                span: Span::at(at),
                help: Some("please report this file to the tokenplan maintainers".into()),
            });
        }
    }
    lowerer.finish(resource)
}

/// The datafile being built from the items of the parse, and every problem found so far.
struct Lowerer<'t> {
    kind: DatafileKind,
    text: &'t str,
    problems: Vec<SyntaxError>,
    description: Option<Spanned<String>>,
    tokens: Vec<TokenDirective>,
    tags: Vec<String>,
    datasource: Datasource,
    nodes: Vec<Node>,
    connection: Connection,
}

impl<'t> Lowerer<'t> {
    fn new(kind: DatafileKind, text: &'t str) -> Self {
        Lowerer {
            kind,
            text,
            problems: Vec::new(),
            description: None,
            tokens: Vec::new(),
            tags: Vec::new(),
            datasource: Datasource::default(),
            nodes: Vec::new(),
            connection: Connection::default(),
        }
    }

    fn item(&mut self, item: Pair<'t, Rule>) {
        match item.as_rule() {
            Rule::directive => self.directive(item),
            Rule::datasource_block | Rule::pipe_block | Rule::connection_block => self.block(item),
            Rule::bom => self.problems.push(SyntaxError::ByteOrderMark {
                span: Span::from(item.as_span()),
            }),
            _ => {}
        }
    }

    fn directive(&mut self, pair: Pair<'t, Rule>) {
        let mut words = Vec::with_capacity(4);
        words::split(pair.as_str(), pair.as_span().start(), &mut words);
        if let Some(word) = words.iter().find(|w| w.unclosed) {
            self.problems
                .push(SyntaxError::UnclosedQuote { span: word.span });
            return;
        }
        let Some((command, args)) = words.split_first() else {
            return;
        };
        let line = Span::new(
            command.span.start,
            args.last().map_or(command.span.end, |w| w.span.end),
        );
        match lookup(self.kind, command.text) {
            Some(cmd) => self.command(cmd, command, Arguments::Line(args), line),
            None => self.unknown(command),
        }
    }

    fn block(&mut self, pair: Pair<'t, Rule>) {
        let mut inner = pair.into_inner();
        let (Some(head), Some(body)) = (inner.next(), inner.next()) else {
            return;
        };
        let mut command = None;
        let mut marker = Span::default();
        for part in head.into_inner() {
            match part.as_rule() {
                Rule::block_marker => marker = Span::from(part.as_span()),
                Rule::block_head_rest => {
                    let rest = part.as_str();
                    let words = rest.trim_start();
                    if !words.is_empty() && !words.starts_with('#') {
                        let start = part.as_span().start() + (rest.len() - words.len());
                        let end = start + words.split('#').next().unwrap_or(words).trim_end().len();
                        self.problems.push(SyntaxError::IgnoredText {
                            message: "text after `>` is ignored".into(),
                            span: Span::new(start, end),
                            help: Some("move it to the lines below the `>`".into()),
                        });
                    }
                }
                _ if command.is_none() => command = Some(word_of(&part)),
                _ => {}
            }
        }
        let Some(command) = command else {
            return;
        };
        let body_span = Span::from(body.as_span());
        let value = block_value(body.as_str(), body_span.start);
        match lookup(self.kind, command.text) {
            Some(cmd) => {
                let line = Span::new(command.span.start, marker.end);
                self.command(
                    cmd,
                    &command,
                    Arguments::Block {
                        marker,
                        value,
                        body: body_span,
                    },
                    line,
                );
            }
            None => self.unknown(&command),
        }
    }

    fn unknown(&mut self, command: &Word<'t>) {
        self.problems.push(SyntaxError::UnknownDirective {
            command: command.text.to_uppercase(),
            kind: self.kind,
            span: command.span,
            help: unknown_help(self.kind, command),
        });
    }

    fn command(
        &mut self,
        cmd: &'static Command,
        word: &Word<'t>,
        args: Arguments<'_, 't>,
        line: Span,
    ) {
        // Rejections that do not depend on the arguments come first, as in the CLI.
        match cmd.action {
            Action::Removed { detail, help } => {
                self.problems.push(SyntaxError::RemovedDirective {
                    command: cmd.name.into(),
                    detail: detail.into(),
                    span: word.span,
                    help: Some(help.into()),
                });
                return;
            }
            Action::Include => {
                self.problems
                    .push(SyntaxError::IncludeNotSupported { span: word.span });
                return;
            }
            Action::Deprecated => {
                self.problems.push(SyntaxError::DeprecatedDirective {
                    command: cmd.name.into(),
                    span: word.span,
                });
                return;
            }
            _ => {}
        }
        match (&args, cmd.block) {
            (Arguments::Block { marker, .. }, BlockRule::Refused) => {
                self.problems.push(SyntaxError::BlockNotAllowed {
                    command: cmd.name.into(),
                    span: *marker,
                });
                return;
            }
            (Arguments::Line(_), BlockRule::Required) => {
                self.problems.push(SyntaxError::BlockRequired {
                    command: cmd.name.into(),
                    span: word.span,
                });
                return;
            }
            _ => {}
        }
        let needs_node = self.kind == DatafileKind::Pipe
            && matches!(
                cmd.action,
                Action::NodeAttribute | Action::Setting | Action::Choice(_) | Action::Sql
            );
        if needs_node && self.nodes.is_empty() {
            self.problems.push(SyntaxError::BeforeNode {
                command: cmd.name.into(),
                span: word.span,
            });
            return;
        }

        self.action(cmd, word, args, line);
    }

    fn finish(mut self, resource: &str) -> (Datafile, Vec<SyntaxError>) {
        let body = match self.kind {
            DatafileKind::Datasource => {
                DatafileBody::Datasource(std::mem::take(&mut self.datasource))
            }
            DatafileKind::Pipe => DatafileBody::Pipe(crate::model::Pipe {
                nodes: std::mem::take(&mut self.nodes),
            }),
            DatafileKind::Connection => {
                DatafileBody::Connection(std::mem::take(&mut self.connection))
            }
        };
        let datafile = Datafile {
            kind: self.kind,
            resource: resource.to_owned(),
            description: self.description,
            tokens: self.tokens,
            tags: self.tags,
            body,
        };
        let mut problems = self.problems;
        super::validate::validate(&datafile, self.text, &mut problems);
        (datafile, problems)
    }
}

fn unknown_help(kind: DatafileKind, command: &Word<'_>) -> Option<String> {
    let upper = command.text.to_ascii_uppercase();
    if command.quoted || command.text.starts_with(['"', '\'']) {
        return Some("commands are written without quotes".into());
    }
    if upper.starts_with("--") {
        return Some("comments start with #".into());
    }
    match (kind, upper.as_str()) {
        (DatafileKind::Datasource, "SETTINGS") => {
            return Some("SETTINGS option is not allowed, use ENGINE_SETTINGS instead".into());
        }
        (DatafileKind::Datasource, "NODE" | "SQL") => {
            return Some(
                "Datasource files cannot have nodes defined: queries go in .pipe files".into(),
            );
        }
        (DatafileKind::Pipe, u) if u == "ENGINE" || u.starts_with("ENGINE_") => {
            return Some(
                "engine settings belong in the .datasource file that the materialized node writes to"
                    .into(),
            );
        }
        (DatafileKind::Connection, "TOKEN") => {
            return Some(
                "tokens are declared with TOKEN lines in .datasource and .pipe files".into(),
            );
        }
        _ => {}
    }
    if let Some(name) = closest(kind, command.text) {
        return Some(format!("did you mean `{name}`?"));
    }
    commands::ALL_KINDS
        .iter()
        .find(|other| **other != kind && lookup(**other, command.text).is_some())
        .map(|other| format!("{upper} is a command of .{other} files"))
}
