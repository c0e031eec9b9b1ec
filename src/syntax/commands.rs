//! The commands of each datafile kind and what lowering does with each, as the Tinybird Forward CLI
//! defines them (`tinybird/datafile/common.py`, `cmds_per_datafile_kind`).

use crate::model::DatafileKind;

/// Whether a command may be written as a `CMD >` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockRule {
    /// Only on one line (`X does not support multiline arguments`).
    Refused,
    /// On one line or as a block.
    Allowed,
    /// Only as a block (`SQL must be multiline`).
    Required,
}

/// What a command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// `DESCRIPTION`: of the resource, or of the current pipe node.
    Description,
    /// `TOKEN name permission`.
    Token,
    /// `SCHEMA`: the column list.
    Schema,
    /// `INDEXES`: data-skipping indexes.
    Indexes,
    /// `ENGINE`: the engine name.
    Engine,
    /// `ENGINE_<KEY>`: an engine setting.
    EngineSetting,
    /// A plain `KEY value` setting of the resource (or, in a pipe, of the current node).
    Setting,
    /// A setting whose value must be one of a few words (case-insensitive).
    Choice(&'static [&'static str]),
    /// `TAGS`: filtering tags, and `key=value` operational tags.
    Tags,
    /// `SHARED_WITH`: workspace names.
    SharedWith,
    /// `FORWARD_QUERY >`.
    ForwardQuery,
    /// `SQL >` in a pipe node.
    Sql,
    /// `NODE name` (and its alias `SCOPE`).
    Node,
    /// A pipe node attribute, which needs a node (`TYPE`, `DATASOURCE`, `COPY_*`, ...).
    NodeAttribute,
    /// `KAFKA_SSL_CA_PEM`: a certificate, usually a block.
    Certificate,
    /// `GCS_SERVICE_ACCOUNT_CREDENTIALS_JSON`: must be JSON.
    JsonSetting,
    /// `INCLUDE`: rejected by Tinybird Forward.
    Include,
    /// Rejected: the command has been removed. The text completes the CLI's message.
    Removed {
        /// Rest of the message, starting with `. ` when present.
        detail: &'static str,
        /// What to do instead.
        help: &'static str,
    },
    /// Accepted with a warning and ignored.
    Deprecated,
}

/// One command of a file kind.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Command {
    /// Upper-case name.
    pub(crate) name: &'static str,
    pub(crate) action: Action,
    pub(crate) block: BlockRule,
}

const fn cmd(name: &'static str, action: Action, block: BlockRule) -> Command {
    Command {
        name,
        action,
        block,
    }
}

use Action::*;
use BlockRule::*;

const SOURCE_REMOVED: Action = Removed {
    detail: "",
    help: "remove SOURCE: data sources are defined by their SCHEMA",
};
const IMPORT_STRATEGY_REMOVED: Action = Removed {
    detail: ". The built-in default is 'append'. You can safely remove this setting from your Data Source file and the connection will be valid.",
    help: "remove the IMPORT_STRATEGY line",
};
const BINARY_HEADERS_REMOVED: Action = Removed {
    detail: ". When KAFKA_STORE_HEADERS is True, __headers is always of type Map(String, String)",
    help: "remove the KAFKA_STORE_BINARY_HEADERS line",
};
const AVRO_KEY_REMOVED: Action = Removed {
    detail: ". Use \"KAFKA_KEY_FORMAT avro\" in the corresponding .datasource file instead",
    help: "remove this line and write `KAFKA_KEY_FORMAT avro` in the .datasource file",
};

