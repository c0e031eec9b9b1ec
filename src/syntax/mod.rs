//! The datafile compiler: pest grammars (`grammar/`), template rendering, and lowering of the parse
//! into the typed [`model`](crate::model), with every problem as a [`SyntaxError`].

pub(crate) mod commands;
mod cron;
mod diagnostic;
mod lower;
mod schema;
mod secrets;
pub(crate) mod template;
mod types;
mod validate;
mod value;
mod words;

pub(crate) use diagnostic::SyntaxError;
pub use secrets::Secrets;

use crate::model::{Datafile, DatafileKind};

/// A compiled datafile: the model, and every problem found, sorted by position.
#[derive(Debug)]
pub struct Compiled {
    /// The lowered file. When `problems` holds an error it may be incomplete.
    pub datafile: Datafile,
    /// Errors and warnings, spans in the file as written.
    pub problems: Vec<SyntaxError>,
}

/// Compiles one datafile. `resource` is the file stem; `secrets` are the values for
/// `tb_secret(...)` in data source and connection templates.
pub fn compile(kind: DatafileKind, resource: &str, text: &str, secrets: &Secrets) -> Compiled {
    let renders = kind != DatafileKind::Pipe && template::has_tags(text);
    let (datafile, mut problems) = if renders {
        let mut problems = Vec::new();
        let rendered = template::render_secrets(text, secrets, &mut problems);
        let (mut datafile, mut lowered) = lower::lower(kind, resource, &rendered.text);
        // Before the spans go back to the file as written: they must still tell which problems
        // are inside a secret's value.
        secrets::shield(&mut lowered, &rendered.secrets, secrets);
        for problem in &mut lowered {
            problem.map_spans(|s| rendered.map.span(s));
        }
        datafile.map_spans(|s| rendered.map.span(s));
        problems.extend(lowered);
        (datafile, problems)
    } else {
        lower::lower(kind, resource, text)
    };
    // The primary span comes from the labels, which are built on request: compute it once each.
    problems.sort_by_cached_key(|p| {
        let span = p.span();
        (span.start, span.end)
    });
    // The lines of one multi-line secret are one problem once the value is not shown.
    problems.dedup_by(|a, b| {
        a == b
            && matches!(
                a,
                SyntaxError::InvalidSecretValue { .. } | SyntaxError::SecretValueWarning { .. }
            )
    });
    Compiled { datafile, problems }
}

/// The grammar's entry rules and the command tables must agree on which words close a block.
#[cfg(test)]
mod grammar_tests {
    use super::commands::{ALL_KINDS, commands};
    use super::*;

    #[test]
    fn grammar_keywords_match_command_tables() {
        for kind in ALL_KINDS {
            for command in commands(kind) {
                for spelling in [command.name.to_owned(), command.name.to_ascii_lowercase()] {
                    // A block followed by a column-0 command: the block must end there.
                    let text = format!("DESCRIPTION >\n    text\n{spelling} x\n");
                    let (lowered, _) = lower::lower(kind, "r", &text);
                    let description = lowered.description.map(|d| d.value);
                    // A closing DESCRIPTION line replaces the description.
                    let expected = if command.name == "DESCRIPTION" {
                        "x"
                    } else {
                        "text"
                    };
                    assert_eq!(description.as_deref(), Some(expected), "{kind} {spelling}");
                }
            }
            // A word that is not a command of this kind stays in the block.
            let text = "DESCRIPTION >\n    text\nFROM x\n";
            let (lowered, _) = lower::lower(kind, "r", text);
            assert_eq!(lowered.description.unwrap().value, "text\nFROM x", "{kind}");
        }
    }
}

/// Directive arguments are split in Rust (`words.rs`) while block heads and closing lines use the
/// grammar's `word` rule: both must split every line the same way.
#[cfg(test)]
mod word_tests {
    use pest::Parser;

    use super::lower::{DatafileParser, Rule};
    use super::words;

    fn grammar_words(line: &str) -> Vec<(String, bool, bool)> {
        let pairs = DatafileParser::parse(Rule::words_line, line).expect("every line parses");
        pairs
            .flat_map(|p| p.into_inner())
            .filter(|p| matches!(p.as_rule(), Rule::quoted | Rule::unclosed | Rule::bare))
            .map(|p| {
                (
                    p.as_str().to_owned(),
                    p.as_rule() == Rule::quoted,
                    p.as_rule() == Rule::unclosed,
                )
            })
            .collect()
    }

    fn rust_words(line: &str) -> Vec<(String, bool, bool)> {
        let mut out = Vec::new();
        words::split(line, 0, &mut out);
        out.iter()
            .map(|w| (w.text.to_owned(), w.quoted, w.unclosed))
            .collect()
    }

    #[test]
    fn words_agree_with_the_grammar() {
        const ALPHABET: &[&str] = &[
            "a", "B", " ", "\t", "\"", "'", "#", ">", ",", "é", "{{", "\\",
        ];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..20_000 {
            let len = next(14);
            let line: String = (0..len).map(|_| ALPHABET[next(ALPHABET.len())]).collect();
            assert_eq!(rust_words(&line), grammar_words(&line), "line {line:?}");
        }
    }
}
