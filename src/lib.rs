//! tokenplan: checks Tinybird datafiles and plans the access tokens they declare.
//!
//! The pipeline, one module a stage: [`cli`] → [`project`] (discover, load) → [`syntax`] (pest
//! grammars, lowering) → [`model`] → [`desired`] (token set) → [`workspace`] (trait and backends)
//! → [`plan`] (diff) → [`render`] (text, JSON) → [`apply`]. Beside it, [`token`] manages workspace
//! tokens and [`server`] serves a local workspace over the Tokens API.

pub mod apply;
pub mod cli;
pub mod desired;
pub mod model;
pub mod plan;
pub mod project;
pub mod render;
pub mod server;
pub mod source;
pub mod syntax;
pub mod token;
pub mod workspace;
