//! How `apply` shows its progress: a bar on a terminal for more than a few changes, a line per
//! change otherwise, nothing with `--quiet`.

use std::io::IsTerminal;

use super::print_stdout;
use crate::apply::ApplyEvent;
use crate::plan::Action;
use crate::plan::describe::past_tense;
use crate::text::escape_controls;

/// Changes above which a terminal gets a progress bar instead of a line per change.
const PROGRESS_BAR_ABOVE: usize = 5;

pub(super) enum Progress {
    Quiet,
    Lines { started: bool },
    Bar(indicatif::ProgressBar),
}

impl Progress {
    pub(super) fn new(total: usize, quiet: bool) -> Self {
        if quiet {
            Progress::Quiet
        } else if total > PROGRESS_BAR_ABOVE && std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(total as u64);
            let style =
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} tokens {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            Progress::Bar(bar)
        } else {
            Progress::Lines { started: false }
        }
    }

    pub(super) fn event(&mut self, event: ApplyEvent<'_>) {
        match (self, event) {
            (Progress::Quiet, _) => {}
            (Progress::Lines { started }, ApplyEvent::Done { change, .. }) => {
                if !*started {
                    print_stdout("\n");
                    *started = true;
                }
                print_stdout(&format!(
                    "token \"{}\": {}\n",
                    escape_controls(&change.name),
                    past_tense(change.action)
                ));
            }
            (Progress::Lines { .. }, ApplyEvent::Starting { .. }) => {}
            (Progress::Bar(bar), ApplyEvent::Starting { change, .. }) => {
                let name = escape_controls(&change.name);
                bar.set_message(format!("{} {name}", ongoing(change.action)));
            }
            (Progress::Bar(bar), ApplyEvent::Done { .. }) => bar.inc(1),
        }
    }

    pub(super) fn finish(&mut self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

fn ongoing(action: Action) -> &'static str {
    match action {
        Action::Create => "creating",
        Action::Update => "updating",
        Action::Delete => "destroying",
    }
}
