//! Templates in datafiles: rendering `tb_secret(...)` in data sources and connections before they
//! are parsed, and checking the tags and blocks of pipe SQL templates (SQL that starts with `%`).
//!
//! Tags are found the way Tornado finds them (`{{ }}`, `{% %}`, `{# #}`, the innermost braces of a
//! run, `{{!` for a literal opener) by [`tags`], a `memchr` scan: SQL templates are in almost
//! every pipe, and a parse per node was a tenth of `check`. The one expression data source
//! templates may hold, `tb_secret(...)`, is read by the pest rule in `grammar/template.pest`.

use memchr::memchr;
use pest::Parser;

use super::diagnostic::SyntaxError;
use super::secrets::{RenderedSecret, Secrets};
use crate::source::{OffsetMap, Span};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/template.pest"]
struct TemplateParser;

/// A rendered text and the map from its offsets back to the text as written.
pub(crate) struct Rendered {
    /// The text with every tag replaced by its value.
    pub(crate) text: String,
    /// Rendered offsets to written offsets.
    pub(crate) map: OffsetMap,
    /// Each `tb_secret(...)` rendered to a value, in order.
    pub(crate) secrets: Vec<RenderedSecret>,
}

/// True when `text` holds a template tag opener and must be rendered.
pub(crate) fn has_tags(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr_iter(b'{', bytes).any(|i| matches!(bytes.get(i + 1), Some(b'{' | b'%' | b'#')))
}

/// A piece of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tag {
    /// Text outside tags.
    Text(Span),
    /// `{{!`, `{%!` or `{#!`: the two-byte opener, written literally.
    Escaped(Span),
    /// `{# ... #}`.
    Comment(Span),
    /// `{{ ... }}`, with the span of what is inside.
    Expression {
        /// The whole tag.
        span: Span,
        /// Between the braces.
        body: Span,
    },
    /// `{% ... %}`, with the span of what is inside.
    Statement {
        /// The whole tag.
        span: Span,
        /// Between the braces.
        body: Span,
    },
    /// An opener whose closer never comes: from the opener to the end.
    Unclosed(Span),
}

/// Splits a template into text and tags, as Tornado's parser does.
pub(crate) fn tags(text: &str) -> Vec<Tag> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        // The next opener: a `{` followed by `{`, `%` or `#`; of three or more braces in a row
        // only the last two open a tag.
        let mut search = pos;
        let opener = loop {
            let Some(found) = memchr(b'{', &bytes[search..]).map(|i| search + i) else {
                break None;
            };
            match bytes.get(found + 1) {
                Some(b'{') if bytes.get(found + 2) == Some(&b'{') => search = found + 1,
                Some(b'{' | b'%' | b'#') => break Some(found),
                Some(_) => search = found + 1,
                None => break None,
            }
        };
        let Some(open) = opener else {
            if pos < bytes.len() {
                out.push(Tag::Text(Span::new(pos, bytes.len())));
            }
            return out;
        };
        if open > pos {
            out.push(Tag::Text(Span::new(pos, open)));
        }
        if bytes.get(open + 2) == Some(&b'!') {
            out.push(Tag::Escaped(Span::new(open, open + 3)));
            pos = open + 3;
            continue;
        }
        let closer: &[u8] = match bytes[open + 1] {
            b'{' => b"}}",
            b'%' => b"%}",
            _ => b"#}",
        };
        let Some(close) = find(&bytes[open + 2..], closer).map(|i| open + 2 + i) else {
            out.push(Tag::Unclosed(Span::new(open, bytes.len())));
            return out;
        };
        let span = Span::new(open, close + 2);
        let body = Span::new(open + 2, close);
        out.push(match bytes[open + 1] {
            b'{' => Tag::Expression { span, body },
            b'%' => Tag::Statement { span, body },
            _ => Tag::Comment(span),
        });
        pos = close + 2;
    }
}

/// Where a two-byte tag closer starts. Tags are short: a `memchr` for the first byte beats
/// building a substring searcher for each one.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = memchr(needle[0], &haystack[from..]) {
        let at = from + i;
        if haystack[at..].starts_with(needle) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Renders a `.datasource` or `.connection` template, where only `tb_secret` is defined.
