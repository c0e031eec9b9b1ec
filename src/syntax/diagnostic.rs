//! Every problem the datafile compiler reports, as typed data: code, message, spans and help.
//!
//! Codes are `tokenplan::syntax::<problem>`; README.md lists them all. Messages follow the Tinybird
//! CLI's wording where it has one, so people can search for it.

use miette::Diagnostic;
use thiserror::Error;

use crate::model::DatafileKind;
use crate::source::Span;

/// A problem in one datafile.
#[derive(Debug, Clone, Error, Diagnostic, PartialEq, Eq)]
pub enum SyntaxError {
    /// A first word that is not a command of this file kind.
    #[error("{command} is not a valid option in {kind} files")]
    #[diagnostic(code(tokenplan::syntax::unknown_directive))]
    UnknownDirective {
        /// The word as written.
        command: String,
        kind: DatafileKind,
        /// The word.
        #[label(primary, "unknown command")]
        span: Span,
        /// A likely fix.
        #[help]
        help: Option<String>,
    },

    /// A quote that opens a word and never closes on its line.
    #[error("unclosed quote")]
    #[diagnostic(
        code(tokenplan::syntax::unclosed_quote),
        help("close the quote on the same line; quoted words cannot span lines")
    )]
    UnclosedQuote {
        /// From the quote to the end of the line.
        #[label(primary, "this quote is never closed")]
        span: Span,
    },

    /// `CMD >` for a command that takes its value on one line.
    #[error("{command} does not support multiline arguments")]
    #[diagnostic(
        code(tokenplan::syntax::block_not_allowed),
        help("write the value on the same line: `{command} <value>`")
    )]
    BlockNotAllowed {
        /// The command, upper-case.
        command: String,
        /// The `>`.
        #[label(primary, "`>` opens a block")]
        span: Span,
    },

    /// `SQL` or `FORWARD_QUERY` written on one line.
    #[error("{command} must be multiline")]
    #[diagnostic(
        code(tokenplan::syntax::block_required),
        help("use `{command} >` and write the query on the lines below, indented")
    )]
    BlockRequired {
        /// The command, upper-case.
        command: String,
        /// The command word.
        #[label(primary, "expected `{command} >`")]
        span: Span,
    },

    /// Text Tinybird reads past without using: words after the `>` of a block head, text after an
    /// index definition.
    #[error("{message}")]
    #[diagnostic(code(tokenplan::syntax::ignored_text), severity(Warning))]
    IgnoredText {
        /// What is ignored.
        message: String,
        /// The ignored text.
        #[label(primary, "ignored")]
        span: Span,
        /// Where it should go.
        #[help]
        help: Option<String>,
    },

    /// A command that Tinybird Forward no longer accepts.
    #[error("{command} has been deprecated{detail}")]
    #[diagnostic(code(tokenplan::syntax::removed_directive))]
    RemovedDirective {
        /// The command, upper-case.
        command: String,
        /// The rest of the CLI's message, starting with `. ` when present.
        detail: String,
        /// The command word.
        #[label(primary, "no longer supported")]
        span: Span,
        /// What to do instead.
        #[help]
        help: Option<String>,
    },

    /// A command that Tinybird accepts and ignores.
    #[error("{command} has been deprecated and will be ignored")]
    #[diagnostic(
        code(tokenplan::syntax::deprecated_directive),
        severity(Warning),
        help("remove this line")
    )]
    DeprecatedDirective {
        /// The command, upper-case.
        command: String,
        /// The command word.
        #[label(primary, "ignored by Tinybird")]
        span: Span,
    },

    /// `INCLUDE`, which Tinybird Forward rejects.
    #[error("INCLUDE is not supported yet")]
    #[diagnostic(
        code(tokenplan::syntax::include_not_supported),
        help("Tinybird Forward does not read .incl files: copy the included lines into this file")
    )]
    IncludeNotSupported {
        /// The INCLUDE word.
        #[label(primary, "not supported in Tinybird Forward")]
        span: Span,
    },

    /// `TOKEN` with fewer than two arguments.
    #[error("TOKEN takes two params: token name and permission")]
    #[diagnostic(
        code(tokenplan::syntax::token_missing_argument),
        help("write `TOKEN <name> <permission>`, e.g. TOKEN \"read api token\" READ")
    )]
    TokenMissingArgument {
        /// The directive.
        #[label(primary, "expected a token name and a permission")]
        span: Span,
    },

    /// `TOKEN` with more than two arguments.
    #[error(
        "Invalid number of arguments for TOKEN command: {count}. Expected 2 arguments: token name and permission"
    )]
    #[diagnostic(
        code(tokenplan::syntax::token_extra_argument),
        help("quote a token name that contains spaces: TOKEN \"my token\" READ")
    )]
    TokenExtraArgument {
        /// How many arguments were given.
        count: usize,
        /// The arguments after the second.
        #[label(primary, "unexpected argument")]
        span: Span,
    },

    /// A TOKEN permission that is neither READ nor APPEND.
    #[error("Invalid permission: {permission}. Only READ and APPEND are supported")]
    #[diagnostic(code(tokenplan::syntax::invalid_token_permission))]
    InvalidTokenPermission {
        /// The permission as written.
        permission: String,
        /// The permission.
        #[label(primary, "not a permission")]
        span: Span,
        /// The permissions this file kind allows.
        #[help]
        help: Option<String>,
    },

    /// `TOKEN x APPEND` in a pipe.
    #[error("Invalid permission APPEND for token {name}. Only READ is allowed for pipes")]
    #[diagnostic(
        code(tokenplan::syntax::pipe_token_append),
        help(
            "use READ here; grant APPEND with a TOKEN line in the .datasource file that receives the rows"
        )
    )]
    PipeTokenAppend {
        name: String,
        /// The permission.
        #[label(primary, "pipes only grant READ")]
        span: Span,
    },

    /// `TOKEN "" READ`.
    #[error("empty token name")]
    #[diagnostic(
        code(tokenplan::syntax::empty_token_name),
        help("give the token a name, e.g. TOKEN dashboard READ")
    )]
    EmptyTokenName {
        /// The name.
        #[label(primary, "no name")]
        span: Span,
    },

    /// A pipe command that needs a node, before the first NODE.
    #[error("{command} must be called after a NODE command")]
    #[diagnostic(
        code(tokenplan::syntax::before_node),
        help("add `NODE <name>` above this line")
    )]
    BeforeNode {
        /// The command, upper-case.
        command: String,
        /// The command word.
        #[label(primary, "no node to attach this to")]
        span: Span,
    },

    /// `NODE` without a name.
    #[error("NODE needs a name")]
    #[diagnostic(
        code(tokenplan::syntax::missing_node_name),
        help("write `NODE <name>`")
    )]
    MissingNodeName {
        /// The NODE word.
        #[label(primary, "missing name")]
        span: Span,
    },

    /// A value outside the allowed set or format.
    #[error("{message}")]
    #[diagnostic(code(tokenplan::syntax::invalid_value))]
    InvalidValue {
        /// What is wrong.
        message: String,
        /// The value (or the command when the value is missing).
        #[label(primary, "invalid value")]
        span: Span,
        /// The allowed values or format.
        #[help]
        help: Option<String>,
    },

    /// A data source without SCHEMA.
    #[error("SCHEMA is mandatory")]
    #[diagnostic(
        code(tokenplan::syntax::missing_schema),
        help(
            "add a `SCHEMA >` block listing the columns, e.g.\nSCHEMA >\n    timestamp DateTime `json:$.timestamp`"
        )
    )]
    MissingSchema {
        /// The start of the file.
        #[label(primary, "this data source has no SCHEMA")]
        span: Span,
    },

    /// A column definition the schema syntax does not allow.
    #[error("{message}")]
    #[diagnostic(code(tokenplan::syntax::invalid_column))]
    InvalidColumn {
        /// What is wrong.
        message: String,
        /// The offending part.
        #[label(primary, "here")]
        span: Span,
        /// How to fix it.
        #[help]
        help: Option<String>,
    },

    /// A column type ClickHouse does not know.
    #[error("Unknown data type family: {family}")]
    #[diagnostic(code(tokenplan::syntax::unknown_type))]
    UnknownType {
        /// The type name.
        family: String,
        /// The type name.
        #[label(primary, "unknown type")]
        span: Span,
        /// Close matches.
        #[help]
        help: Option<String>,
    },

    /// A type Tinybird refuses or that is missing its arguments.
    #[error("{message}")]
    #[diagnostic(code(tokenplan::syntax::unsupported_type))]
    UnsupportedType {
        /// What is wrong.
        message: String,
        /// The type.
        #[label(primary, "here")]
        span: Span,
        /// What to use.
        #[help]
        help: Option<String>,
    },

    /// An `INDEXES` line that is not `name expr TYPE type [GRANULARITY n]`.
    #[error("Invalid INDEX syntax")]
    #[diagnostic(
        code(tokenplan::syntax::invalid_index),
        help(
            "Usage: `[INDEX] name expr TYPE type_full GRANULARITY granularity`, one index per line"
        )
    )]
    InvalidIndex {
        /// The line.
        #[label(primary, "not an index definition")]
        span: Span,
    },

    /// A sorting key that uses a column or expression it may not.
    #[error("{message}")]
    #[diagnostic(code(tokenplan::syntax::invalid_sorting_key))]
    InvalidSortingKey {
        /// What is wrong.
        message: String,
        /// The sorting key value.
        #[label(primary, "in this sorting key")]
        span: Span,
        /// The column definition involved, when there is one.
        #[label("defined here")]
        column: Option<Span>,
        /// How to fix it.
        #[help]
        help: Option<String>,
    },

    /// Some settings of a connector group are present and some required ones are missing.
    #[error(
        "Some {group} params have been provided, but the following required ones are missing: {missing}"
    )]
    #[diagnostic(code(tokenplan::syntax::incomplete_settings))]
    IncompleteSettings {
        /// Kafka, connection, DynamoDB, Postgres, materialized node, copy node, sink node...
        group: String,
        /// The missing keys, upper-case, comma separated.
        missing: String,
        /// The first setting of the group.
        #[label(primary, "{group} settings start here")]
        span: Span,
        /// What to add.
        #[help]
        help: Option<String>,
    },

    /// A pipe without nodes.
    #[error("Pipe data file must have at least one node")]
    #[diagnostic(
        code(tokenplan::syntax::empty_pipe),
        help("add a node:\nNODE main\nSQL >\n    SELECT 1")
    )]
    EmptyPipe {
        /// The start of the file.
        #[label(primary, "no NODE in this pipe")]
        span: Span,
    },

    /// A node TYPE outside the known set.
    #[error("Invalid node '{node}' of type ({node_type})")]
    #[diagnostic(
        code(tokenplan::syntax::invalid_node_type),
        help("Allowed node types: endpoint, materialized, copy, sink, stream")
    )]
    InvalidNodeType {
        node: String,
        /// The type as written.
        node_type: String,
        /// The value.
        #[label(primary, "unknown node type")]
        span: Span,
    },

    /// Two non-standard nodes in one pipe.
    #[error("Multiple non-standard nodes in pipe. There can only be one")]
    #[diagnostic(
        code(tokenplan::syntax::multiple_special_nodes),
        help(
            "split the pipe in two, or make one of these nodes a plain node by removing its TYPE"
        )
    )]
    MultipleSpecialNodes {
        /// The second one's TYPE.
        #[label(primary, "second non-standard node")]
        span: Span,
        /// The first one's TYPE.
        #[label("first one here")]
        first: Span,
    },

    /// An attribute that this node type does not take.
    #[error("{node_type} node '{node}' has an invalid attribute ({attribute})")]
    #[diagnostic(code(tokenplan::syntax::invalid_node_attribute))]
    InvalidNodeAttribute {
        /// Standard, Copy, Materialized, S3/GCS sink, Kafka sink.
        node_type: String,
        node: String,
        /// Attribute, lower-case as Tinybird names it.
        attribute: String,
        /// The attribute's line.
        #[label(primary, "not valid here")]
        span: Span,
        /// What to do.
        #[help]
        help: Option<String>,
    },

    /// A node without SQL.
    #[error("Empty query in node '{node}'")]
    #[diagnostic(
        code(tokenplan::syntax::missing_sql),
        help("add the node's query:\nSQL >\n    SELECT ...")
    )]
    MissingSql {
        node: String,
        /// The NODE line.
        #[label(primary, "this node has no SQL")]
        span: Span,
    },

    /// A `{{ ... }}` or `{% ... %}` a data source or connection template cannot render.
    #[error("{message}")]
    #[diagnostic(code(tokenplan::syntax::template_error))]
    TemplateError {
        /// What is wrong.
        message: String,
        /// The template tag.
        #[label(primary, "here")]
        span: Span,
        /// How to fix it.
        #[help]
        help: Option<String>,
    },

    /// `tb_secret('NAME')` with no default and no value given.
    #[error("Cannot access secret '{name}'")]
    #[diagnostic(code(tokenplan::syntax::missing_secret))]
    MissingSecret {
        name: String,
        /// The template tag.
        #[label(primary, "no value for this secret")]
        span: Span,
        /// How to give one.
        #[help]
        help: Option<String>,
    },

    /// A problem inside the rendered value of a `tb_secret(...)`, or one that would quote part of
    /// it: the secret is named, its value never shown.
    #[error("the value of tb_secret('{name}') {what} ({problem})")]
    #[diagnostic(code(tokenplan::syntax::invalid_secret_value))]
    InvalidSecretValue {
        /// Secret name.
        name: String,
        /// What is wrong, quoting nothing.
        what: &'static str,
        /// The last part of the code of the problem found, e.g. `unknown_directive`.
        problem: String,
        /// The template tag.
        #[label(primary, "in the value of this secret")]
        span: Span,
        /// How to check the value.
        #[help]
        help: Option<String>,
    },

    /// A warning about the rendered value of a `tb_secret(...)`: as [`SyntaxError::InvalidSecretValue`].
    #[error("the value of tb_secret('{name}') {what} ({problem})")]
    #[diagnostic(code(tokenplan::syntax::secret_value_warning), severity(Warning))]
    SecretValueWarning {
        /// Secret name.
        name: String,
        /// What is wrong, quoting nothing.
        what: &'static str,
        /// The last part of the code of the problem found, e.g. `ignored_text`.
        problem: String,
        /// The template tag.
        #[label(primary, "in the value of this secret")]
        span: Span,
        /// How to check the value.
        #[help]
        help: Option<String>,
    },

    /// A UTF-8 byte order mark, which the Tinybird CLI does not accept.
    #[error("file starts with a UTF-8 byte order mark")]
    #[diagnostic(
        code(tokenplan::syntax::byte_order_mark),
        severity(Warning),
        help("save the file as UTF-8 without BOM: the Tinybird CLI rejects it")
    )]
    ByteOrderMark {
        /// The mark.
        #[label(primary, "byte order mark")]
        span: Span,
    },

    /// Input nested too deeply to check.
    #[error("nested too deeply ({depth} levels)")]
    #[diagnostic(
        code(tokenplan::syntax::too_deep),
        help("this is almost certainly a typo: check the parentheses")
    )]
    TooDeep {
        depth: usize,
        /// Where it gets too deep.
        #[label(primary, "here")]
        span: Span,
    },
}

