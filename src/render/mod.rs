//! Output for people and programs: diagnostics (terminal and plain text, JSON), plans (text,
//! JSON, markdown, GitHub annotations) and what CI gets when no plan could be made. Only the
//! command line uses it: the library's other modules know no output format.

pub(crate) mod check;
pub(crate) mod ci;
pub mod diagnostics;
mod escaped;
pub(crate) mod github;
pub mod markdown;
pub(crate) mod plan_json;
pub(crate) mod plan_text;

/// How text output may be decorated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextStyle {
    /// ANSI colours.
    pub(crate) color: bool,
    /// Unicode box drawing; plain ASCII otherwise.
    pub(crate) unicode: bool,
}

impl TextStyle {
    /// Plain, colourless, stable ASCII: for pipes, files, CI logs and snapshots.
    pub const PLAIN: TextStyle = TextStyle {
        color: false,
        unicode: false,
    };

    /// The style for a stream: decorated on a terminal, coloured unless `NO_COLOR` is set.
    pub(crate) fn for_stream(is_terminal: bool) -> TextStyle {
        if !is_terminal {
            return TextStyle::PLAIN;
        }
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        TextStyle {
            color: !no_color,
            unicode: true,
        }
    }
}
