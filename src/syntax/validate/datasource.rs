//! The rules of a data source as a whole: SCHEMA is mandatory, connector settings come as
//! complete groups, and the sorting key avoids what ClickHouse refuses in one.

use crate::model::{Column, Datasource, Setting};
use crate::source::Span;
use crate::syntax::diagnostic::SyntaxError;

/// `start` is the file's first line, where a missing SCHEMA is reported.
pub(super) fn validate_datasource(ds: &Datasource, start: Span, problems: &mut Vec<SyntaxError>) {
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
