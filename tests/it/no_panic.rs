//! The compiler never panics, whatever it is given, and every span it reports can be shown: inside
//! the text and on character boundaries (a span that splits a UTF-8 sequence would make the
//! renderer or an editor slice the text wrongly). For edited corpus files the diagnostics are also
//! rendered, as text and as JSON positions.
//!
//! Inputs are arbitrary text, text assembled from the pieces datafiles are made of, and real
//! corpus files with a few edits. Cases are bounded so that `cargo test` stays quick; set
//! `PROPTEST_CASES` for a longer run, e.g.
//! `PROPTEST_CASES=100000 cargo test --release --test it no_panic`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use miette::Diagnostic;
use proptest::prelude::*;
use proptest::sample::Index;
use tokenplan::model::DatafileKind;
use tokenplan::project::ProjectFile;
use tokenplan::render::TextStyle;
use tokenplan::render::diagnostics::{diagnostic_report, render_problem};
use tokenplan::syntax::{self, Secrets};

const KINDS: [DatafileKind; 3] = [
    DatafileKind::Datasource,
    DatafileKind::Pipe,
    DatafileKind::Connection,
];

/// Cases per property, unless `PROPTEST_CASES` says otherwise.
fn config(default_cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    ProptestConfig {
        // Failures are reported with the shrunk input; no file is written next to the tests.
        failure_persistence: None,
        ..ProptestConfig::with_cases(cases)
    }
}

/// Secret values a user may pass with `--secret`: one plain, one that brings line breaks, quotes
/// and block markers into the rendered text.
fn secrets() -> &'static Secrets {
    static SECRETS: OnceLock<Secrets> = OnceLock::new();
    SECRETS.get_or_init(|| {
        [("A", "value"), ("B", "x\n>\"'#{{ ñ\r\nSQL >")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    })
}

/// Compiles `text` as `kind` and checks every span of every problem and token.
fn check(kind: DatafileKind, text: &str) -> Result<(), TestCaseError> {
    let compiled = syntax::compile(kind, "resource", text, secrets());
    let in_text = |what: &str, start: usize, end: usize| -> Result<(), TestCaseError> {
        prop_assert!(
            start <= end && end <= text.len(),
            "{what}: span {start}..{end} outside a text of {} bytes",
            text.len()
        );
        prop_assert!(
            text.is_char_boundary(start) && text.is_char_boundary(end),
            "{what}: span {start}..{end} splits a character"
        );
        Ok(())
    };
    for problem in &compiled.problems {
        let span = problem.span();
        in_text(&problem.to_string(), span.start, span.end)?;
        for label in problem.labels().into_iter().flatten() {
            in_text(
                &format!("{problem} (label)"),
                label.offset(),
                label.offset() + label.len(),
            )?;
        }
    }
    for token in &compiled.datafile.tokens {
        for span in [token.span, token.name_span, token.permission_span] {
            in_text(&format!("token {:?}", token.name), span.start, span.end)?;
        }
    }
    Ok(())
}

/// Pieces of datafile syntax, so that random text often forms commands, blocks, schemas and
/// templates instead of noise.
fn piece() -> impl Strategy<Value = String> {
    let fixed = prop::sample::select(vec![
        "TOKEN",
        "token",
        "NODE",
        "SQL",
        "SCHEMA",
        "INDEXES",
        "TYPE",
        "DESCRIPTION",
        "ENGINE",
        "ENGINE_SORTING_KEY",
        "DATASOURCE",
        "KAFKA_TOPIC",
        "INCLUDE",
        "VERSION",
        "READ",
        "APPEND",
        "endpoint",
        "copy",
        "materialized",
        "sink",
        ">",
        " > ",
        "\n",
        "\r\n",
        "\r",
        " ",
        "    ",
        "\t",
        "\"",
        "'",
        "`",
        "#",
        "--",
        "%",
        "\n%\n",
        "{{",
        "}}",
        "{%",
        "%}",
        "{#",
        "#}",
        "{% if defined(x) %}",
        "{% end %}",
        "{% else %}",
        "tb_secret('A')",
        "tb_secret('B', 'd')",
        "tb_secret('MISSING')",
        "(",
        ")",
        ",",
        "`json:$.a`",
        "`json:",
        "DEFAULT",
        "CODEC(ZSTD(1))",
        "NULL",
        "Nullable(",
        "LowCardinality(String)",
        "Array(",
        "String",
        "Int32",
        "Map(",
        "x",
        "name",
        "=",
        ":",
        "\u{feff}",
        "ñ",
        "€",
        "𝄞",
        "\u{0}",
        "\u{1c}",
        "\u{85}",
        "\u{2028}",
    ])
    .prop_map(str::to_owned);
    prop_oneof![4 => fixed, 1 => any::<char>().prop_map(String::from)]
}

fn structured_text() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..80).prop_map(|pieces| pieces.concat())
}

fn kind() -> impl Strategy<Value = DatafileKind> {
    prop::sample::select(KINDS.to_vec())
}

proptest! {
    #![proptest_config(config(300))]

    #[test]
    fn arbitrary_strings(text in any::<String>(), kind in kind()) {
        check(kind, &text)?;
    }

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400), kind in kind()) {
        check(kind, &String::from_utf8_lossy(&bytes))?;
    }
}

proptest! {
    #![proptest_config(config(1500))]

    #[test]
    fn datafile_pieces(text in structured_text()) {
        for kind in KINDS {
            check(kind, &text)?;
        }
    }
}

struct CorpusFile {
    kind: DatafileKind,
    text: String,
}

