//! The plan as text, in the style people know from Terraform: a legend, one block per token with
//! `+`/`-` scope lines and the TOKEN lines behind them, then the counts.

use std::fmt::Write;

use crate::plan::describe::{
    ScopeLine, ScopeLineKind, breaking_reason, headline, plural, scope_lines,
};
use crate::plan::{Action, Change, Plan};

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// ANSI decoration, or none.
#[derive(Debug, Clone, Copy)]
struct Paint {
    color: bool,
}

impl Paint {
    fn wrap(self, code: &str, text: &str) -> String {
        if self.color {
            format!("{code}{text}{RESET}")
        } else {
            text.to_owned()
        }
    }
}

/// `+`, `~` or `-`.
pub const fn symbol(action: Action) -> char {
    match action {
        Action::Create => '+',
        Action::Update => '~',
        Action::Delete => '-',
    }
}

fn action_color(action: Action) -> &'static str {
    match action {
        Action::Create => GREEN,
        Action::Update => YELLOW,
        Action::Delete => RED,
    }
}

fn legend_text(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update in place",
        Action::Delete => "destroy",
    }
}

/// Renders the plan. `color` adds ANSI colours (terminals only).
pub fn render(plan: &Plan, color: bool) -> String {
    let paint = Paint { color };
    let mut out = String::new();
    // Datafile projects keep the output they always had.
    if let Some(sdk) = &plan.project.sdk {
        let _ = writeln!(out, "Project: {sdk}\n");
    }
    if !plan.has_changes() {
        let _ = writeln!(
            out,
            "{}",
            paint.wrap(BOLD, "No changes. The workspace matches the datafiles.")
        );
        let _ = writeln!(
            out,
            "{} already as declared.",
            plural(plan.unchanged, "token")
        );
        return out;
    }
    let _ = writeln!(
        out,
        "Token actions are indicated with the following symbols:"
    );
    for action in [Action::Create, Action::Update, Action::Delete] {
        if plan.changes.iter().any(|c| c.action == action) {
            let sym = paint.wrap(action_color(action), &symbol(action).to_string());
            let _ = writeln!(out, "  {sym} {}", legend_text(action));
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "tokenplan will perform the following actions:");
    for change in &plan.changes {
        let _ = writeln!(out);
        render_change(&mut out, change, paint);
    }
    let summary = plan.summary();
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{}",
        paint.wrap(
            BOLD,
            &format!(
                "Plan: {} to add, {} to change, {} to destroy.",
                summary.add, summary.change, summary.destroy
            )
        )
    );
    let breaking = plan.breaking().count();
    if breaking > 0 {
        let names: Vec<&str> = plan.breaking().map(|c| c.name.as_str()).collect();
        let what = if breaking == 1 {
            "1 change is breaking".to_owned()
        } else {
            format!("{breaking} changes are breaking")
        };
        let warning = format!(
            "Warning: {what} ({}): apps holding these tokens lose access. Apply with --allow-destroy.",
            names.join(", ")
        );
        let _ = writeln!(out, "{}", paint.wrap(RED, &warning));
    }
    out
}

fn render_change(out: &mut String, change: &Change, paint: Paint) {
    let color = action_color(change.action);
    let _ = writeln!(
        out,
        "  {}",
        paint.wrap(BOLD, &format!("# {}", headline(change)))
    );
    if let Some(reason) = breaking_reason(change) {
        let _ = writeln!(out, "  {}", paint.wrap(RED, &format!("# {reason}")));
    }
    let sym = symbol(change.action);
    let _ = writeln!(
        out,
        "  {} token \"{}\" {{",
        paint.wrap(color, &sym.to_string()),
        change.name
    );
    let lines = scope_lines(change);
    let width = lines.iter().map(|l| l.scope.len()).max().unwrap_or(0);
    for ScopeLine {
        kind,
        scope,
        sources,
    } in lines
    {
        let (marker, line_color) = match kind {
            ScopeLineKind::Added => ("+", GREEN),
            ScopeLineKind::Removed => ("-", RED),
            ScopeLineKind::Kept => (" ", ""),
        };
        let text = format!("{marker} {scope}");
        let text = if line_color.is_empty() {
            text
        } else {
            paint.wrap(line_color, &text)
        };
        match sources {
            Some(sources) => {
                let pad = " ".repeat(width - scope.len() + 2);
                let _ = writeln!(
                    out,
                    "      {text}{pad}{}",
                    paint.wrap(DIM, &format!("# {sources}"))
                );
            }
            None => {
                let _ = writeln!(out, "      {text}");
            }
        }
    }
    for note in &change.notes {
        let _ = writeln!(out, "        {}", paint.wrap(DIM, &format!("# {note}")));
    }
    let _ = writeln!(out, "    }}");
}
