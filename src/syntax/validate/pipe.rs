//! The rules of a pipe as a whole: at least one node, at most one non-standard node, and for
//! each node type its required and allowed attributes.

use crate::model::{Node, NodeType, Pipe, Setting};
use crate::source::Span;
use crate::syntax::cron;
use crate::syntax::diagnostic::SyntaxError;

/// `start` is the file's first line, where a pipe without nodes is reported.
pub(super) fn validate_pipe(pipe: &Pipe, start: Span, problems: &mut Vec<SyntaxError>) {
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
    if let Err(problem) = cron::check(value) {
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
