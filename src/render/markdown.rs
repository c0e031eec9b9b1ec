//! The plan as a pull-request comment in GitHub-flavoured Markdown: a caution first when it
//! destroys every managed token, the counts, a caution block when anything breaks, the breaking
//! changes with their TOKEN lines, then the rest folded. Never longer than a budget (GitHub
//! refuses comments over 65,536 characters), the same bytes for the same plan. Control characters
//! of names, paths and messages are escaped.

use std::fmt::Write;

use super::diagnostics::DiagnosticReport;
use crate::desired::DesiredSet;
use crate::plan::describe::{
    NAMES_SHOWN, ScopeLine, ScopeLineKind, breaking_reason, destroys_everything, headline,
    planned_against, project_label, scope_lines,
};
use crate::plan::{Action, Change, Plan};
use crate::text::escape_controls;

/// The default size limit, in bytes (so also in characters), under GitHub's 65,536.
pub const COMMENT_BUDGET: usize = 65_000;

/// A code span that survives backticks in the text.
pub(crate) fn code_span(text: &str) -> String {
    let longest = longest_run(text, '`');
    let ticks = "`".repeat(longest + 1);
    if longest > 0 || text.starts_with('`') || text.ends_with('`') {
        format!("{ticks} {text} {ticks}")
    } else {
        format!("{ticks}{text}{ticks}")
    }
}

fn longest_run(text: &str, ch: char) -> usize {
    let (mut longest, mut current) = (0, 0);
    for c in text.chars() {
        if c == ch {
            current += 1;
            longest = longest.max(current);
        } else {
            current = 0;
        }
    }
    longest
}

/// Text safe inside HTML (`<summary>`).
fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The diff block of one change: `+`/`-`/` ` scope lines with their TOKEN lines.
fn diff_block(change: &Change) -> String {
    let mut body = String::new();
    for ScopeLine {
        kind,
        scope,
        sources,
    } in scope_lines(change)
    {
        let marker = match kind {
            ScopeLineKind::Added => '+',
            ScopeLineKind::Removed => '-',
            ScopeLineKind::Kept => ' ',
        };
        let line = match sources {
            Some(sources) => format!("{marker} {scope}  # {sources}"),
            None => format!("{marker} {scope}"),
        };
        // A line break inside a name would start a new diff line.
        body.push_str(&line.replace(['\r', '\n'], " "));
        body.push('\n');
    }
    let fence = "`".repeat(longest_run(&body, '`').max(2) + 1);
    format!("{fence}diff\n{body}{fence}\n")
}

/// One change as a Markdown section: the headline (and why it breaks), a list of its TOKEN
/// lines and notes, and the diff of its scopes.
fn section(change: &Change, desired: &DesiredSet) -> String {
    let mut out = String::new();
    let title = headline(change).replacen(
        &format!("token \"{}\"", change.name),
        &format!("token {}", code_span(&change.name)),
        1,
    );
    let _ = write!(out, "**{}**", title.replace(['\r', '\n'], " "));
    match breaking_reason(change) {
        Some(reason) => {
            let _ = writeln!(out, " ({})\n", reason.replace(['\r', '\n'], " "));
        }
        None => out.push_str("\n\n"),
    }
    let mut items = Vec::new();
    if change.action != Action::Delete
        && let Some(token) = desired.tokens.get(&change.name)
    {
        let lines: Vec<String> = token
            .sources()
            .map(|s| {
                format!(
                    "{}{}",
                    code_span(&format!("{}:{}", s.path, s.line)),
                    s.note()
                )
            })
            .collect();
        items.push(format!("TOKEN lines: {}", lines.join(", ")));
    }
    items.extend(change.notes.iter().map(|n| n.replace(['\r', '\n'], " ")));
    for item in &items {
        let _ = writeln!(out, "- {item}");
    }
    if !items.is_empty() {
        out.push('\n');
    }
    out.push_str(&diff_block(change));
    out.push('\n');
    escape_controls(&out).into_owned()
}

