//! Templates in datafiles: rendering `tb_secret(...)` in data sources and connections before they
//! are parsed, and checking the tags and blocks of pipe SQL templates (SQL that starts with `%`).

use std::collections::BTreeMap;

use pest::Parser;
use pest::iterators::Pair;

use super::diagnostic::SyntaxError;
use crate::source::{OffsetMap, Span};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/template.pest"]
struct TemplateParser;

/// Values for `tb_secret('NAME')`, from `--secret NAME=VALUE`.
pub type Secrets = BTreeMap<String, String>;

/// A rendered text and the map from its offsets back to the text as written.
pub struct Rendered {
    /// The text with every tag replaced by its value.
    pub text: String,
    /// Rendered offsets to written offsets.
    pub map: OffsetMap,
}

/// True when `text` holds a template tag opener and must be rendered.
pub fn has_tags(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes
        .windows(2)
        .any(|w| w[0] == b'{' && matches!(w[1], b'{' | b'%' | b'#'))
}

/// Renders a `.datasource` or `.connection` template, where only `tb_secret` is defined.
///
/// Problems are pushed with spans in `text`. A secret without a value renders as its name so
/// that the rest of the file can still be checked; the file has an error either way.
pub fn render_secrets(text: &str, secrets: &Secrets, problems: &mut Vec<SyntaxError>) -> Rendered {
    let mut out = String::with_capacity(text.len());
    let mut map = OffsetMap::identity();
    let pairs = match TemplateParser::parse(Rule::template, text) {
        Ok(mut pairs) => pairs.next().map(Pair::into_inner),
        Err(_) => None,
    };
    let Some(pairs) = pairs else {
        // The grammar accepts every input; keep the text as written if that ever changes.
        map.push_copy(0, 0, text.len());
        return Rendered {
            text: text.to_owned(),
            map,
        };
    };
    for pair in pairs {
        let span = Span::from(pair.as_span());
        let replacement: std::borrow::Cow<'_, str> = match pair.as_rule() {
            Rule::text => {
                map.push_copy(out.len(), span.start, span.len());
                out.push_str(pair.as_str());
                continue;
            }
            Rule::escaped_tag => pair.as_str()[..2].to_owned().into(),
            Rule::comment_tag | Rule::EOI => "".into(),
            Rule::expression_tag => {
                let body = pair.into_inner().next().map_or("", |b| b.as_str());
                render_expression(body, span, secrets, problems).into()
            }
            Rule::statement_tag => {
                problems.push(SyntaxError::TemplateError {
                    message:
                        "template statements are not supported in .datasource and .connection files"
                            .into(),
                    span,
                    help: Some("only {{ tb_secret('NAME', 'default') }} can be used here".into()),
                });
                "".into()
            }
            Rule::unclosed_tag => {
                problems.push(unclosed(pair.as_str(), span));
                map.push_copy(out.len(), span.start, span.len());
                out.push_str(pair.as_str());
                continue;
            }
            _ => continue,
        };
        map.push_replaced(out.len(), replacement.len(), span.start, span.len());
        out.push_str(&replacement);
    }
    Rendered { text: out, map }
}

fn unclosed(tag: &str, span: Span) -> SyntaxError {
    let (message, closer) = match &tag[..2] {
        "{{" => ("Missing end expression }}", "}}"),
        "{%" => ("Missing end block %}", "%}"),
        _ => ("Missing end comment #}", "#}"),
    };
    SyntaxError::TemplateError {
        message: message.into(),
        span: Span::new(span.start, span.start + 2),
        help: Some(format!("close the tag with `{closer}`")),
    }
}

