//! The typed model of a datafile, as lowering builds it from the parse: resources, nodes, columns,
//! settings and TOKEN directives, each with the byte spans it came from.

use std::fmt;

use serde::Serialize;

use crate::source::{Span, Spanned};

/// The three kinds of datafile tokenplan reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DatafileKind {
    /// `.datasource`: a table, its schema and engine.
    Datasource,
    /// `.pipe`: nodes of SQL.
    Pipe,
    /// `.connection`: credentials for Kafka, S3, GCS, DynamoDB or Postgres.
    Connection,
}

impl DatafileKind {
    /// The kind a file extension (without dot) names, if any.
    pub fn from_extension(extension: &str) -> Option<Self> {
        match extension {
            "datasource" => Some(DatafileKind::Datasource),
            "pipe" => Some(DatafileKind::Pipe),
            "connection" => Some(DatafileKind::Connection),
            _ => None,
        }
    }

    /// The file extension, without dot; also the name used in messages and JSON.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            DatafileKind::Datasource => "datasource",
            DatafileKind::Pipe => "pipe",
            DatafileKind::Connection => "connection",
        }
    }
}

impl fmt::Display for DatafileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The permission a TOKEN directive grants on its file's resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TokenPermission {
    /// `READ`: query a data source or call a pipe's endpoint.
    Read,
    /// `APPEND`: append rows to a data source.
    Append,
}

impl TokenPermission {
    /// `READ` or `APPEND`.
    pub const fn as_str(self) -> &'static str {
        match self {
            TokenPermission::Read => "READ",
            TokenPermission::Append => "APPEND",
        }
    }
}

impl fmt::Display for TokenPermission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `TOKEN <name> <permission>`: a static token that must exist with this permission on the file's
/// resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenDirective {
    /// The token name, unquoted.
    pub name: String,
    /// Where the name is written (the `{{ tb_secret(...) }}` when it came from one).
    pub name_span: Span,
    pub permission: TokenPermission,
    pub permission_span: Span,
    /// The whole directive line.
    pub span: Span,
}

/// One lowered datafile.
#[derive(Debug, Clone, Serialize)]
pub struct Datafile {
    pub(crate) kind: DatafileKind,
    /// The resource name: the file stem.
    pub(crate) resource: String,
    pub(crate) description: Option<Spanned<String>>,
    /// TOKEN directives in file order, duplicates kept.
    pub tokens: Vec<TokenDirective>,
    /// Filtering tags (`TAGS`).
    pub(crate) tags: Vec<String>,
    pub(crate) body: DatafileBody,
}

/// The kind-specific part of a datafile.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub(crate) enum DatafileBody {
    Datasource(Datasource),
    Pipe(Pipe),
    Connection(Connection),
}

/// A `.datasource` file's table definition.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Datasource {
    /// From the `SCHEMA` word to the end of its value; `None` (an error) when there is no SCHEMA.
    pub(crate) schema_span: Option<Span>,
    pub(crate) columns: Vec<Column>,
    pub(crate) indexes: Vec<Index>,
    /// `ENGINE` and `ENGINE_*`.
    pub(crate) engine: Engine,
    /// Every other `KEY value` setting (Kafka, import, Postgres, `PARTITION_KEY`, `BACKFILL`...),
    /// in file order, keys upper-cased.
    pub(crate) settings: Vec<Setting>,
    pub(crate) forward_query: Option<Spanned<String>>,
    /// Workspaces named by `SHARED_WITH`.
    pub(crate) shared_with: Vec<Spanned<String>>,
}

/// A schema column: `name Type [`json:$.path`] [DEFAULT expr] [CODEC(...)]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Column {
    /// Column name, without backticks.
    pub(crate) name: String,
    pub(crate) name_span: Span,
    /// The type as written, without an outer `Nullable(...)`; empty when only a DEFAULT is given.
    pub(crate) data_type: String,
    pub(crate) type_span: Option<Span>,
    /// The type was `Nullable(...)` (or holds `Nullable(` further in, for sorting-key checks).
    pub(crate) nullable: bool,
    /// `json:` path, without the prefix.
    pub(crate) json_path: Option<String>,
    /// `DEFAULT expr`, the keyword included.
    pub(crate) default: Option<String>,
    /// `CODEC(...)`, the keyword included.
    pub(crate) codec: Option<String>,
    /// The whole column definition.
    pub(crate) span: Span,
}

/// An `INDEXES` entry: `name expr TYPE type [GRANULARITY n]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Index {
    pub(crate) name: String,
    pub(crate) expr: String,
    /// Index type with its arguments, e.g. `bloom_filter(0.001)`.
    pub(crate) index_type: String,
    pub(crate) granularity: Option<u64>,
    /// The whole entry.
    pub(crate) span: Span,
}

/// The table engine: `ENGINE` and the `ENGINE_*` settings.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Engine {
    /// `ENGINE` value, e.g. `MergeTree`.
    pub(crate) name: Option<Spanned<String>>,
    /// `ENGINE_*` settings in file order, keys without the `ENGINE_` prefix, upper-cased.
    pub(crate) settings: Vec<Setting>,
}

impl Engine {
    /// The value of `ENGINE_<key>` (key upper-case, without prefix).
    pub(crate) fn setting(&self, key: &str) -> Option<&Setting> {
        self.settings.iter().rev().find(|s| s.key == key)
    }
}

