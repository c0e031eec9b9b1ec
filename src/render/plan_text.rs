//! The plan as text, in the style people know from Terraform: a caution when it destroys every
//! managed token, a legend, one block per token with `+`/`-` scope lines and the TOKEN lines
//! behind them, then the counts and what breaks. Names and paths have their control characters
//! escaped; the only escape sequences are the colours.

use std::fmt::Write;

use crate::apply::AllowDestroy;
use crate::plan::describe::{
    ScopeLine, ScopeLineKind, allow_destroy_advice, breaking_reason, destroys_everything, headline,
    name_list, plural, project_label, scope_lines, workspace_label,
};
use crate::plan::{Action, Change, Plan};
use crate::text::escape_controls;

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
    /// The text, escaped, in a colour.
    fn wrap(self, code: &str, text: &str) -> String {
        let text = escape_controls(text);
        if self.color {
            format!("{code}{text}{RESET}")
        } else {
            text.into_owned()
        }
    }
}

/// `+`, `~` or `-`.
pub(crate) const fn symbol(action: Action) -> char {
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

/// Renders the plan. `color` adds ANSI colours (terminals only). The breaking changes `allowed`
/// already allows (apply's `--allow-destroy`) get no advice to pass the flag.
pub(crate) fn render(plan: &Plan, color: bool, allowed: &AllowDestroy) -> String {
    let paint = Paint { color };
    let mut out = String::new();
    if let Some(mut caution) = destroys_everything(plan) {
        // "Caution: this plan ...": the sentence goes on after the colon.
        if let Some(first) = caution.get_mut(..1) {
            first.make_ascii_lowercase();
        }
        let _ = writeln!(out, "{}", paint.wrap(RED, &format!("Caution: {caution}.")));
        let _ = writeln!(out);
    }
    match (plan.project.path.as_str(), &plan.project.sdk) {
        ("", None) => {}
        ("", Some(sdk)) => {
            let _ = writeln!(out, "Project:   {sdk}");
        }
        (path, None) => {
            let _ = writeln!(out, "Project:   {}", project_label(path));
        }
        (path, Some(sdk)) => {
            let _ = writeln!(out, "Project:   {sdk} in {}", project_label(path));
        }
    }
    let _ = writeln!(out, "Workspace: {}\n", workspace_label(&plan.workspace));
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
        let what = if breaking == 1 {
            "1 change is breaking".to_owned()
        } else {
            format!("{breaking} changes are breaking")
        };
        let mut warning = format!(
            "Warning: {what} ({}): apps holding these tokens lose access.",
            name_list(plan.breaking().map(|c| c.name.as_str()))
        );
        let refused: Vec<&str> = plan
            .breaking()
            .filter(|c| !allowed.allows(&c.name))
            .map(|c| c.name.as_str())
            .collect();
        if !refused.is_empty() {
            let _ = write!(warning, " To apply, {}.", allow_destroy_advice(&refused));
        }
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
        escape_controls(&change.name)
    );
    let lines = scope_lines(change);
    // Widths of the scopes as shown, escapes included.
    let shown = |scope: &str| escape_controls(scope).len();
    let width = lines.iter().map(|l| shown(l.scope)).max().unwrap_or(0);
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
            escape_controls(&text).into_owned()
        } else {
            paint.wrap(line_color, &text)
        };
        match sources {
            Some(sources) => {
                let pad = " ".repeat(width - shown(scope) + 2);
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
