//! tokenplan: checks Tinybird datafiles and plans the access tokens they declare.
//!
//! The pipeline, one module a stage: [`cli`] → [`project`] (discover, load) → [`syntax`] (pest
//! grammars, lowering) → [`model`] → [`render`].

pub mod cli;
pub mod model;
pub mod project;
pub mod render;
pub mod source;
pub mod syntax;