pub(crate) const DATASOURCE_COMMANDS: &[Command] = &[
    cmd("DESCRIPTION", Description, Allowed),
    cmd("TOKEN", Token, Refused),
    cmd("SOURCE", SOURCE_REMOVED, Allowed),
    cmd("SCHEMA", Schema, Allowed),
    cmd("INDEXES", Indexes, Allowed),
    cmd("ENGINE", Engine, Allowed),
    cmd("PARTITION_KEY", Setting, Refused),
    cmd("SORTING_KEY", Setting, Refused),
    cmd("PRIMARY_KEY", Setting, Refused),
    cmd("SAMPLING_KEY", Setting, Refused),
    cmd("TTL", Setting, Refused),
    cmd("TAGS", Tags, Allowed),
    cmd("INCLUDE", Include, Allowed),
    cmd("VERSION", Deprecated, Allowed),
    cmd("KAFKA_CONNECTION_NAME", Setting, Refused),
    cmd("KAFKA_TOPIC", Setting, Refused),
    cmd("KAFKA_GROUP_ID", Setting, Refused),
    cmd("KAFKA_AUTO_OFFSET_RESET", Setting, Refused),
    cmd("KAFKA_STORE_RAW_VALUE", Setting, Refused),
    cmd("KAFKA_STORE_HEADERS", Setting, Refused),
    cmd(
        "KAFKA_STORE_BINARY_HEADERS",
        BINARY_HEADERS_REMOVED,
        Allowed,
    ),
    cmd("KAFKA_KEY_FORMAT", Setting, Refused),
    cmd("KAFKA_VALUE_FORMAT", Setting, Refused),
    cmd("KAFKA_TARGET_PARTITIONS", Deprecated, Allowed),
    cmd("IMPORT_CONNECTION_NAME", Setting, Refused),
    cmd("IMPORT_SCHEDULE", Setting, Refused),
    cmd("IMPORT_STRATEGY", IMPORT_STRATEGY_REMOVED, Allowed),
    cmd("IMPORT_BUCKET_URI", Setting, Refused),
    cmd("IMPORT_FORMAT", Setting, Refused),
    cmd("IMPORT_FROM_TIMESTAMP", Setting, Refused),
    cmd("IMPORT_SERVICE", Deprecated, Allowed),
    cmd("IMPORT_EXTERNAL_DATASOURCE", Deprecated, Allowed),
    cmd("IMPORT_QUERY", Setting, Refused),
    cmd("IMPORT_TABLE_ARN", Setting, Refused),
    cmd("IMPORT_EXPORT_BUCKET", Setting, Refused),
    cmd("PG_CONNECTION_NAME", Setting, Refused),
    cmd("PG_TABLE", Setting, Refused),
    cmd("SHARED_WITH", SharedWith, Allowed),
    cmd("EXPORT_SERVICE", Deprecated, Allowed),
    cmd("FORWARD_QUERY", ForwardQuery, Required),
    cmd("BACKFILL", Choice(&["skip"]), Refused),
    cmd("ENGINE_COLUMNS", EngineSetting, Allowed),
    cmd("ENGINE_IS_DELETED", EngineSetting, Allowed),
    cmd("ENGINE_PARTITION_KEY", EngineSetting, Allowed),
    cmd("ENGINE_PRIMARY_KEY", EngineSetting, Allowed),
    cmd("ENGINE_SAMPLING_KEY", EngineSetting, Allowed),
    cmd("ENGINE_SETTINGS", EngineSetting, Allowed),
    cmd("ENGINE_SIGN", EngineSetting, Allowed),
    cmd("ENGINE_SORTING_KEY", EngineSetting, Allowed),
    cmd("ENGINE_TTL", EngineSetting, Allowed),
    cmd("ENGINE_VER", EngineSetting, Allowed),
    cmd("ENGINE_VERSION", EngineSetting, Allowed),
];

pub(crate) const PIPE_COMMANDS: &[Command] = &[
    cmd("NODE", Node, Refused),
    cmd("SCOPE", Node, Refused),
    cmd("DESCRIPTION", Description, Allowed),
    cmd("TYPE", NodeAttribute, Refused),
    cmd("DATASOURCE", NodeAttribute, Refused),
    cmd("TAGS", Tags, Allowed),
    cmd("TARGET_DATASOURCE", NodeAttribute, Refused),
    cmd("COPY_SCHEDULE", NodeAttribute, Refused),
    cmd("COPY_MODE", NodeAttribute, Refused),
    cmd("MODE", NodeAttribute, Refused),
    cmd("ON_DEMAND_COMPUTE", NodeAttribute, Refused),
    cmd("FILTER", NodeAttribute, Refused),
    cmd("TOKEN", Token, Refused),
    cmd("INCLUDE", Include, Allowed),
    cmd("SQL", Sql, Required),
    cmd("VERSION", Deprecated, Allowed),
    cmd("DEPLOYMENT_METHOD", Choice(&["alter"]), Refused),
    cmd("EXPORT_SERVICE", Deprecated, Allowed),
    cmd("EXPORT_CONNECTION_NAME", NodeAttribute, Refused),
    cmd("EXPORT_SCHEDULE", NodeAttribute, Refused),
    cmd("EXPORT_BUCKET_URI", NodeAttribute, Refused),
    cmd("EXPORT_FILE_TEMPLATE", NodeAttribute, Refused),
    cmd("EXPORT_FORMAT", NodeAttribute, Refused),
    cmd("EXPORT_STRATEGY", NodeAttribute, Refused),
    cmd("EXPORT_COMPRESSION", NodeAttribute, Refused),
    cmd("EXPORT_WRITE_STRATEGY", NodeAttribute, Refused),
    cmd("EXPORT_KAFKA_TOPIC", NodeAttribute, Refused),
];

