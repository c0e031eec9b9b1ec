//! The lowering of each command once its checks have passed: one arm per [`Action`], writing
//! into the datafile being built.

use super::Lowerer;
use super::arguments::{Arguments, joined, setting_value};
use crate::model::{DatafileKind, Node, NodeType, Setting, TokenDirective, TokenPermission};
use crate::scope::TokenName;
use crate::source::{Span, Spanned};
use crate::syntax::commands::{Action, Command};
use crate::syntax::diagnostic::SyntaxError;
use crate::syntax::schema;
use crate::syntax::template::check_sql_template;
use crate::syntax::value::{ValueText, dedent, unquote};
use crate::syntax::words::Word;

impl<'t> Lowerer<'t> {
    /// Lowers `cmd` into the datafile. The tail of [`Lowerer::command`], its one caller: inlined
    /// there, as before it was split out.
    #[inline]
    pub(super) fn action(
        &mut self,
        cmd: &'static Command,
        word: &Word<'t>,
        args: Arguments<'_, 't>,
        line: Span,
    ) {
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
        let Ok(token_name) = TokenName::declared(name.unquoted()) else {
            self.problems
                .push(SyntaxError::EmptyTokenName { span: name.span });
            return;
        };
        if self.kind == DatafileKind::Pipe && parsed == TokenPermission::Append {
            self.problems.push(SyntaxError::PipeTokenAppend {
                name: token_name.into_string(),
                span: permission.span,
            });
            return;
        }
        self.tokens.push(TokenDirective {
            name: token_name.into_string(),
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
