//! Making a plan from the world: loads the project, refuses broken datafiles, reads the workspace
//! and diffs. The one place where planning touches files and workspaces.

use super::diff::{Plan, UnmanagedToken, plan};
use crate::desired::DesiredSet;
use crate::project::{self, Project, ProjectConfig, ProjectError};
use crate::workspace::{Workspace, WorkspaceError};

/// Why no plan could be made.
#[derive(Debug)]
pub enum PlanFailure {
    /// The project folder cannot be read.
    Project(ProjectError),
    /// Some datafile has an error: no plan at all, rather than one that reads a broken file as
    /// declaring no tokens.
    Invalid(Project),
    /// TOKEN directives name tokens deployments may not touch.
    Unmanaged(Project, Vec<UnmanagedToken>),
    /// The workspace cannot be read.
    Workspace(WorkspaceError),
}

/// A plan with what it was made from.
#[derive(Debug)]
pub struct Planned {
    /// The compiled project (warnings included).
    pub project: Project,
    /// The tokens it declares.
    pub desired: DesiredSet,
    pub plan: Plan,
}

/// Loads the project, reads the workspace and plans.
pub fn make_plan(
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
        Ok(plan) => Ok(Planned {
            project,
            desired,
            plan,
        }),
        Err(unmanaged) => Err(PlanFailure::Unmanaged(project, unmanaged)),
    }
}