/// The value of one `{{ ... }}` of a data source or connection template.
fn render_expression(
    body: &str,
    span: Span,
    secrets: &Secrets,
    problems: &mut Vec<SyntaxError>,
) -> String {
    if body.trim().is_empty() {
        problems.push(SyntaxError::TemplateError {
            message: "Empty expression".into(),
            span,
            help: Some("write {{ tb_secret('NAME', 'default') }} or remove the braces".into()),
        });
        return String::new();
    }
    let call = TemplateParser::parse(Rule::secret_call, body)
        .ok()
        .and_then(|mut pairs| pairs.next());
    let Some(call) = call else {
        problems.push(SyntaxError::TemplateError {
            message: format!(
                "`{}` cannot be rendered: only tb_secret(...) is available in .datasource and .connection templates",
                body.trim()
            ),
            span,
            help: Some("write {{ tb_secret('NAME') }} or {{ tb_secret('NAME', 'default') }}".into()),
        });
        return String::new();
    };
    let mut args = call.into_inner();
    let name = args
        .next()
        .map(|p| string_value(p.as_str()))
        .unwrap_or_default();
    let default = args.next().and_then(|p| match p.as_rule() {
        Rule::string_literal => Some(string_value(p.as_str())),
        Rule::number_literal => Some(p.as_str().to_owned()),
        _ => None,
    });
    let value = secrets.get(&name).cloned().or(default);
    match value {
        // Tinybird renders an empty secret as two double quotes.
        Some(value) if value.is_empty() => "\"\"".to_owned(),
        Some(value) => value,
        None => {
            problems.push(SyntaxError::MissingSecret {
                help: Some(format!(
                    "pass its value with `--secret {name}=VALUE`, or give a default: tb_secret('{name}', 'default')"
                )),
                name: name.clone(),
                span,
            });
            name
        }
    }
}

