//! Whole-file rules the Tinybird CLI checks after parsing (`Datafile.validate` and `parse_pipe`):
//! mandatory SCHEMA, sorting keys, complete connector settings, node types and their attributes.

use super::diagnostic::SyntaxError;
use crate::model::{Column, Datafile, DatafileBody, Datasource, Node, NodeType, Pipe, Setting};
use crate::source::Span;

/// Adds the problems of a lowered datafile. `text` is the file's (rendered) text.
pub fn validate(datafile: &Datafile, text: &str, problems: &mut Vec<SyntaxError>) {
    let start = Span::new(0, first_line_end(text));
    match &datafile.body {
        DatafileBody::Datasource(datasource) => validate_datasource(datasource, start, problems),
        DatafileBody::Pipe(pipe) => validate_pipe(pipe, start, problems),
        DatafileBody::Connection(_) => {}
    }
}

fn first_line_end(text: &str) -> usize {
    let text_start = text.strip_prefix('\u{feff}').map_or(0, |_| 3);
    text[text_start..]
        .find(['\n', '\r'])
        .map_or(text.len(), |e| text_start + e)
}

fn validate_datasource(ds: &Datasource, start: Span, problems: &mut Vec<SyntaxError>) {
    if ds.schema_span.is_none() {
        problems.push(SyntaxError::MissingSchema { span: start });
    }
    if let Some(sorting_key) = ds.engine.setting("SORTING_KEY") {
        check_sorting_key(ds, sorting_key, problems);
    }
    let setting = |key: &str| ds.settings.iter().rev().find(|s| s.key == key);

    check_group(
        ds,
        "Kafka",
        &["KAFKA_CONNECTION_NAME", "KAFKA_TOPIC", "KAFKA_GROUP_ID"],
        &["KAFKA_CONNECTION_NAME", "KAFKA_TOPIC", "KAFKA_GROUP_ID"],
        problems,
    );
    if let Some(group) = setting("KAFKA_GROUP_ID")
        && group.value.trim().is_empty()
    {
        problems.push(SyntaxError::InvalidValue {
            message: "KAFKA_GROUP_ID cannot be empty".into(),
            span: if group.value_span.is_empty() {
                group.key_span
            } else {
                group.value_span
            },
            help: Some("name the consumer group, e.g. KAFKA_GROUP_ID my_group".into()),
        });
    }
    let is_dynamodb =
        setting("IMPORT_TABLE_ARN").is_some() || setting("IMPORT_EXPORT_BUCKET").is_some();
    if is_dynamodb {
        check_group(
            ds,
            "DynamoDB",
            &["IMPORT_TABLE_ARN", "IMPORT_EXPORT_BUCKET"],
            &[
                "IMPORT_CONNECTION_NAME",
                "IMPORT_TABLE_ARN",
                "IMPORT_EXPORT_BUCKET",
            ],
            problems,
        );
    } else {
        let complete = check_group(
            ds,
            "connection",
            &[
                "IMPORT_CONNECTION_NAME",
                "IMPORT_SCHEDULE",
                "IMPORT_BUCKET_URI",
                "IMPORT_FROM_TIMESTAMP",
                "IMPORT_FORMAT",
            ],
            &[
                "IMPORT_CONNECTION_NAME",
                "IMPORT_SCHEDULE",
                "IMPORT_BUCKET_URI",
            ],
            problems,
        );
        if complete
            && let Some(schedule) = setting("IMPORT_SCHEDULE")
            && !["@once", "@on-demand", "@auto"].contains(&schedule.value.as_str())
        {
            problems.push(SyntaxError::InvalidValue {
                message: format!("Invalid import schedule '{}'", schedule.value),
                span: schedule.value_span,
                help: Some("Only ['@auto', '@on-demand', '@once'] values are allowed".into()),
            });
        }
    }
    check_group(
        ds,
        "Postgres",
        &["PG_CONNECTION_NAME", "PG_TABLE"],
        &["PG_CONNECTION_NAME", "PG_TABLE"],
        problems,
    );
}

