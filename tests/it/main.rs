//! The integration tests, one module per area, linked into one test binary. `cargo test --test it
//! lsp` runs one area.

/// Asserts the snapshot `tests/snapshots/<module>__<name>.snap`, `<module>` being the calling
/// module's path below this crate with `::` written `__`: the files these snapshots had when each
/// module was a test binary of its own, which insta would otherwise prefix with `it__` and look
/// for in `tests/it/snapshots/`. Inside `insta::glob!` the name gets the `@<input>` suffix.
macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!(
            {
                snapshot_path => "../snapshots",
                prepend_module_to_snapshot => false,
            },
            {
                let module = module_path!()
                    .strip_prefix("it::")
                    .expect("a module of the `it` test binary")
                    .replace("::", "__");
                insta::assert_snapshot!(format!("{module}__{}", $name), $value)
            }
        )
    };
}

mod check_fixtures;
mod ci_outputs;
mod cli_apply;
mod cli_check;
mod cli_script;
mod common;
mod corpus;
mod discovery;
mod github_comment;
mod local;
mod lsp;
mod no_panic;
mod plan_fixtures;
mod readme;
mod sdk;
mod security;
mod server;
mod state;