/// The value of a Python string literal (quotes included in `literal`).
fn string_value(literal: &str) -> String {
    let inner = &literal[1..literal.len() - 1];
    if !inner.contains('\\') {
        return inner.to_owned();
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some(q @ ('\\' | '\'' | '"')) => out.push(q),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Checks the tags of a pipe SQL template (the text after its leading `%`) the way Tornado parses
/// them: every tag closed, blocks balanced by `{% end %}`, intermediate tags inside their block,
/// forbidden statements refused. `map` turns offsets in `sql` into file offsets.
pub fn check_sql_template(sql: &str, map: &dyn Fn(Span) -> Span, problems: &mut Vec<SyntaxError>) {
    let Ok(mut pairs) = TemplateParser::parse(Rule::template, sql) else {
        return;
    };
    let Some(template) = pairs.next() else {
        return;
    };
    // Open blocks: operator and the span of its tag.
    let mut open: Vec<(&str, Span)> = Vec::new();
    let error = |message: String, span: Span, help: Option<&str>| SyntaxError::TemplateError {
        message,
        span: map(span),
        help: help.map(str::to_owned),
    };
    for pair in template.into_inner() {
        let span = Span::from(pair.as_span());
        match pair.as_rule() {
            Rule::unclosed_tag => {
                let SyntaxError::TemplateError {
                    message,
                    span,
                    help,
                } = unclosed(pair.as_str(), span)
                else {
                    unreachable!("unclosed() builds a TemplateError")
                };
                problems.push(error(message, span, help.as_deref()));
                // Tornado stops at the first unclosed tag: nothing after it is a tag.
                return;
            }
            Rule::expression_tag => {
                let body = pair.into_inner().next().map_or("", |b| b.as_str());
                if body.trim().is_empty() {
                    problems.push(error(
                        "Empty expression".into(),
                        span,
                        Some("put a value or parameter inside {{ }}"),
                    ));
                }
            }
            Rule::statement_tag => {
                let body = pair.into_inner().next().map_or("", |b| b.as_str()).trim();
                let (operator, suffix) = body
                    .split_once([' ', '\t', '\n', '\r'])
                    .unwrap_or((body, ""));
                check_statement(operator, suffix.trim(), span, &mut open, &mut |m, s, h| {
                    problems.push(error(m, s, h))
                });
            }
            _ => {}
        }
    }
    for (operator, span) in open {
        problems.push(error(
            format!("Missing {{% end %}} block for {operator}"),
            span,
            Some("close the block with {% end %}"),
        ));
    }
}

fn check_statement<'a>(
    operator: &'a str,
    suffix: &str,
    span: Span,
    open: &mut Vec<(&'a str, Span)>,
    report: &mut dyn FnMut(String, Span, Option<&str>),
) {
    let in_block = open.last().map(|(op, _)| *op);
    let in_loop = open.iter().any(|(op, _)| matches!(*op, "for" | "while"));
    let parents: Option<&[&str]> = match operator {
        "else" => Some(&["if", "for", "while", "try"]),
        "elif" => Some(&["if"]),
        "except" | "finally" => Some(&["try"]),
        _ => None,
    };
    if let Some(parents) = parents {
        match in_block {
            None => report(
                format!("{operator} outside {} block", parents.join("/")),
                span,
                Some("open the block first, e.g. {% if ... %}"),
            ),
            Some(block) if !parents.contains(&block) => report(
                format!("{operator} block cannot be attached to {block} block"),
                span,
                None,
            ),
            Some(_) => {}
        }
        return;
    }
    match operator {
        "" => report(
            "Empty block tag ({% %})".into(),
            span,
            Some("remove the tag"),
        ),
        "end" => {
            if open.pop().is_none() {
                report(
                    "Extra {% end %} block".into(),
                    span,
                    Some("remove this {% end %}"),
                );
            }
        }
        "comment" => {}
        "set" if suffix.is_empty() => report(
            "set missing statement".into(),
            span,
            Some("write {% set name = value %}"),
        ),
        "set" | "whitespace" => {}
        "extends" | "include" | "autoescape" | "raw" | "module" | "apply" | "block" => {
            report(format!("{operator} is forbidden"), span, None)
        }
        "import" | "from" => report("import is forbidden".into(), span, None),
        "if" | "for" | "while" | "try" => open.push((operator, span)),
        "break" | "continue" => {
            if !in_loop {
                report(format!("{operator} outside for/while block"), span, None)
            }
        }
        other => report(
            format!("unknown operator: '{other}'"),
            span,
            Some("template statements are if, elif, else, for, while, try, set and end"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str, secrets: &[(&str, &str)]) -> (String, Vec<SyntaxError>) {
        let secrets = secrets
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut problems = Vec::new();
        let rendered = render_secrets(text, &secrets, &mut problems);
        (rendered.text, problems)
    }

    #[test]
    fn secrets_render_from_values_then_defaults() {
        let text = "TOKEN {{ tb_secret('T', 'dflt') }} READ\nX {{tb_secret(\"U\")}}";
        assert_eq!(render(text, &[("U", "u")]).0, "TOKEN dflt READ\nX u");
        assert_eq!(
            render(text, &[("T", "t"), ("U", "")]).0,
            "TOKEN t READ\nX \"\""
        );
        assert_eq!(render("A {{ tb_secret('N', 0) }}", &[]).0, "A 0");
    }

    #[test]
    fn missing_secret_and_other_expressions_are_diagnostics() {
        let (_, problems) = render("A {{ tb_secret('N') }} {{ foo }} {% if x %}", &[]);
        assert!(
            matches!(&problems[0], SyntaxError::MissingSecret { name, span, .. } if name == "N" && *span == Span::new(2, 22))
        );
        assert!(
            matches!(&problems[1], SyntaxError::TemplateError { span, .. } if *span == Span::new(23, 32))
        );
        assert_eq!(problems.len(), 3);
    }

    #[test]
    fn sql_template_blocks_must_balance() {
        let check = |sql: &str| {
            let mut problems = Vec::new();
            check_sql_template(sql, &|s| s, &mut problems);
            problems
                .into_iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
        };
        assert!(check("SELECT {% if defined(x) %} 1 {% else %} 2 {% end %} {{x}}").is_empty());
        assert!(check("{{{x}}}").is_empty());
        assert_eq!(
            check("SELECT {% if x %} 1"),
            ["Missing {% end %} block for if"]
        );
        assert_eq!(check("SELECT 1 {% end %}"), ["Extra {% end %} block"]);
        assert_eq!(check("SELECT {{ x "), ["Missing end expression }}"]);
        assert_eq!(check("{% else %}"), ["else outside if/for/while/try block"]);
        assert_eq!(
            check("{% for x in y %}{% break %}{% end %}{% break %}"),
            ["break outside for/while block"]
        );
    }
}