/// When any of `trigger` is set, all of `required` must be. Returns false when some are missing.
fn check_group(
    ds: &Datasource,
    group: &str,
    trigger: &[&str],
    required: &[&str],
    problems: &mut Vec<SyntaxError>,
) -> bool {
    let Some(first) = ds.settings.iter().find(|s| trigger.contains(&s.key)) else {
        return true;
    };
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|key| !ds.settings.iter().any(|s| s.key == *key))
        .collect();
    if missing.is_empty() {
        return true;
    }
    problems.push(SyntaxError::IncompleteSettings {
        group: group.into(),
        missing: missing.join(", "),
        span: first.key_span,
        help: Some(format!("add {}", missing.join(" and "))),
    });
    false
}

fn check_sorting_key(ds: &Datasource, key: &Setting, problems: &mut Vec<SyntaxError>) {
    let value = key.value.as_str();
    if value.is_empty() || value == "tuple()" {
        return;
    }
    let mut report = |message: String, column: Option<&Column>, help: &str| {
        problems.push(SyntaxError::InvalidSortingKey {
            message,
            span: key.value_span,
            column: column.map(|c| c.span),
            help: Some(help.into()),
        });
    };
    let replacing = ds
        .engine
        .name
        .as_ref()
        .is_some_and(|n| n.value == "ReplacingMergeTree");
    if replacing
        && let Some(ver) = ds.engine.setting("VER")
        && !ver.value.is_empty()
        && value.contains(ver.value.as_str())
    {
        report(
            format!(
                "ENGINE_VER column '{}' cannot be included in the sorting key for ReplacingMergeTree",
                ver.value
            ),
            None,
            "the sorting key defines what makes a row unique; ENGINE_VER picks which version to keep",
        );
        return;
    }
    if let Some(expression) = aggregate_call(value) {
        report(
            format!("Sorting key contains aggregate function expression '{expression}'"),
            None,
            "Aggregate function expressions cannot be used in sorting keys",
        );
        return;
    }
    for name in sorting_key_columns(value) {
        let Some(column) = ds.columns.iter().find(|c| c.name == name) else {
            continue;
        };
        if column.nullable || column.data_type.contains("Nullable(") {
            report(
                format!("Sorting key contains nullable column '{name}'"),
                Some(column),
                "Nullable columns cannot be used in sorting keys: make the column non-nullable (with a DEFAULT) or wrap it, e.g. ifNull(col, '')",
            );
            return;
        }
        if column
            .data_type
            .to_ascii_lowercase()
            .contains("aggregatefunction")
        {
            report(
                format!("Sorting key contains column '{name}' with AggregateFunction type"),
                Some(column),
                "AggregateFunction columns cannot be used in sorting keys",
            );
            return;
        }
    }
}

const AGGREGATES: &[&str] = &[
    "sum",
    "count",
    "avg",
    "min",
    "max",
    "any",
    "grouparray",
    "groupuniqarray",
    "uniq",
    "summerge",
    "countmerge",
    "avgmerge",
    "minmerge",
    "maxmerge",
    "anymerge",
    "grouparraymerge",
    "groupuniqarraymerge",
    "uniqmerge",
];

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The first `aggregate(...)` call in a sorting key, as written.
fn aggregate_call(key: &str) -> Option<&str> {
    let mut search = 0;
    while let Some(paren) = key[search..].find('(').map(|p| search + p) {
        let before = key[..paren].trim_end();
        let name_start = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_word(*c))
            .last()
            .map_or(before.len(), |(i, _)| i);
        let name = &before[name_start..];
        if AGGREGATES.iter().any(|a| a.eq_ignore_ascii_case(name)) {
            let mut depth = 0;
            let mut end = key.len();
            for (i, c) in key[paren..].char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = paren + i + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            return Some(&key[name_start..end]);
        }
        search = paren + 1;
    }
    None
}

