//! The plan: what must change in a workspace for its tokens to match the datafiles. It owns the
//! diff ([`plan()`]), making one from a project and a workspace ([`make_plan`]), the saved plan
//! that `apply --plan` reads back ([`saved`]), the words every output uses for a change
//! ([`describe`]) and where in the project a change belongs ([`places`]). It knows no output
//! format: the renderers turn plans into text, JSON and Markdown, and depend on it, never the
//! other way round.

pub(crate) mod describe;
mod diff;
mod make;
pub(crate) mod places;
pub(crate) mod saved;

pub use diff::{
    Action, Change, Plan, PlanProject, PlanWorkspace, ScopeChange, Summary, UnmanagedToken, plan,
};
pub(crate) use make::{PlanFailure, Planned, make_plan};
