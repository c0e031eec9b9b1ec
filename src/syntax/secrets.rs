//! Values for `tb_secret(...)`, and keeping them out of diagnostics.
//!
//! Problems are found in the text after the secrets are rendered, and their messages quote what
//! they complain about: a multi-line `--secret` (a PEM key) would otherwise come back as
//! "MIIEV... is not a valid option" in `check`, plans and the editor. [`shield`] replaces every
//! problem that touches a rendered secret, or quotes one, with one that names the secret and
//! never shows its value.

use std::collections::BTreeMap;
use std::fmt;

use miette::Diagnostic;
use secrecy::{ExposeSecret, SecretString};

use super::diagnostic::SyntaxError;
use crate::source::Span;

/// Values for `tb_secret('NAME')`, from `--secret NAME=VALUE`. Each value is wiped from memory
/// when dropped, and `Debug` shows the names only. There is no `PartialEq`: nothing compares
/// secrets.
#[derive(Clone, Default)]
pub struct Secrets(BTreeMap<String, SecretString>);

impl Secrets {
    /// No secrets.
    pub fn new() -> Secrets {
        Secrets::default()
    }

    /// The value of a secret, for the one place that renders it.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.expose_secret())
    }

    /// Sets every secret of `other`, replacing values of the same name: `--secret` over
    /// `.env.local`.
    pub(crate) fn overlay(&mut self, other: &Secrets) {
        for (name, value) in &other.0 {
            self.0.insert(name.clone(), value.clone());
        }
    }

    /// The names, sorted.
    #[cfg(test)]
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|name| (name, "****")))
            .finish()
    }
}

impl FromIterator<(String, SecretString)> for Secrets {
    fn from_iter<I: IntoIterator<Item = (String, SecretString)>>(pairs: I) -> Secrets {
        Secrets(pairs.into_iter().collect())
    }
}

impl FromIterator<(String, String)> for Secrets {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Secrets {
        pairs
            .into_iter()
            .map(|(name, value)| (name, SecretString::from(value)))
            .collect()
    }
}

/// Where a `tb_secret(...)` was rendered: the secret's name and the span of its value in the
/// rendered text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RenderedSecret {
    pub(crate) name: String,
    pub(crate) value: Span,
    /// Given with `--secret`; else the template's default.
    pub(crate) given: bool,
    /// The value has line breaks, which make lines of the file of their own.
    pub(crate) multi_line: bool,
}

/// The shortest line or whole value, and word, of a secret that counts as quoting it: shorter
/// ones (`1`, `true`) are in messages anyway.
const MIN_LINE: usize = 4;
const MIN_WORD: usize = 6;

/// Replaces every problem of a rendered text that falls inside a rendered secret, or quotes part
/// of a secret's value, with one that names the secret. `problems` have spans in the rendered
/// text; `rendered` are the secrets rendered in it.
pub(crate) fn shield(problems: &mut [SyntaxError], rendered: &[RenderedSecret], secrets: &Secrets) {
    if rendered.is_empty() {
        return;
    }
    // Lower-cased: messages upper-case command words.
    let quoted: Vec<(&RenderedSecret, Vec<String>)> = rendered
        .iter()
        .filter_map(|r| Some((r, parts(secrets.get(&r.name)?))))
        .collect();
    for problem in problems.iter_mut() {
        if matches!(
            problem,
            SyntaxError::InvalidSecretValue { .. } | SyntaxError::SecretValueWarning { .. }
        ) {
            continue;
        }
        let spans: Vec<Span> = problem
            .labels()
            .into_iter()
            .flatten()
            .map(|l| Span::new(l.offset(), l.offset() + l.len()))
            .collect();
        let inside = rendered
            .iter()
            .find(|r| spans.iter().any(|s| overlaps(*s, r.value)));
        let text = problem_text(problem);
        let secret = inside.or_else(|| {
            quoted
                .iter()
                .find(|(_, parts)| quoting_in(&text, parts))
                .map(|(r, _)| *r)
        });
        if let Some(secret) = secret {
            // The original help, unless it quotes a secret or is a suggestion made from the
            // value ("did you mean ...?").
            let suggests = matches!(
                problem,
                SyntaxError::UnknownDirective { .. } | SyntaxError::UnknownType { .. }
            );
            let help = problem
                .help()
                .map(|h| h.to_string())
                .filter(|h| !suggests && !quoted.iter().any(|(_, parts)| quoting_in(h, parts)));
            *problem = named(problem, secret, help);
        }
    }
}