/// Column names a sorting key refers to, as the CLI extracts them: plain identifiers, backticked
/// names, and the identifier arguments of function calls (one level).
fn sorting_key_columns(key: &str) -> Vec<String> {
    let key = key
        .strip_prefix("tuple(")
        .and_then(|k| k.strip_suffix(')'))
        .unwrap_or(key);
    let mut columns = Vec::new();
    let chars: Vec<(usize, char)> = key.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        if c == '`' {
            if let Some(close) = key[start + 1..].find('`').filter(|n| *n > 0) {
                columns.push(key[start + 1..start + 1 + close].to_owned());
                i = chars.partition_point(|(o, _)| *o <= start + 1 + close);
                continue;
            }
        } else if is_word(c) {
            let mut j = i;
            while j < chars.len() && is_word(chars[j].1) {
                j += 1;
            }
            let word_end = chars.get(j).map_or(key.len(), |(o, _)| *o);
            let word = &key[start..word_end];
            let mut k = j;
            while k < chars.len() && chars[k].1.is_whitespace() {
                k += 1;
            }
            if chars.get(k).map(|(_, c)| *c) == Some('(') {
                let open = chars[k].0;
                if let Some(close) = key[open..].find(')') {
                    for arg in key[open + 1..open + close].split(',') {
                        let arg = arg.trim().trim_matches('`');
                        let identifier = arg
                            .chars()
                            .next()
                            .is_some_and(|c| c.is_alphabetic() || c == '_')
                            && arg.chars().all(is_word);
                        if identifier {
                            columns.push(arg.to_owned());
                        }
                    }
                    i = chars.partition_point(|(o, _)| *o <= open + close);
                    continue;
                }
            }
            columns.push(word.to_owned());
            i = j;
            continue;
        }
        i += 1;
    }
    columns
}

fn validate_pipe(pipe: &Pipe, start: Span, problems: &mut Vec<SyntaxError>) {
    if pipe.nodes.is_empty() {
        problems.push(SyntaxError::EmptyPipe { span: start });
        return;
    }
    let mut first_special: Option<Span> = None;
    for node in &pipe.nodes {
        if let Some(node_type) = &node.node_type
            && node_type.value != NodeType::Standard
        {
            match first_special {
                None => first_special = Some(node_type.span),
                Some(first) => problems.push(SyntaxError::MultipleSpecialNodes {
                    span: node_type.span,
                    first,
                }),
            }
        }
        match node.kind() {
            NodeType::Standard => only_attributes(node, "Standard", &[], problems),
            NodeType::Materialized => {
                if require(node, "materialized node", &["DATASOURCE"], problems) {
                    only_attributes(
                        node,
                        "Materialized",
                        &["DATASOURCE", "DEPLOYMENT_METHOD"],
                        problems,
                    );
                }
            }
            NodeType::Copy => validate_copy(node, problems),
            NodeType::Sink => validate_sink(node, problems),
            NodeType::Endpoint | NodeType::Stream => {}
        }
        if node.sql.is_none() {
            problems.push(SyntaxError::MissingSql {
                node: node.name.clone(),
                span: node.span,
            });
        }
    }
}

/// Reports the missing required attributes of a node; false when some are missing.
fn require(node: &Node, what: &str, keys: &[&str], problems: &mut Vec<SyntaxError>) -> bool {
    let missing: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| node.attribute(k).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    problems.push(SyntaxError::IncompleteSettings {
        group: what.into(),
        missing: missing.join(", "),
        span: node.node_type.as_ref().map_or(node.span, |t| t.span),
        help: Some(format!(
            "add {} to node '{}'",
            missing.join(" and "),
            node.name
        )),
    });
    false
}