impl SyntaxError {
    /// The primary span, for sorting and for line/column output: the primary label every
    /// variant has.
    pub fn span(&self) -> Span {
        let labels: Vec<miette::LabeledSpan> = self.labels().into_iter().flatten().collect();
        labels
            .iter()
            .find(|l| l.primary())
            .or(labels.first())
            .map_or(Span::default(), |l| {
                Span::new(l.offset(), l.offset() + l.len())
            })
    }

    /// Moves every span through `map` (used to map spans of rendered template text back to the
    /// file as written).
    pub(crate) fn map_spans(&mut self, map: impl Fn(Span) -> Span) {
        match self {
            SyntaxError::InvalidSortingKey { span, column, .. } => {
                *span = map(*span);
                *column = column.map(&map);
            }
            SyntaxError::MultipleSpecialNodes { span, first } => {
                *span = map(*span);
                *first = map(*first);
            }
            SyntaxError::UnknownDirective { span, .. }
            | SyntaxError::UnclosedQuote { span }
            | SyntaxError::BlockNotAllowed { span, .. }
            | SyntaxError::BlockRequired { span, .. }
            | SyntaxError::IgnoredText { span, .. }
            | SyntaxError::RemovedDirective { span, .. }
            | SyntaxError::DeprecatedDirective { span, .. }
            | SyntaxError::IncludeNotSupported { span }
            | SyntaxError::TokenMissingArgument { span }
            | SyntaxError::TokenExtraArgument { span, .. }
            | SyntaxError::InvalidTokenPermission { span, .. }
            | SyntaxError::PipeTokenAppend { span, .. }
            | SyntaxError::EmptyTokenName { span }
            | SyntaxError::BeforeNode { span, .. }
            | SyntaxError::MissingNodeName { span }
            | SyntaxError::InvalidValue { span, .. }
            | SyntaxError::MissingSchema { span }
            | SyntaxError::InvalidColumn { span, .. }
            | SyntaxError::UnknownType { span, .. }
            | SyntaxError::UnsupportedType { span, .. }
            | SyntaxError::InvalidIndex { span }
            | SyntaxError::IncompleteSettings { span, .. }
            | SyntaxError::EmptyPipe { span }
            | SyntaxError::InvalidNodeType { span, .. }
            | SyntaxError::InvalidNodeAttribute { span, .. }
            | SyntaxError::MissingSql { span, .. }
            | SyntaxError::TemplateError { span, .. }
            | SyntaxError::MissingSecret { span, .. }
            | SyntaxError::InvalidSecretValue { span, .. }
            | SyntaxError::SecretValueWarning { span, .. }
            | SyntaxError::ByteOrderMark { span }
            | SyntaxError::TooDeep { span, .. } => *span = map(*span),
        }
    }
}
