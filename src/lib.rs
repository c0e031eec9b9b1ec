//! tokenplan: checks Tinybird datafiles and plans the access tokens they declare.
//!
//! The pipeline, one module a stage: [`cli`] → [`project`] (discover, load) → [`syntax`] (pest
//! grammars, lowering) → [`model`] → [`desired`] (token set) → [`workspace`] (trait and backends)
//! → [`plan`] (diff) → [`render`] (text, JSON) → [`apply`]; [`lsp`] serves the same to editors.
//! Beside it, [`token`] manages workspace tokens, [`server`] serves a local workspace over the
//! Tokens API and [`github`] keeps the plan as a pull-request comment; [`scope`] is the scope and
//! token-name vocabulary they all share; [`text`] escapes control characters in everything meant
//! for people.

// pest without its `std` feature skips a native stack probe on every rule call, which was a
// third of the parse time; its generated parsers then name `alloc`. None of our grammars is
// recursive, so the probe has nothing to guard.
extern crate alloc;

pub mod apply;
pub mod cli;
pub mod desired;
pub mod github;
pub mod lsp;
pub mod model;
pub mod plan;
pub mod project;
pub mod render;
pub mod scope;
pub mod sdk;
pub mod server;
pub mod source;
pub mod syntax;
pub mod text;
pub mod token;
pub mod workspace;