/// Every datafile of the corpus, read once.
fn corpus() -> &'static [CorpusFile] {
    static CORPUS: OnceLock<Vec<CorpusFile>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
        let mut files = Vec::new();
        let mut pending: Vec<PathBuf> = vec![root.clone()];
        while let Some(dir) = pending.pop() {
            let entries = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("the corpus is expected at {}: {e}", root.display()));
            for entry in entries {
                let path = entry.expect("directory entry").path();
                if path.is_dir() {
                    pending.push(path);
                    continue;
                }
                let kind = path
                    .extension()
                    .and_then(|e| e.to_str())
                    .and_then(DatafileKind::from_extension);
                if let (Some(kind), Ok(text)) = (kind, std::fs::read_to_string(&path)) {
                    files.push(CorpusFile { kind, text });
                }
            }
        }
        // Sorted so that a failing seed picks the same file on every machine.
        files.sort_by(|a, b| a.text.cmp(&b.text));
        assert!(
            files.len() > 900,
            "the corpus looks incomplete: {} files",
            files.len()
        );
        files
    })
}

/// One edit of a file's bytes.
#[derive(Debug, Clone)]
enum Edit {
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
    Replace(Index, usize, Vec<u8>),
    DeleteLine(Index),
    DuplicateLine(Index),
    /// Moves a line to column 0 or indents it, which moves block boundaries.
    ToggleIndent(Index),
}

/// Bytes that change how a line is read: quotes, comments, block markers, template tags,
/// parentheses, line breaks (a lone CR too), and pieces of multi-byte characters.
fn injected() -> impl Strategy<Value = Vec<u8>> {
    let special = prop::sample::select(vec![
        &b"\""[..],
        b"'",
        b"#",
        b">",
        b" >",
        b"{{",
        b"}}",
        b"{%",
        b"%}",
        b"(",
        b")",
        b"\r",
        b"\r\n",
        b"\n",
        b"\n\n",
        b"`",
        b",",
        b"%",
        b"--",
        b"\xc3",
        b"\xb1",
        b"\xef\xbb\xbf",
        b"\t",
        b"TOKEN ",
        b"NODE x\n",
        b"SQL >\n",
        b"TYPE copy\n",
    ])
    .prop_map(<[u8]>::to_vec);
    prop_oneof![
        3 => special,
        1 => piece().prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 1..6),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (any::<Index>(), injected()).prop_map(|(at, bytes)| Edit::Insert(at, bytes)),
        2 => (any::<Index>(), 1..8usize).prop_map(|(at, len)| Edit::Delete(at, len)),
        2 => (any::<Index>(), 1..4usize, injected())
            .prop_map(|(at, len, bytes)| Edit::Replace(at, len, bytes)),
        1 => any::<Index>().prop_map(Edit::DeleteLine),
        1 => any::<Index>().prop_map(Edit::DuplicateLine),
        1 => any::<Index>().prop_map(Edit::ToggleIndent),
    ]
}

/// Byte ranges of the lines of `bytes`, line breaks included.
fn lines(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut lines = Vec::new();
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\n' {
            lines.push(start..i + 1);
            start = i + 1;
        }
    }
    if start < bytes.len() {
        lines.push(start..bytes.len());
    }
    lines
}

fn apply(bytes: &mut Vec<u8>, edit: &Edit) {
    let position = |at: &Index, bytes: &Vec<u8>| at.index(bytes.len() + 1);
    match edit {
        Edit::Insert(at, piece) => {
            let at = position(at, bytes);
            bytes.splice(at..at, piece.iter().copied());
        }
        Edit::Delete(at, len) => {
            let at = position(at, bytes);
            let end = (at + len).min(bytes.len());
            bytes.drain(at..end);
        }
        Edit::Replace(at, len, piece) => {
            let at = position(at, bytes);
            let end = (at + len).min(bytes.len());
            bytes.splice(at..end, piece.iter().copied());
        }
        Edit::DeleteLine(at) | Edit::DuplicateLine(at) | Edit::ToggleIndent(at) => {
            let lines = lines(bytes);
            if lines.is_empty() {
                return;
            }
            let line = lines[at.index(lines.len())].clone();
            match edit {
                Edit::DeleteLine(_) => {
                    bytes.drain(line);
                }
                Edit::DuplicateLine(_) => {
                    let copy = bytes[line.clone()].to_vec();
                    bytes.splice(line.start..line.start, copy);
                }
                _ => {
                    let indent = bytes[line.clone()]
                        .iter()
                        .take_while(|b| matches!(b, b' ' | b'\t'))
                        .count();
                    if indent > 0 {
                        bytes.drain(line.start..line.start + indent);
                    } else {
                        bytes.splice(line.start..line.start, *b"    ");
                    }
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(config(1500))]

    #[test]
    fn edited_corpus_files(
        file in any::<Index>(),
        edits in prop::collection::vec(edit(), 1..5),
        as_other_kind in prop::option::weighted(0.2, kind()),
    ) {
        let corpus = corpus();
        let original = &corpus[file.index(corpus.len())];
        let mut bytes = original.text.as_bytes().to_vec();
        for edit in &edits {
            apply(&mut bytes, edit);
        }
        let text = String::from_utf8_lossy(&bytes);
        let kind = as_other_kind.unwrap_or(original.kind);
        check(kind, &text)?;
        // What people and programs see of those problems must not panic either.
        let file = ProjectFile::compile(format!("edited.{kind}"), kind, Arc::from(text), secrets());
        for problem in &file.problems {
            prop_assert!(!render_problem(&file, problem, TextStyle::PLAIN).is_empty());
            let report = diagnostic_report(&file, problem);
            prop_assert!(report.line >= 1 && report.column >= 1);
            prop_assert!((report.line, report.column) <= (report.end_line, report.end_column));
        }
    }
}