/// A `KEY value` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Setting {
    /// The key, upper-cased: one of the command names of `syntax::commands`.
    pub(crate) key: &'static str,
    /// The value, unquoted.
    pub(crate) value: String,
    pub(crate) key_span: Span,
    /// Where the value is written (empty at the line's end when there is none).
    pub(crate) value_span: Span,
}

/// A `.pipe` file's nodes.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Pipe {
    pub(crate) nodes: Vec<Node>,
}

/// The kinds of pipe node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum NodeType {
    /// No TYPE, or `TYPE standard`.
    Standard,
    /// `TYPE endpoint`: published as an API endpoint.
    Endpoint,
    /// `TYPE materialized`: writes into `DATASOURCE`.
    Materialized,
    /// `TYPE copy`: copies into `TARGET_DATASOURCE`.
    Copy,
    /// `TYPE sink`: exports to Kafka, S3 or GCS.
    Sink,
    Stream,
}

impl NodeType {
    /// Parses a TYPE value, case-insensitively.
    pub(crate) fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().as_str() {
            "standard" | "" => Some(NodeType::Standard),
            "endpoint" => Some(NodeType::Endpoint),
            "materialized" => Some(NodeType::Materialized),
            "copy" => Some(NodeType::Copy),
            "sink" => Some(NodeType::Sink),
            "stream" => Some(NodeType::Stream),
            _ => None,
        }
    }
}

/// A pipe node.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Node {
    pub(crate) name: String,
    pub(crate) name_span: Span,
    /// The `NODE` line.
    pub(crate) span: Span,
    pub(crate) description: Option<Spanned<String>>,
    /// The SQL, dedented (templates, which start with `%`, are only trimmed).
    pub(crate) sql: Option<Spanned<String>>,
    /// The node type and where it is set; `None` when there is no TYPE line.
    pub(crate) node_type: Option<Spanned<NodeType>>,
    /// Every other attribute (`DATASOURCE`, `TARGET_DATASOURCE`, `COPY_*`, `EXPORT_*`, `FILTER`,
    /// operational `TAGS`, ...), keys upper-cased, `MODE` normalised to `COPY_MODE`.
    pub(crate) attributes: Vec<Setting>,
}

impl Node {
    /// The effective node type.
    pub(crate) fn kind(&self) -> NodeType {
        self.node_type
            .as_ref()
            .map_or(NodeType::Standard, |t| t.value)
    }

    /// The attribute with this key (upper-case), the last one when repeated.
    pub(crate) fn attribute(&self, key: &str) -> Option<&Setting> {
        self.attributes.iter().rev().find(|a| a.key == key)
    }
}

/// A `.connection` file.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Connection {
    /// `TYPE`: kafka, s3, gcs, dynamodb, postgres...
    pub(crate) connection_type: Option<Spanned<String>>,
    /// Every other setting, keys upper-cased, values as written. Secrets are rendered already, so
    /// any value may be a credential: serialized output shows each value as `***`.
    #[serde(serialize_with = "serialize_masked")]
    pub(crate) settings: Vec<Setting>,
}

/// The mask that serialized connection settings show instead of their values.
pub(crate) const MASKED_VALUE: &str = "***";

/// Serializes settings like `Vec<Setting>` but with every value replaced by [`MASKED_VALUE`], so
/// that no model dump (JSON, snapshots, logs) can leak a password, key or certificate.
fn serialize_masked<S: serde::Serializer>(settings: &[Setting], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(settings.iter().map(|setting| Setting {
        value: MASKED_VALUE.to_owned(),
        ..setting.clone()
    }))
}

impl Datafile {
    /// Moves every span through `map` (used to map spans of a rendered template back to the file
    /// as written).
    pub(crate) fn map_spans(&mut self, map: impl Fn(Span) -> Span) {
        let spanned = |s: &mut Option<Spanned<String>>| {
            if let Some(s) = s {
                s.span = map(s.span);
            }
        };
        let setting = |s: &mut Setting| {
            s.key_span = map(s.key_span);
            s.value_span = map(s.value_span);
        };
        spanned(&mut self.description);
        for token in &mut self.tokens {
            token.name_span = map(token.name_span);
            token.permission_span = map(token.permission_span);
            token.span = map(token.span);
        }
        match &mut self.body {
            DatafileBody::Datasource(ds) => {
                ds.schema_span = ds.schema_span.map(&map);
                for column in &mut ds.columns {
                    column.name_span = map(column.name_span);
                    column.type_span = column.type_span.map(&map);
                    column.span = map(column.span);
                }
                for index in &mut ds.indexes {
                    index.span = map(index.span);
                }
                spanned(&mut ds.engine.name);
                ds.engine.settings.iter_mut().for_each(setting);
                ds.settings.iter_mut().for_each(setting);
                spanned(&mut ds.forward_query);
                for workspace in &mut ds.shared_with {
                    workspace.span = map(workspace.span);
                }
            }
            DatafileBody::Pipe(pipe) => {
                for node in &mut pipe.nodes {
                    node.name_span = map(node.name_span);
                    node.span = map(node.span);
                    spanned(&mut node.description);
                    spanned(&mut node.sql);
                    if let Some(t) = &mut node.node_type {
                        t.span = map(t.span);
                    }
                    node.attributes.iter_mut().for_each(setting);
                }
            }
            DatafileBody::Connection(connection) => {
                spanned(&mut connection.connection_type);
                connection.settings.iter_mut().for_each(setting);
            }
        }
    }
}
