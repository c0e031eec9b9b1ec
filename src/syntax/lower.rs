//! Lowering: from the pest parse of a datafile to the typed model, collecting one diagnostic per
//! problem instead of stopping at the first.

use pest::Parser;
use pest::iterators::Pair;

use super::commands::{self, Action, BlockRule, Command, closest, lookup};
use super::diagnostic::SyntaxError;
use super::schema;
use super::template::check_sql_template;
use super::value::{ValueText, dedent, unquote};
use super::words::{self, Word};
use crate::model::{
    Connection, Datafile, DatafileBody, DatafileKind, Datasource, Node, NodeType, Setting,
    TokenDirective, TokenPermission,
};
use crate::source::{Span, Spanned};

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

/// A word the grammar read (a command, the words of a block head).
fn word_of<'t>(pair: &Pair<'t, Rule>) -> Word<'t> {
    Word {
        text: pair.as_str(),
        span: Span::from(pair.as_span()),
        quoted: pair.as_rule() == Rule::quoted,
        unclosed: pair.as_rule() == Rule::unclosed,
    }
}

/// What follows a command: the words of its line, or the value of its block.
enum Arguments<'w, 't> {
    Line(&'w [Word<'t>]),
    Block {
        marker: Span,
        value: ValueText,
        /// Where the block's lines are, for values and empty-block errors.
        body: Span,
    },
}

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

        match cmd.action {
            Action::Token => {
                if let Arguments::Line(args) = args {
                    self.token(args, line);
                }
            }
            Action::Node => {
                if let Arguments::Line(args) = args {
                    self.node(word, args, line);
                }
            }
            Action::Description => {
                let value = match args {
                    Arguments::Line(args) => joined(args, " "),
                    Arguments::Block { value, .. } => value,
                };
                let span = value.trimmed_file_span(Span::at(line.end));
                let description = Spanned::new(value.text.trim().to_owned(), span);
                match self.nodes.last_mut() {
                    Some(node) => node.description = Some(description),
                    None => self.description = Some(description),
                }
            }
            Action::Schema => {
                let value = match args {
                    Arguments::Line(args) => joined(args, ""),
                    Arguments::Block { value, .. } => value,
                }
                .unquote();
                // Most schemas have no comment: no need to copy them to cut none.
                let value = if value.text.contains("--") {
                    schema::strip_comments(&value)
                } else {
                    value
                };
                self.datasource.schema_span = Some(Span::new(
                    word.span.start,
                    line.end
                        .max(value.trimmed_file_span(Span::at(line.end)).end),
                ));
                self.datasource.columns = schema::lower_schema(&value, &mut self.problems);
            }
            Action::Indexes => {
                let value = match args {
                    Arguments::Line(args) => joined(args, ""),
                    Arguments::Block { value, .. } => value,
                }
                .unquote();
                self.datasource.indexes = schema::lower_indexes(&value, &mut self.problems);
            }
            Action::Engine => {
                let (value, span) = setting_value(args, line);
                self.datasource.engine.name = Some(Spanned::new(value, span));
            }
            Action::EngineSetting => {
                let (value, span) = setting_value(args, line);
                // An empty ENGINE_TTL is dropped by the CLI.
                if cmd.name == "ENGINE_TTL" && value.is_empty() {
                    return;
                }
                self.datasource.engine.settings.push(Setting {
                    key: &cmd.name["ENGINE_".len()..],
                    value,
                    key_span: word.span,
                    value_span: span,
                });
            }
            Action::Setting | Action::NodeAttribute | Action::Choice(_) => {
                let (value, span) = setting_value(args, line);
                if let Action::Choice(allowed) = cmd.action
                    && !allowed.iter().any(|a| a.eq_ignore_ascii_case(&value))
                {
                    self.problems.push(SyntaxError::InvalidValue {
                        message: format!("{value} is not an allowed value for {}", cmd.name),
                        span,
                        help: Some(format!("Use one of: {}", allowed.join(", "))),
                    });
                    return;
                }
                self.setting(cmd, word, value, span);
            }
            Action::Tags => {
                let (value, _) = setting_value(args, line);
                let mut operational = Vec::new();
                for entry in value.split(',').map(str::trim) {
                    if entry.contains('=') {
                        operational.push(entry);
                    } else if !entry.is_empty() {
                        self.tags.push(entry.to_owned());
                    }
                }
                if !operational.is_empty()
                    && let Some(node) = self.nodes.last_mut()
                {
                    node.attributes.push(Setting {
                        key: "TAGS",
                        value: operational.join("&"),
                        key_span: word.span,
                        value_span: line,
                    });
                }
            }
            Action::SharedWith => self.shared_with(word, args, line),
            Action::Sql | Action::ForwardQuery => {
                let Arguments::Block { value, body, .. } = args else {
                    return;
                };
                self.sql(cmd, word, value, body);
            }
            Action::Certificate => {
                let value = match args {
                    Arguments::Line(args) => joined(args, "\n"),
                    Arguments::Block { value, .. } => value,
                };
                let span = value.trimmed_file_span(Span::at(line.end));
                let text = value.text.trim().to_owned();
                self.setting(cmd, word, text, span);
            }
            Action::JsonSetting => {
                let (value, span) = setting_value(args, line);
                if let Err(error) = serde_json::from_str::<serde_json::Value>(&value) {
                    self.problems.push(SyntaxError::InvalidValue {
                        message: format!("{} is not valid JSON: {error}", cmd.name),
                        span,
                        help: Some("paste the service account key file's JSON on one line, or use tb_secret".into()),
                    });
                    return;
                }
                self.setting(cmd, word, value, span);
            }
            Action::Include | Action::Removed { .. } | Action::Deprecated => {}
        }
    }

    fn token(&mut self, args: &[Word<'t>], line: Span) {
        if args.len() < 2 {
            self.problems
                .push(SyntaxError::TokenMissingArgument { span: line });
            return;
        }
        if args.len() > 2 {
            self.problems.push(SyntaxError::TokenExtraArgument {
                count: args.len(),
                span: Span::new(args[2].span.start, line.end),
            });
            return;
        }
        let (name, permission) = (&args[0], &args[1]);
        let parsed = if permission.text.eq_ignore_ascii_case("READ") {
            Some(TokenPermission::Read)
        } else if permission.text.eq_ignore_ascii_case("APPEND") {
            Some(TokenPermission::Append)
        } else {
            None
        };
        let Some(parsed) = parsed else {
            self.problems.push(SyntaxError::InvalidTokenPermission {
                permission: permission.text.to_owned(),
                span: permission.span,
                help: Some(permission_help(self.kind, permission)),
            });
            return;
        };
        let token_name = name.unquoted();
        if token_name.is_empty() {
            self.problems
                .push(SyntaxError::EmptyTokenName { span: name.span });
            return;
        }
        if self.kind == DatafileKind::Pipe && parsed == TokenPermission::Append {
            self.problems.push(SyntaxError::PipeTokenAppend {
                name: token_name.to_owned(),
                span: permission.span,
            });
            return;
        }
        self.tokens.push(TokenDirective {
            name: token_name.to_owned(),
            name_span: name.span,
            permission: parsed,
            permission_span: permission.span,
            span: line,
        });
    }

    fn node(&mut self, word: &Word<'t>, args: &[Word<'t>], line: Span) {
        let Some(name) = args.first() else {
            self.problems
                .push(SyntaxError::MissingNodeName { span: word.span });
            return;
        };
        self.nodes.push(Node {
            name: unquote(name.text).to_owned(),
            name_span: name.span,
            span: line,
            description: None,
            sql: None,
            node_type: None,
            attributes: Vec::new(),
        });
    }

    fn setting(&mut self, cmd: &Command, word: &Word<'t>, value: String, span: Span) {
        match self.kind {
            DatafileKind::Datasource => self.datasource.settings.push(Setting {
                key: cmd.name,
                value,
                key_span: word.span,
                value_span: span,
            }),
            DatafileKind::Connection if cmd.name == "TYPE" => {
                self.connection.connection_type = Some(Spanned::new(value, span));
            }
            DatafileKind::Connection => self.connection.settings.push(Setting {
                key: cmd.name,
                value,
                key_span: word.span,
                value_span: span,
            }),
            DatafileKind::Pipe => {
                let Some(node) = self.nodes.last_mut() else {
                    return;
                };
                if cmd.name == "TYPE" {
                    match NodeType::parse(&value) {
                        Some(node_type) => node.node_type = Some(Spanned::new(node_type, span)),
                        None => {
                            let node = node.name.clone();
                            self.problems.push(SyntaxError::InvalidNodeType {
                                node,
                                node_type: value.to_ascii_lowercase(),
                                span,
                            });
                        }
                    }
                    return;
                }
                let key = if cmd.name == "MODE" {
                    "COPY_MODE"
                } else {
                    cmd.name
                };
                node.attributes.push(Setting {
                    key,
                    value,
                    key_span: word.span,
                    value_span: span,
                });
            }
        }
    }

    fn shared_with(&mut self, word: &Word<'t>, args: Arguments<'_, 't>, line: Span) {
        let pieces: Vec<(String, Span)> = match args {
            Arguments::Line(args) => args
                .iter()
                .map(|w| (w.unquoted().to_owned(), w.span))
                .collect(),
            Arguments::Block { value, body, .. } => {
                let value = value.unquote();
                vec![(value.text.clone(), value.trimmed_file_span(body))]
            }
        };
        let before = self.datasource.shared_with.len();
        for (text, span) in pieces {
            for name in text
                .lines()
                .flat_map(|l| l.split(','))
                .map(|w| w.trim().trim_end_matches(','))
                .filter(|w| !w.is_empty())
            {
                self.datasource
                    .shared_with
                    .push(Spanned::new(name.to_owned(), span));
            }
        }
        if self.datasource.shared_with.len() == before {
            self.problems.push(SyntaxError::InvalidValue {
                message: "SHARED_WITH requires at least one workspace name".into(),
                span: if line.is_empty() { word.span } else { line },
                help: Some(
                    "list the workspaces, e.g. SHARED_WITH >\n    analytics_workspace".into(),
                ),
            });
        }
    }

    fn sql(&mut self, cmd: &Command, word: &Word<'t>, value: ValueText, body: Span) {
        let trimmed = value.text.trim();
        if trimmed.is_empty() {
            self.problems.push(SyntaxError::InvalidValue {
                message: format!("{} block is empty", cmd.name),
                span: word.span,
                help: Some(format!(
                    "write the query on the lines below `{} >`, indented",
                    cmd.name
                )),
            });
            return;
        }
        let span = value.trimmed_file_span(body);
        let is_template = trimmed.starts_with('%');
        let sql = if is_template {
            trimmed.to_owned()
        } else {
            let mut sql = dedent(&value.text);
            sql.truncate(sql.trim_end().len());
            sql
        };
        if is_template {
            // Offsets in the template (after `%`) to file offsets.
            let base = value.text.len() - value.text.trim_start().len() + 1;
            let template = &trimmed[1..];
            check_sql_template(
                template,
                &|s: Span| value.file_span(s.shifted(base)),
                &mut self.problems,
            );
        }
        let sql = Spanned::new(sql, span);
        match (cmd.action, self.nodes.last_mut()) {
            (Action::Sql, Some(node)) => node.sql = Some(sql),
            _ => self.datasource.forward_query = Some(sql),
        }
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

/// The words of a line joined with `separator`, quotes kept, as the CLI's `" ".join(args)`.
fn joined(args: &[Word<'_>], separator: &str) -> ValueText {
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
fn setting_value(args: Arguments<'_, '_>, line: Span) -> (String, Span) {
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
fn block_value(body: &str, body_start: usize) -> ValueText {
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

fn permission_help(kind: DatafileKind, permission: &Word<'_>) -> String {
    let text = permission.text;
    let allowed = match kind {
        DatafileKind::Pipe => "pipes grant READ",
        _ => "use READ or APPEND",
    };
    if permission.quoted {
        format!("write the permission without quotes; {allowed}")
    } else if text.contains(',') {
        "write one TOKEN line per permission: TOKEN name READ, then TOKEN name APPEND".into()
    } else if text.contains(':') {
        format!("row filters (READ:filter) are not supported in Tinybird Forward; {allowed}")
    } else {
        allowed.to_owned()
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
