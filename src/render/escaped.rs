//! A diagnostic copied for miette's report with every text escaped: message, code, help, label
//! texts, source snippet (labels moved to match) and file name, and the same for its causes and
//! related diagnostics. A datafile holding `ESC ] 0 ; ... BEL` then shows those bytes as text
//! instead of retitling the terminal.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, Severity, SourceCode, SourceSpan};

use crate::project::says_cause;
use crate::text::{EscapeMap, escape_controls, escape_source};

/// A source text, escaped, with where the original's offsets went.
#[derive(Clone)]
pub(super) struct EscapedFile {
    source: NamedSource<Arc<str>>,
    map: EscapeMap,
}

impl EscapedFile {
    /// The file `name` holding `text`.
    pub(super) fn new(name: &str, text: &str) -> Self {
        let escaped = escape_source(text);
        EscapedFile {
            source: NamedSource::new(escape_controls(name), Arc::from(escaped.text)),
            map: escaped.map,
        }
    }

    /// Reads a diagnostic's own source code back whole: every context line after an empty span
    /// at the start is the whole text.
    fn of(code: &dyn SourceCode) -> Option<Self> {
        let contents = code
            .read_span(&SourceSpan::from(0..0), 0, usize::MAX)
            .ok()?;
        let text = std::str::from_utf8(contents.data()).ok()?;
        Some(EscapedFile::new(contents.name().unwrap_or_default(), text))
    }

    fn span(&self, span: &SourceSpan) -> SourceSpan {
        let start = self.map.offset(span.offset());
        let end = self.map.offset(span.offset() + span.len());
        SourceSpan::new(start.into(), end.saturating_sub(start))
    }
}

/// The escaped copy. Causes and related diagnostics are copied too, so that miette finds
/// nothing raw anywhere in the tree.
pub(super) struct Escaped {
    message: String,
    code: Option<String>,
    severity: Option<Severity>,
    help: Option<String>,
    url: Option<String>,
    labels: Option<Vec<LabeledSpan>>,
    source: Option<EscapedFile>,
    related: Option<Vec<Escaped>>,
    cause: Option<Box<Escaped>>,
    /// The cause is a diagnostic, reported as one; otherwise a plain error, reported by its
    /// message, as miette does.
    cause_is_diagnostic: bool,
}

impl Escaped {
    /// `problem`, with `file` as its source code when it has none of its own.
    pub(super) fn in_file(problem: &dyn Diagnostic, file: EscapedFile) -> Self {
        Escaped::copy(problem, Some(file), None, false)
    }

    /// A problem that belongs to no file. A cause whose text already ends the message
    /// (`cannot use the plan file p.json: <why>`) is not listed again under it.
    pub(super) fn standalone(problem: &dyn Diagnostic) -> Self {
        Escaped::copy(problem, None, None, true)
    }

    /// Adds a diagnostic shown after this one's own related ones.
    pub(super) fn add_related(&mut self, note: &dyn Diagnostic) {
        let note = Escaped::copy(note, None, self.source.as_ref(), false);
        self.related.get_or_insert_with(Vec::new).push(note);
    }

    fn copy(
        problem: &dyn Diagnostic,
        file: Option<EscapedFile>,
        parent: Option<&EscapedFile>,
        cause_said_once: bool,
    ) -> Self {
        // A file given replaces the problem's own source, which is that file anyway.
        let own = file.or_else(|| problem.source_code().and_then(EscapedFile::of));
        // Labels without a source of their own point into the parent's, as miette reads them.
        let place = own.as_ref().or(parent);
        let labels = problem.labels().map(|labels| {
            labels
                .map(|label| {
                    let text = label.label().map(|l| escape_controls(l).into_owned());
                    let span = place.map_or(*label.inner(), |file| file.span(label.inner()));
                    if label.primary() {
                        LabeledSpan::new_primary_with_span(text, span)
                    } else {
                        LabeledSpan::new_with_span(text, span)
                    }
                })
                .collect()
        });
        let related = problem.related().map(|related| {
            related
                .map(|r| Escaped::copy(r, None, place, false))
                .collect()
        });
        let message = problem.to_string();
        let repeats = |cause: &dyn fmt::Display| cause_said_once && says_cause(&message, cause);
        let (cause, cause_is_diagnostic) = match problem.diagnostic_source() {
            Some(cause) if !repeats(cause) => {
                (Some(Escaped::copy(cause, None, place, false)), true)
            }
            _ => {
                let cause = problem.source().and_then(|cause| {
                    if repeats(cause) {
                        cause.source()
                    } else {
                        Some(cause)
                    }
                });
                (cause.map(Escaped::plain), false)
            }
        };
        let text = |value: Option<Box<dyn fmt::Display + '_>>| {
            value.map(|v| escape_controls(&v.to_string()).into_owned())
        };
        Escaped {
            message: escape_controls(&message).into_owned(),
            code: text(problem.code()),
            severity: problem.severity(),
            help: text(problem.help()),
            url: text(problem.url()),
            labels,
            source: own,
            related,
            cause: cause.map(Box::new),
            cause_is_diagnostic,
        }
    }

    /// A plain error: its message and its causes.
    fn plain(error: &dyn std::error::Error) -> Self {
        Escaped {
            message: escape_controls(&error.to_string()).into_owned(),
            code: None,
            severity: None,
            help: None,
            url: None,
            labels: None,
            source: None,
            related: None,
            cause: error.source().map(|cause| Box::new(Escaped::plain(cause))),
            cause_is_diagnostic: false,
        }
    }
}

impl fmt::Debug for Escaped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Escaped")
            .field("message", &self.message)
            .field("code", &self.code)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Escaped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Escaped {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|cause| cause as &(dyn std::error::Error + 'static))
    }
}

fn boxed(text: &Option<String>) -> Option<Box<dyn fmt::Display + '_>> {
    text.as_ref()
        .map(|t| Box::new(t) as Box<dyn fmt::Display + '_>)
}

impl Diagnostic for Escaped {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        boxed(&self.code)
    }
    fn severity(&self) -> Option<Severity> {
        self.severity
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        boxed(&self.help)
    }
    fn url<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        boxed(&self.url)
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source
            .as_ref()
            .map(|file| &file.source as &dyn SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.labels
            .as_ref()
            .map(|labels| Box::new(labels.iter().cloned()) as Box<dyn Iterator<Item = _>>)
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        self.related.as_ref().map(|related| {
            Box::new(related.iter().map(|r| r as &dyn Diagnostic))
                as Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>
        })
    }
    fn diagnostic_source(&self) -> Option<&dyn Diagnostic> {
        if self.cause_is_diagnostic {
            self.cause.as_deref().map(|cause| cause as &dyn Diagnostic)
        } else {
            None
        }
    }
}