///
/// Problems are pushed with spans in `text`. A secret without a value renders as its name so
/// that the rest of the file can still be checked; the file has an error either way.
pub(crate) fn render_secrets(
    text: &str,
    secrets: &Secrets,
    problems: &mut Vec<SyntaxError>,
) -> Rendered {
    let mut out = String::with_capacity(text.len());
    let mut map = OffsetMap::identity();
    let mut rendered = Vec::new();
    for tag in tags(text) {
        let (span, replacement): (Span, std::borrow::Cow<'_, str>) = match tag {
            Tag::Text(span) => {
                map.push_copy(out.len(), span.start, span.len());
                out.push_str(&text[span.range()]);
                continue;
            }
            Tag::Escaped(span) => (span, text[span.start..span.start + 2].into()),
            Tag::Comment(span) => (span, "".into()),
            Tag::Expression { span, body } => {
                let (value, secret) =
                    render_expression(&text[body.range()], span, secrets, problems);
                if let Some((name, given)) = secret {
                    rendered.push(RenderedSecret {
                        name,
                        value: Span::new(out.len(), out.len() + value.len()),
                        given,
                        multi_line: value.contains(['\n', '\r']),
                    });
                }
                (span, value.into())
            }
            Tag::Statement { span, .. } => {
                problems.push(SyntaxError::TemplateError {
                    message:
                        "template statements are not supported in .datasource and .connection files"
                            .into(),
                    span,
                    help: Some("only {{ tb_secret('NAME', 'default') }} can be used here".into()),
                });
                (span, "".into())
            }
            Tag::Unclosed(span) => {
                problems.push(unclosed(&text[span.range()], span));
                map.push_copy(out.len(), span.start, span.len());
                out.push_str(&text[span.range()]);
                continue;
            }
        };
        map.push_replaced(out.len(), replacement.len(), span.start, span.len());
        out.push_str(&replacement);
    }
    Rendered {
        text: out,
        map,
        secrets: rendered,
    }
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

/// The value of one `{{ ... }}` of a data source or connection template, and, when it is the
/// value of a secret, the secret's name and whether the value was given (else it is the default).
fn render_expression(
    body: &str,
    span: Span,
    secrets: &Secrets,
    problems: &mut Vec<SyntaxError>,
) -> (String, Option<(String, bool)>) {
    if body.trim().is_empty() {
        problems.push(SyntaxError::TemplateError {
            message: "Empty expression".into(),
            span,
            help: Some("write {{ tb_secret('NAME', 'default') }} or remove the braces".into()),
        });
        return (String::new(), None);
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
        return (String::new(), None);
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
    // A default is written in the file, but is shielded as the secret's value all the same: it
    // stands in for one.
    let given = secrets.get(&name).map(str::to_owned);
    let is_given = given.is_some();
    match given.or(default) {
        // Tinybird renders an empty secret as two double quotes.
        Some(value) if value.is_empty() => ("\"\"".to_owned(), Some((name, is_given))),
        Some(value) => (value, Some((name, is_given))),
        None => {
            problems.push(SyntaxError::MissingSecret {
                help: Some(format!(
                    "pass its value with `--secret {name}=VALUE` or in .env.local, or give a default: tb_secret('{name}', 'default')"
                )),
                name: name.clone(),
                span,
            });
            (name, None)
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
pub(crate) fn check_sql_template(
    sql: &str,
    map: &dyn Fn(Span) -> Span,
    problems: &mut Vec<SyntaxError>,
) {
    // Open blocks: operator and the span of its tag.
    let mut open: Vec<(&str, Span)> = Vec::new();
    let error = |message: String, span: Span, help: Option<&str>| SyntaxError::TemplateError {
        message,
        span: map(span),
        help: help.map(str::to_owned),
    };
    for tag in tags(sql) {
        match tag {
            Tag::Unclosed(span) => {
                let SyntaxError::TemplateError {
                    message,
                    span,
                    help,
                } = unclosed(&sql[span.range()], span)
                else {
                    unreachable!("unclosed() builds a TemplateError")
                };
                problems.push(error(message, span, help.as_deref()));
                // Tornado stops at the first unclosed tag: nothing after it is a tag.
                return;
            }
            Tag::Expression { span, body } => {
                if sql[body.range()].trim().is_empty() {
                    problems.push(error(
                        "Empty expression".into(),
                        span,
                        Some("put a value or parameter inside {{ }}"),
                    ));
                }
            }
            Tag::Statement { span, body } => {
                let body = sql[body.range()].trim();
                let (operator, suffix) = body
                    .split_once([' ', '\t', '\n', '\r'])
                    .unwrap_or((body, ""));
                check_statement(operator, suffix.trim(), span, &mut open, &mut |m, s, h| {
                    problems.push(error(m, s, h))
                });
            }
            Tag::Text(_) | Tag::Escaped(_) | Tag::Comment(_) => {}
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
