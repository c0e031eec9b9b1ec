//! Making a plan from the world: loads the project, refuses broken datafiles, reads the workspace
//! and diffs. The one place where planning touches files and workspaces.

use miette::Diagnostic;
use thiserror::Error;

use super::diff::{Plan, PlanProject, UnmanagedToken, plan};
use crate::desired::DesiredSet;
use crate::project::{self, Project, ProjectConfig, ProjectError};
use crate::workspace::{Workspace, WorkspaceError};

/// Why no plan could be made.
#[derive(Debug, Error, Diagnostic)]
pub(crate) enum PlanFailure {
    /// The project folder cannot be read.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Project(ProjectError),
    /// Some datafile has an error: no plan at all, rather than one that reads a broken file as
    /// declaring no tokens.
    #[error("the datafiles have errors: no plan was made")]
    #[diagnostic(
        code(tokenplan::plan::invalid_project),
        help("fix the errors that `tokenplan check` reports first")
    )]
    Invalid(Project),
    /// TOKEN directives name tokens deployments may not touch.
    #[error("TOKEN directives name tokens that deployments never change: no plan was made")]
    #[diagnostic(code(tokenplan::plan::unmanaged_tokens))]
    Unmanaged(Project, #[related] Vec<UnmanagedToken>),
    /// The workspace cannot be read.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Workspace(WorkspaceError),
}

/// A plan with what it was made from.
#[derive(Debug)]
pub(crate) struct Planned {
    /// The compiled project (warnings included).
    pub(crate) project: Project,
    /// The tokens it declares.
    pub(crate) desired: DesiredSet,
    pub(crate) plan: Plan,
}

/// Loads the project, reads the workspace and plans.
pub(crate) fn make_plan(
    config: &ProjectConfig,
    workspace: &mut dyn Workspace,
) -> Result<Planned, PlanFailure> {
    let project = project::load(config).map_err(PlanFailure::Project)?;
    if project.has_errors() {
        return Err(PlanFailure::Invalid(project));
    }
    let desired = DesiredSet::from_project(&project);
    let snapshot = workspace.snapshot().map_err(PlanFailure::Workspace)?;
    match plan(&desired, &snapshot, &workspace.info()) {
        Ok(mut plan) => {
            plan.project = PlanProject {
                path: config.root.display().to_string(),
                kind: project.kind.name(),
                config: project.config_path(),
                sdk: project.is_sdk().then(|| project.kind.to_string()),
            };
            if plan.workspace.kind == "embedded" {
                plan.workspace.location = relative_to_cwd(&plan.workspace.location);
            }
            Ok(Planned {
                project,
                desired,
                plan,
            })
        }
        Err(unmanaged) => Err(PlanFailure::Unmanaged(project, unmanaged)),
    }
}

/// A state file path relative to the current folder when it lies below it: what a person would
/// type, and the same on every machine (outputs are compared and posted).
fn relative_to_cwd(location: &str) -> String {
    let path = std::path::Path::new(location);
    let relative = std::env::current_dir()
        .ok()
        .filter(|_| path.is_absolute())
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(|p| p.display().to_string()))
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| location.to_owned());
    // `./.tokenplan/workspace.json` for the project `.` reads better without the `./`.
    match relative.strip_prefix("./") {
        Some(rest) if !rest.is_empty() => rest.to_owned(),
        _ => relative,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_to_read_is_reported_as_its_cause() {
        let failure = PlanFailure::Project(ProjectError::NotFound {
            path: "nowhere".into(),
            reason: "gone".into(),
        });
        let code = failure.code().map(|c| c.to_string());
        assert_eq!(code.as_deref(), Some("tokenplan::project::not_found"));
        assert_eq!(
            failure.to_string(),
            "cannot read project folder nowhere: gone"
        );
        assert!(failure.help().is_some());
    }
}