/// Reports attributes outside `allowed` (DESCRIPTION, SQL and TYPE are always allowed).
fn only_attributes(
    node: &Node,
    node_type: &str,
    allowed: &[&str],
    problems: &mut Vec<SyntaxError>,
) {
    for attribute in &node.attributes {
        if !allowed.contains(&attribute.key) {
            let help = match attribute.key {
                "DATASOURCE" => {
                    Some("DATASOURCE belongs to a materialized node: add TYPE materialized")
                }
                "TARGET_DATASOURCE" | "COPY_SCHEDULE" | "COPY_MODE" | "ON_DEMAND_COMPUTE" => {
                    Some("copy settings belong to a copy node: add TYPE copy")
                }
                k if k.starts_with("EXPORT_") => {
                    Some("export settings belong to a sink node: add TYPE sink")
                }
                _ => None,
            };
            problems.push(SyntaxError::InvalidNodeAttribute {
                node_type: node_type.into(),
                node: node.name.clone(),
                attribute: attribute_name(attribute.key),
                span: attribute.key_span,
                help: help.map(str::to_owned),
            });
        }
    }
}

/// The CLI's name for an attribute in messages.
fn attribute_name(key: &str) -> String {
    key.to_ascii_lowercase()
}

fn validate_copy(node: &Node, problems: &mut Vec<SyntaxError>) {
    if !require(node, "copy node", &["TARGET_DATASOURCE"], problems) {
        return;
    }
    if let Some(mode) = node.attribute("COPY_MODE")
        && !["append", "replace"].contains(&mode.value.as_str())
    {
        problems.push(SyntaxError::InvalidValue {
            message: "COPY node mode must be append or replace".into(),
            span: mode.value_span,
            help: Some("use COPY_MODE append or COPY_MODE replace".into()),
        });
    }
    if let Some(schedule) = node.attribute("COPY_SCHEDULE") {
        check_schedule(schedule, "COPY_SCHEDULE", problems);
    }
    if let Some(compute) = node.attribute("ON_DEMAND_COMPUTE")
        && !is_bool(&compute.value)
    {
        problems.push(SyntaxError::InvalidValue {
            message: "ON_DEMAND_COMPUTE must be true or false".into(),
            span: compute.value_span,
            help: None,
        });
    }
    only_attributes(
        node,
        "Copy",
        &[
            "TARGET_DATASOURCE",
            "COPY_SCHEDULE",
            "COPY_MODE",
            "ON_DEMAND_COMPUTE",
        ],
        problems,
    );
}

fn is_bool(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "true" | "false" | "1" | "0" | "yes" | "no" | "t" | "f" | "y" | "n" | "on" | "off"
    )
}