pub(crate) const CONNECTION_COMMANDS: &[Command] = &[
    cmd("DESCRIPTION", Description, Allowed),
    cmd("TYPE", Setting, Refused),
    cmd("KAFKA_BOOTSTRAP_SERVERS", Setting, Refused),
    cmd("KAFKA_KEY", Setting, Refused),
    cmd("KAFKA_SECRET", Setting, Refused),
    cmd("KAFKA_SCHEMA_REGISTRY_URL", Setting, Refused),
    cmd("KAFKA_SSL_CA_PEM", Certificate, Allowed),
    cmd("KAFKA_SECURITY_PROTOCOL", Setting, Refused),
    cmd("KAFKA_SASL_MECHANISM", Setting, Refused),
    cmd("KAFKA_SASL_OAUTHBEARER_METHOD", Setting, Refused),
    cmd("KAFKA_SASL_OAUTHBEARER_AWS_REGION", Setting, Refused),
    cmd("KAFKA_SASL_OAUTHBEARER_AWS_ROLE_ARN", Setting, Refused),
    cmd("KAFKA_SASL_OAUTHBEARER_AWS_EXTERNAL_ID", Setting, Refused),
    cmd("KAFKA_KEY_AVRO_DESERIALIZATION", AVRO_KEY_REMOVED, Allowed),
    cmd("S3_REGION", Setting, Refused),
    cmd("S3_ARN", Setting, Refused),
    cmd("S3_ACCESS_KEY", Setting, Refused),
    cmd("S3_SECRET", Setting, Refused),
    cmd("DYNAMODB_ARN", Setting, Refused),
    cmd("DYNAMODB_REGION", Setting, Refused),
    cmd("GCS_SERVICE_ACCOUNT_CREDENTIALS_JSON", JsonSetting, Refused),
    cmd("GCS_ACCESS_ID", Setting, Refused),
    cmd("GCS_SECRET", Setting, Refused),
    cmd("GCS_HMAC_ACCESS_ID", Setting, Refused),
    cmd("GCS_HMAC_SECRET", Setting, Refused),
    cmd("PG_HOST", Setting, Refused),
    cmd("PG_PORT", Setting, Refused),
    cmd("PG_DATABASE", Setting, Refused),
    cmd("PG_USER", Setting, Refused),
    cmd("PG_PASSWORD", Setting, Refused),
    cmd("PG_SSL_MODE", Setting, Refused),
    cmd("INCLUDE", Include, Allowed),
];

/// The command table of a file kind.
pub(crate) const fn commands(kind: DatafileKind) -> &'static [Command] {
    match kind {
        DatafileKind::Datasource => DATASOURCE_COMMANDS,
        DatafileKind::Pipe => PIPE_COMMANDS,
        DatafileKind::Connection => CONNECTION_COMMANDS,
    }
}

/// Looks a command word up, case-insensitively.
pub(crate) fn lookup(kind: DatafileKind, word: &str) -> Option<&'static Command> {
    // Commands are ASCII; a word with any other byte cannot be one.
    if word.len() > 40 || !word.is_ascii() {
        return None;
    }
    commands(kind)
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(word))
}

/// The command of this kind closest to `word`, when it is close enough to be a likely typo.
pub(crate) fn closest(kind: DatafileKind, word: &str) -> Option<&'static str> {
    let upper = word.to_ascii_uppercase();
    commands(kind)
        .iter()
        .map(|c| (edit_distance(&upper, c.name), c.name))
        .filter(|(d, name)| *d <= (name.len() / 4).max(1))
        .min()
        .map(|(_, name)| name)
}

/// Edit distance over characters where swapping two neighbours counts as one edit (optimal
/// string alignment), so that `TOKNE` is one edit from `TOKEN`.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

/// Every kind, for the commands of other kinds in help texts.
pub(crate) const ALL_KINDS: [DatafileKind; 3] = [
    DatafileKind::Datasource,
    DatafileKind::Pipe,
    DatafileKind::Connection,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swapped_letters_are_one_edit() {
        assert_eq!(edit_distance("TOKNE", "TOKEN"), 1);
        assert_eq!(edit_distance("SCHEMA", "SCHEMA"), 0);
        assert_eq!(edit_distance("ENGIN", "ENGINE"), 1);
        assert_eq!(closest(DatafileKind::Pipe, "tokne"), Some("TOKEN"));
        assert_eq!(closest(DatafileKind::Pipe, "SELECT"), None);
    }
}
