//! `tokenplan apply` and `tokenplan force-unlock`: the flags, the checks before any change (saved
//! plan, breaking changes, confirmation) and the final line.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use super::plan::open_and_plan;
use super::progress::Progress;
use super::{
    CHANGES, DeployArgs, SdkArgs, SecretArgs, WorkspaceArgs, confirm, print_stdout, report,
    test_hooks,
};
use crate::apply::{self, AllowDestroy, ApplyError, ApplyEvent};
use crate::plan::{Planned, saved};
use crate::render::{TextStyle, plan_text};
use crate::workspace::state::{DEFAULT_STATE_PATH, StateLock};

#[derive(Debug, clap::Args)]
pub(super) struct ApplyArgs {
    /// The project folder.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Apply this saved plan (from `plan --out FILE`) if it still holds, without asking.
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// Do not ask for confirmation (needed when there is no terminal).
    #[arg(long)]
    auto_approve: bool,
    /// Allow breaking changes: `--allow-destroy` all of them, `--allow-destroy=NAME` those of the
    /// token NAME (repeatable). A name only comes after `=`: the next word is PATH.
    #[arg(
        long,
        value_name = "NAME",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = ""
    )]
    allow_destroy: Vec<String>,
    /// Exit 0 when there was nothing to change, 2 when changes were applied, 1 on error.
    #[arg(long)]
    detailed_exitcode: bool,
    /// Print only errors and the final line.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    workspace: WorkspaceArgs,
    #[command(flatten)]
    secrets: SecretArgs,
    #[command(flatten)]
    deploy: DeployArgs,
    #[command(flatten)]
    sdk: SdkArgs,
}

#[derive(Debug, clap::Args)]
pub(super) struct ForceUnlockArgs {
    /// The project folder.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// The embedded workspace's state database [default: <PATH>/.tokenplan/workspace.db].
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
}

fn allow_destroy(values: &[String]) -> AllowDestroy {
    if values.is_empty() {
        AllowDestroy::Nothing
    } else if values.iter().any(String::is_empty) {
        AllowDestroy::All
    } else {
        AllowDestroy::Names(values.iter().cloned().collect::<BTreeSet<_>>())
    }
}

pub(super) fn run_apply(args: ApplyArgs) -> ExitCode {
    let command = format!("tokenplan apply {}", args.path.display());
    let planned = open_and_plan(
        &args.workspace,
        &args.path,
        &args.secrets,
        &args.deploy,
        &args.sdk,
        Some(&command),
        &|_| {},
    );
    let Ok((mut workspace, Planned { desired, plan, .. })) = planned else {
        return ExitCode::FAILURE;
    };
    if let Some(path) = &args.plan {
        let checked = match saved::read(path) {
            Ok(saved) => apply::check_saved_plan(&saved, &plan, &desired),
            Err(source) => Err(ApplyError::InvalidPlanFile {
                path: path.display().to_string(),
                source,
            }),
        };
        if let Err(error) = checked {
            report(&error);
            return ExitCode::FAILURE;
        }
    }
    let allowed = allow_destroy(&args.allow_destroy);
    let color = TextStyle::for_stream(std::io::stdout().is_terminal()).color;
    if !args.quiet && !print_stdout(&plan_text::render(&plan, color, &allowed)) {
        return ExitCode::FAILURE;
    }
    if !plan.has_changes() {
        if args.quiet {
            print_stdout("No changes. The workspace matches the datafiles.\n");
        }
        return ExitCode::SUCCESS;
    }
    if let Err(error) = apply::guard_breaking(&plan, &allowed) {
        report(&error);
        return ExitCode::FAILURE;
    }
    if args.plan.is_none() && !args.auto_approve {
        let error = if std::io::stdin().is_terminal() {
            if confirm("Do you want to perform these actions?") {
                None
            } else {
                Some(ApplyError::Cancelled)
            }
        } else {
            Some(ApplyError::NeedsApproval)
        };
        if let Some(error) = error {
            report(&error);
            return ExitCode::FAILURE;
        }
    }
    let pause = test_hooks::apply_pause();
    let mut progress = Progress::new(plan.changes.len(), args.quiet);
    let mut on_event = |event: ApplyEvent<'_>| {
        progress.event(event);
        if let (ApplyEvent::Starting { .. }, Some(pause)) = (event, pause) {
            std::thread::sleep(pause);
        }
    };
    let result = apply::execute(workspace.as_mut(), &plan, &mut on_event);
    progress.finish();
    match result {
        Ok(report) => {
            let blank = if args.quiet { "" } else { "\n" };
            print_stdout(&format!(
                "{blank}Apply complete! Tokens: {} added, {} changed, {} destroyed.\n",
                report.added, report.changed, report.destroyed
            ));
            if args.detailed_exitcode {
                ExitCode::from(CHANGES)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(error) => {
            report(&error);
            ExitCode::FAILURE
        }
    }
}

pub(super) fn run_force_unlock(args: ForceUnlockArgs) -> ExitCode {
    let state = args
        .state
        .clone()
        .unwrap_or_else(|| args.path.join(DEFAULT_STATE_PATH));
    match StateLock::force_unlock(&state) {
        Ok(Some(holder)) => {
            println!("Removed the lock left by {holder}.");
            ExitCode::SUCCESS
        }
        Ok(None) => {
            println!("The workspace at {} is not locked.", state.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            report(&error);
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_destroy_values() {
        assert_eq!(allow_destroy(&[]), AllowDestroy::Nothing);
        assert_eq!(allow_destroy(&["".into()]), AllowDestroy::All);
        assert!(allow_destroy(&["a".into()]).allows("a"));
        assert!(!allow_destroy(&["a".into()]).allows("b"));
    }
}
