//! One comment per project on a pull request, kept up to date: found again by a hidden marker
//! naming the project path, edited in place, posted only once there is something to say; and the
//! `tokenplan:*` labels, which sum up every project's comment.

use super::GithubError;
use super::api::{Client, Comment};

/// What a comment reports, kept in it on a hidden line so that labels can sum up every project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Verdict {
    /// No plan could be made.
    Failed,
    NoChanges,
    Changes,
    /// Some change breaks apps.
    Breaking,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Failed => "failed",
            Verdict::NoChanges => "no-changes",
            Verdict::Changes => "changes",
            Verdict::Breaking => "breaking",
        }
    }

    fn parse(text: &str) -> Option<Verdict> {
        [
            Verdict::Failed,
            Verdict::NoChanges,
            Verdict::Changes,
            Verdict::Breaking,
        ]
        .into_iter()
        .find(|v| v.as_str() == text)
    }

    /// The label for this verdict (none for a failure: it says nothing about the tokens).
    fn label(self) -> Option<&'static str> {
        match self {
            Verdict::Failed => None,
            Verdict::NoChanges => Some("tokenplan:no-changes"),
            Verdict::Changes => Some("tokenplan:changes"),
            Verdict::Breaking => Some("tokenplan:breaking"),
        }
    }
}

/// Every label `--github-labels` sets or removes.
pub(crate) const LABELS: [&str; 3] = [
    "tokenplan:breaking",
    "tokenplan:changes",
    "tokenplan:no-changes",
];

const RESULT_PREFIX: &str = "<!-- tokenplan-result: ";

/// `<!-- tokenplan: PATH -->`: the hidden line that finds a project's comment again. `tinybird`,
/// `./tinybird` and `tinybird/` are one project. A path holding `--` or a line break cannot end
/// the HTML comment early.
pub(crate) fn marker(project: &str) -> String {
    let mut path = project.trim();
    while let Some(rest) = path.strip_prefix("./") {
        path = rest;
    }
    let path = match path.trim_end_matches('/') {
        "" if path.starts_with('/') => "/",
        "" => ".",
        trimmed => trimmed,
    };
    let path: String = path
        .replace("--", "-\u{2010}")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("<!-- tokenplan: {path} -->")
}

/// How many bytes the hidden lines take: the markdown body gets the rest of GitHub's limit.
pub(crate) fn overhead(project: &str) -> usize {
    marker(project).len() + RESULT_PREFIX.len() + " no-changes -->\n\n".len() + 1
}

/// The comment as posted: the hidden lines, then the markdown body.
pub(crate) fn comment_body(project: &str, verdict: Verdict, markdown: &str) -> String {
    format!(
        "{}\n{RESULT_PREFIX}{} -->\n\n{markdown}",
        marker(project),
        verdict.as_str()
    )
}

/// What happened to a project's comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Posted for the first time.
    Created { url: String },
    /// An earlier comment edited in place.
    Updated { url: String },
    /// An earlier comment already said the same.
    Unchanged { url: String },
    /// No changes and no earlier comment: nothing posted.
    Skipped,
}

/// What [`publish`] did, and every tokenplan verdict on the pull request after it.
#[derive(Debug)]
pub(crate) struct Published {
    pub(crate) outcome: Outcome,
    pub(crate) verdicts: Vec<Verdict>,
}

/// Posts or edits the comment of `project` on the pull request: the first comment with its
/// marker is edited, or a new one is posted unless the plan has no changes.
pub(crate) fn publish(
    client: &Client,
    project: &str,
    verdict: Verdict,
    markdown: &str,
) -> Result<Published, GithubError> {
    let marker = marker(project);
    let comments = client.comments()?;
    let ours = comments.iter().find(|c| has_line(c, &marker));
    let body = comment_body(project, verdict, markdown);
    let outcome = match ours {
        Some(earlier) if earlier.body.as_deref() == Some(body.as_str()) => Outcome::Unchanged {
            url: url_of(earlier),
        },
        Some(earlier) => Outcome::Updated {
            url: url_of(&client.update_comment(earlier.id, &body)?),
        },
        None if verdict == Verdict::NoChanges => Outcome::Skipped,
        None => Outcome::Created {
            url: url_of(&client.create_comment(&body)?),
        },
    };
    // The other projects' comments, and this one as it is now.
    let mut verdicts: Vec<Verdict> = comments
        .iter()
        .filter(|c| !has_line(c, &marker))
        .filter_map(verdict_of)
        .collect();
    verdicts.push(verdict);
    Ok(Published { outcome, verdicts })
}

/// Sets the one label that sums up `verdicts` (the worst wins) and removes the other two. When
/// every project failed, the labels are left as they are.
pub(crate) fn sync_labels(
    client: &Client,
    verdicts: &[Verdict],
) -> Result<Option<&'static str>, GithubError> {
    let Some(wanted) = verdicts.iter().max().and_then(|v| v.label()) else {
        return Ok(None);
    };
    client.add_labels(&[wanted])?;
    for label in LABELS.into_iter().filter(|l| *l != wanted) {
        client.remove_label(label)?;
    }
    Ok(Some(wanted))
}

fn has_line(comment: &Comment, line: &str) -> bool {
    comment
        .body
        .as_deref()
        .is_some_and(|body| body.lines().any(|l| l.trim_end() == line))
}

fn verdict_of(comment: &Comment) -> Option<Verdict> {
    let body = comment.body.as_deref()?;
    if !body.starts_with("<!-- tokenplan: ") {
        return None;
    }
    body.lines()
        .find_map(|l| l.strip_prefix(RESULT_PREFIX)?.strip_suffix(" -->"))
        .and_then(Verdict::parse)
}

fn url_of(comment: &Comment) -> String {
    comment
        .html_url
        .clone()
        .unwrap_or_else(|| format!("comment {}", comment.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_cannot_end_early() {
        assert_eq!(marker("tinybird"), "<!-- tokenplan: tinybird -->");
        assert_eq!(marker("./tinybird/"), marker("tinybird"));
        assert_eq!(marker("./"), "<!-- tokenplan: . -->");
        let odd = marker("a-->b\nc");
        assert!(!odd["<!--".len()..odd.len() - 3].contains("-->"), "{odd}");
        assert!(!odd.contains('\n'));
    }

    #[test]
    fn a_body_carries_its_marker_and_verdict() {
        let body = comment_body("web/tb", Verdict::Breaking, "### tokenplan\n");
        let comment = Comment {
            id: 1,
            body: Some(body.clone()),
            html_url: None,
        };
        assert!(has_line(&comment, &marker("web/tb")));
        assert!(!has_line(&comment, &marker("web")));
        assert_eq!(verdict_of(&comment), Some(Verdict::Breaking));
        assert!(body.len() <= overhead("web/tb") + "### tokenplan\n".len());
    }
}