/// The comment body for a plan, at most `budget` bytes.
pub fn render(plan: &Plan, desired: &DesiredSet, budget: usize) -> String {
    let summary = plan.summary();
    let mut out = String::new();
    if let Some(caution) = destroys_everything(plan) {
        let _ = writeln!(out, "> [!CAUTION]\n> {caution}.\n");
    }
    let place = in_project(&plan.project.path, "in");
    let project = match &plan.project.sdk {
        Some(sdk) => format!("{}\n\n", html_escape(sdk)),
        None => String::new(),
    };
    let against = planned_against(&plan.workspace, code_span);
    if !plan.has_changes() {
        let _ = writeln!(out, "### tokenplan: no changes{place}\n");
        out.push_str(&project);
        let _ = writeln!(out, "{}.\n", capitalized(&against));
        let _ = writeln!(
            out,
            "The workspace matches the datafiles ({} managed tokens).",
            summary.unchanged
        );
        return truncate(out, budget);
    }
    let _ = writeln!(
        out,
        "### tokenplan: {} to add, {} to change, {} to destroy{place}\n",
        summary.add, summary.change, summary.destroy
    );
    out.push_str(&project);
    let _ = writeln!(out, "{}.\n", capitalized(&against));
    let breaking: Vec<&Change> = plan.breaking().collect();
    if !breaking.is_empty() {
        // A long list of names would eat the budget the changes themselves need.
        let mut names: Vec<String> = breaking
            .iter()
            .take(NAMES_SHOWN)
            .map(|c| code_span(&escape_controls(&c.name)))
            .collect();
        if breaking.len() > names.len() {
            names.push(format!("{} more", breaking.len() - names.len()));
        }
        let what = if breaking.len() == 1 {
            "1 change is breaking".to_owned()
        } else {
            format!("{} changes are breaking", breaking.len())
        };
        let _ = writeln!(
            out,
            "> [!CAUTION]\n> {what}: apps holding {} lose access. Applying needs `--allow-destroy`.\n",
            names.join(", ")
        );
    }
    let others: Vec<&Change> = plan.changes.iter().filter(|c| !c.breaking).collect();
    // Whatever happens, the closing text must fit: reserve room for it.
    let reserve = 200;
    let limit = budget.saturating_sub(reserve);
    let mut shown = 0;
    let total = plan.changes.len();
    let mut full = out.len() > limit;
    if !breaking.is_empty() && !full {
        let _ = writeln!(out, "#### Breaking changes\n");
        for change in &breaking {
            let text = section(change, desired);
            if out.len() + text.len() > limit {
                full = true;
                break;
            }
            out.push_str(&text);
            shown += 1;
        }
    }
    if !others.is_empty() && !full {
        let opening = format!(
            "<details><summary>{} ({})</summary>\n\n",
            html_escape(if breaking.is_empty() {
                "Changes"
            } else {
                "Other changes"
            }),
            others.len()
        );
        let closing = "</details>\n";
        if out.len() + opening.len() + closing.len() <= limit {
            out.push_str(&opening);
            for change in &others {
                let text = section(change, desired);
                if out.len() + text.len() + closing.len() > limit {
                    break;
                }
                out.push_str(&text);
                shown += 1;
            }
            out.push_str(closing);
        }
    }
    if shown < total {
        let _ = writeln!(
            out,
            "\n_{} of {total} changes not shown: the comment has a size limit. Run `tokenplan plan` for the full plan._",
            total - shown
        );
    }
    truncate(out, budget)
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// ` in `PATH`` for a headline, or nothing when the project is unknown.
fn in_project(project: &str, preposition: &str) -> String {
    match project {
        "" => String::new(),
        project => format!(" {preposition} {}", code_span(&project_label(project))),
    }
}

/// The body for the project at `project` that could not be planned: the errors, as a list.
pub(crate) fn render_errors(project: &str, errors: &[DiagnosticReport], budget: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### tokenplan: no plan{}\n",
        in_project(project, "for")
    );
    let _ = writeln!(
        out,
        "> [!CAUTION]\n> {} in the datafiles: no plan was made.\n",
        if errors.len() == 1 {
            "1 error".to_owned()
        } else {
            format!("{} errors", errors.len())
        }
    );
    let limit = budget.saturating_sub(200);
    let mut shown = 0;
    for error in errors {
        let place = format!(
            "{}:{}",
            error.path.as_deref().unwrap_or_default(),
            error.line
        );
        let item = format!(
            "- {} {}\n",
            code_span(&place),
            error.message.replace('\n', " ")
        );
        let item = escape_controls(&item);
        if out.len() + item.len() > limit {
            break;
        }
        out.push_str(&item);
        shown += 1;
    }
    if shown < errors.len() {
        let _ = writeln!(
            out,
            "\n_{} more errors not shown. Run `tokenplan check` for all of them._",
            errors.len() - shown
        );
    }
    truncate(out, budget)
}

/// Cuts text to at most `budget` bytes on a char boundary. Only reached when a budget is smaller
/// than the fixed parts of a comment.
fn truncate(mut text: String, budget: usize) -> String {
    if text.len() > budget {
        let cut = crate::source::clamp_to_char_boundary(&text, budget);
        text.truncate(cut);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_survive_backticks() {
        assert_eq!(code_span("a"), "`a`");
        assert_eq!(code_span("a`b"), "`` a`b ``");
        assert_eq!(code_span("``"), "``` `` ```");
    }
}