/// True when a problem's span touches a secret's value. An empty span counts when strictly
/// inside: at either end it points between the value and what the file says around it.
fn overlaps(span: Span, value: Span) -> bool {
    if span.is_empty() {
        value.start < span.start && span.start < value.end
    } else {
        span.start < value.end && value.start < span.end
    }
}

/// The pieces of a value that must not be quoted, lower-cased.
fn parts(value: &str) -> Vec<String> {
    let whole = std::iter::once(value.trim()).chain(value.lines().map(str::trim));
    let lines = whole.filter(|p| p.len() >= MIN_LINE);
    let words = value.split_whitespace().filter(|w| w.len() >= MIN_WORD);
    let mut parts: Vec<String> = lines.chain(words).map(str::to_lowercase).collect();
    parts.sort();
    parts.dedup();
    parts
}

/// True when `text` holds one of a secret's parts (lower-cased).
fn quoting_in(text: &str, parts: &[String]) -> bool {
    let text = text.to_lowercase();
    parts.iter().any(|p| text.contains(p.as_str()))
}

/// Everything a problem prints besides its code: message, help and labels.
fn problem_text(problem: &SyntaxError) -> String {
    let mut text = problem.to_string();
    if let Some(help) = problem.help() {
        text.push('\n');
        text.push_str(&help.to_string());
    }
    for label in problem.labels().into_iter().flatten() {
        if let Some(label) = label.label() {
            text.push('\n');
            text.push_str(label);
        }
    }
    text
}

/// The problem, naming the secret instead of quoting anything of it; `kept` is the original
/// help when it may be shown.
fn named(problem: &SyntaxError, secret: &RenderedSecret, kept: Option<String>) -> SyntaxError {
    let code = problem.code().map(|c| c.to_string()).unwrap_or_default();
    let problem_code = code
        .rsplit("::")
        .next()
        .unwrap_or("invalid_value")
        .to_owned();
    let name = secret.name.clone();
    let what = describe(problem);
    let span = problem.span();
    let mut help = kept.map_or(String::new(), |h| format!("{h}\n"));
    help.push_str("the value is not shown, to keep it secret: ");
    if secret.given {
        help.push_str(&format!("check the value given with `--secret {name}=...`"));
    } else {
        help.push_str(&format!(
            "check the default in the template, or give a value with `--secret {name}=...`"
        ));
    }
    if secret.multi_line {
        help.push_str("; its line breaks put each of its lines in the file as a line of its own");
    }
    let help = Some(help);
    if problem.severity() == Some(miette::Severity::Warning) {
        SyntaxError::SecretValueWarning {
            name,
            what,
            problem: problem_code,
            span,
            help,
        }
    } else {
        SyntaxError::InvalidSecretValue {
            name,
            what,
            problem: problem_code,
            span,
            help,
        }
    }
}