fn validate_sink(node: &Node, problems: &mut Vec<SyntaxError>) {
    if node.attribute("EXPORT_CONNECTION_NAME").is_none() {
        problems.push(SyntaxError::IncompleteSettings {
            group: "sink node".into(),
            missing: "EXPORT_CONNECTION_NAME".into(),
            span: node.node_type.as_ref().map_or(node.span, |t| t.span),
            help: Some(format!(
                "add EXPORT_CONNECTION_NAME to node '{}'",
                node.name
            )),
        });
        return;
    }
    let kafka = node.attribute("EXPORT_KAFKA_TOPIC").is_some();
    let blob = node.attribute("EXPORT_BUCKET_URI").is_some()
        || node.attribute("EXPORT_FILE_TEMPLATE").is_some();
    if kafka && blob {
        let topic = node.attribute("EXPORT_KAFKA_TOPIC").expect("checked above");
        problems.push(SyntaxError::InvalidNodeAttribute {
            node_type: "Sink".into(),
            node: node.name.clone(),
            attribute: "export_kafka_topic".into(),
            span: topic.key_span,
            help: Some("use either Kafka parameters (EXPORT_KAFKA_TOPIC) or S3/GCS parameters (EXPORT_BUCKET_URI, EXPORT_FILE_TEMPLATE), not both".into()),
        });
        return;
    }
    if kafka {
        if require(
            node,
            "Kafka sink node",
            &["EXPORT_KAFKA_TOPIC", "EXPORT_SCHEDULE"],
            problems,
        ) {
            only_attributes(
                node,
                "Kafka sink",
                &[
                    "EXPORT_KAFKA_TOPIC",
                    "EXPORT_SCHEDULE",
                    "EXPORT_CONNECTION_NAME",
                ],
                problems,
            );
        }
    } else if blob {
        if require(
            node,
            "S3/GCS sink node",
            &[
                "EXPORT_SCHEDULE",
                "EXPORT_BUCKET_URI",
                "EXPORT_FILE_TEMPLATE",
            ],
            problems,
        ) {
            only_attributes(
                node,
                "S3/GCS sink",
                &[
                    "EXPORT_CONNECTION_NAME",
                    "EXPORT_SCHEDULE",
                    "EXPORT_BUCKET_URI",
                    "EXPORT_FILE_TEMPLATE",
                    "EXPORT_FORMAT",
                    "EXPORT_COMPRESSION",
                    "EXPORT_WRITE_STRATEGY",
                    "EXPORT_STRATEGY",
                ],
                problems,
            );
        }
    } else {
        problems.push(SyntaxError::IncompleteSettings {
            group: "sink node".into(),
            missing: "EXPORT_KAFKA_TOPIC, or EXPORT_BUCKET_URI and EXPORT_FILE_TEMPLATE".into(),
            span: node.node_type.as_ref().map_or(node.span, |t| t.span),
            help: Some("For Kafka sinks, provide EXPORT_KAFKA_TOPIC. For S3/GCS sinks, provide EXPORT_BUCKET_URI and EXPORT_FILE_TEMPLATE".into()),
        });
        return;
    }
    if let Some(schedule) = node.attribute("EXPORT_SCHEDULE") {
        check_schedule(schedule, "EXPORT_SCHEDULE", problems);
    }
}

fn check_schedule(schedule: &Setting, key: &str, problems: &mut Vec<SyntaxError>) {
    let value = schedule.value.as_str();
    if value == "@on-demand" {
        return;
    }
    if value.contains("tb_secret") {
        problems.push(SyntaxError::InvalidValue {
            message: format!("{key} does not support {{ tb_secret(...) }}"),
            span: schedule.value_span,
            help: Some(
                "Use a literal cron expression (for example \"0 * * * *\") or @on-demand".into(),
            ),
        });
        return;
    }
    if let Err(problem) = super::cron::check(value) {
        problems.push(SyntaxError::InvalidValue {
            message: format!("{key} must be @on-demand or a valid cron expression: {problem}"),
            span: schedule.value_span,
            help: Some(
                "write five fields: minute hour day-of-month month day-of-week, e.g. \"0 * * * *\""
                    .into(),
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorting_key_columns_like_the_cli() {
        assert_eq!(
            sorting_key_columns("shop, event_date, channel"),
            ["shop", "event_date", "channel"]
        );
        assert_eq!(
            sorting_key_columns("shop, event_date, ifNull(ad_id, ''), event_id"),
            ["shop", "event_date", "ad_id", "event_id"]
        );
        assert_eq!(
            sorting_key_columns("tuple(shop, toDate(timestamp))"),
            ["shop", "timestamp"]
        );
        assert_eq!(
            sorting_key_columns("toStartOfHour(timestamp), id, substring(a, 2, 1)"),
            ["timestamp", "id", "a"]
        );
        assert_eq!(sorting_key_columns("`my col`, b"), ["my col", "b"]);
    }

    #[test]
    fn aggregate_calls_are_found() {
        assert_eq!(aggregate_call("a, sum(b)"), Some("sum(b)"));
        assert_eq!(
            aggregate_call("toDate(a), countMerge(x(y))"),
            Some("countMerge(x(y))")
        );
        assert_eq!(aggregate_call("toDate(a)"), None);
    }
}