/// What is wrong, in words that quote nothing of the file.
fn describe(problem: &SyntaxError) -> &'static str {
    match problem {
        SyntaxError::UnknownDirective { .. } => "starts a line that is not a valid option",
        SyntaxError::RemovedDirective { .. }
        | SyntaxError::DeprecatedDirective { .. }
        | SyntaxError::IncludeNotSupported { .. } => {
            "starts a line with a command Tinybird no longer supports"
        }
        SyntaxError::UnclosedQuote { .. } => "has a quote that is never closed",
        SyntaxError::IgnoredText { .. } => "is ignored here",
        SyntaxError::InvalidColumn { .. } => "is not a valid column definition",
        SyntaxError::UnknownType { .. } | SyntaxError::UnsupportedType { .. } => {
            "is not a supported column type"
        }
        SyntaxError::InvalidIndex { .. } => "is not a valid index definition",
        SyntaxError::InvalidSortingKey { .. } => "makes an invalid sorting key",
        SyntaxError::TokenMissingArgument { .. }
        | SyntaxError::TokenExtraArgument { .. }
        | SyntaxError::InvalidTokenPermission { .. }
        | SyntaxError::PipeTokenAppend { .. }
        | SyntaxError::EmptyTokenName { .. } => "makes an invalid TOKEN directive",
        _ => "is not a valid value here",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj";

    fn secrets() -> Secrets {
        [("kafka_key".to_owned(), KEY.to_owned())]
            .into_iter()
            .collect()
    }

    #[test]
    fn debug_shows_names_never_values() {
        let debug = format!("{:?}", secrets());
        assert_eq!(debug, r#"{"kafka_key": "****"}"#);
        assert_eq!(secrets().get("kafka_key"), Some(KEY));
        assert_eq!(secrets().names().collect::<Vec<_>>(), ["kafka_key"]);
    }

    #[test]
    fn problems_inside_or_quoting_a_secret_name_it() {
        let rendered = [RenderedSecret {
            name: "kafka_key".into(),
            value: Span::new(10, 10 + KEY.len()),
            given: true,
            multi_line: true,
        }];
        let mut problems = vec![
            // Inside the value.
            SyntaxError::UnknownDirective {
                command: "BKCWGGSJAGEAAOIBAQC7VJTUT9US8CKJ".into(),
                kind: crate::model::DatafileKind::Connection,
                span: Span::new(43, 75),
                help: Some("did you mean `KAFKA_KEY`?".into()),
            },
            // Elsewhere, but quoting a word of it.
            SyntaxError::InvalidValue {
                message: "mIIEvQIBADANBgkqhkiG9w0BAQEFAASC is odd".into(),
                span: Span::new(0, 3),
                help: Some("Use one of: skip".into()),
            },
            // Elsewhere and quoting nothing.
            SyntaxError::UnclosedQuote {
                span: Span::new(0, 2),
            },
            // A warning keeps its severity.
            SyntaxError::IgnoredText {
                message: "text after `>` is ignored".into(),
                span: Span::new(12, 14),
                help: None,
            },
        ];
        shield(&mut problems, &rendered, &secrets());
        let texts: Vec<String> = problems.iter().map(problem_text).collect();
        for text in &texts[..2] {
            assert!(
                text.contains("the value of tb_secret('kafka_key')"),
                "{text}"
            );
        }
        for text in &texts {
            for part in parts(KEY) {
                assert!(!text.to_lowercase().contains(&part), "{text}");
            }
        }
        assert_eq!(problems[0].span(), Span::new(43, 75));
        assert_eq!(
            problems[1].to_string(),
            "the value of tb_secret('kafka_key') is not a valid value here (invalid_value)"
        );
        // A help made from the value goes; one that quotes nothing stays.
        assert!(!texts[0].contains("did you mean"), "{}", texts[0]);
        assert!(texts[1].contains("Use one of: skip"), "{}", texts[1]);
        assert!(texts[0].contains("its line breaks"), "{}", texts[0]);
        assert!(matches!(problems[2], SyntaxError::UnclosedQuote { .. }));
        assert_eq!(problems[3].severity(), Some(miette::Severity::Warning));
    }

    #[test]
    fn short_values_and_words_do_not_count_as_quotes() {
        assert_eq!(parts("on"), Vec::<String>::new());
        assert_eq!(parts("a b"), Vec::<String>::new());
        assert_eq!(
            parts("Abcd\nwordy words"),
            ["abcd", "abcd\nwordy words", "wordy words"]
        );
    }
}
