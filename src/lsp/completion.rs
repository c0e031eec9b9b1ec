//! Completion: the directives that may start a line of this file kind at this place (from the
//! command tables), and the permissions after `TOKEN <name> `. Nothing inside a block.

use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionTextEdit, Documentation, Position, Range,
    TextEdit,
};

use super::convert;
use crate::model::{DatafileKind, TokenPermission};
use crate::project::ProjectFile;
use crate::scope::Scope;
use crate::syntax::commands::{Action, BlockRule, Command, commands, lookup};

/// What the text before the cursor, and the lines above it, allow there.
#[derive(Debug, PartialEq, Eq)]
enum Place {
    /// The first word of a line: `word_start` is where the word typed so far begins.
    Directive {
        /// Byte offset of the partial word.
        word_start: usize,
        /// In a pipe, a NODE came before: node attributes and SQL are allowed.
        after_node: bool,
    },
    /// The permission of a TOKEN line.
    Permission {
        /// Byte offset of the partial word.
        word_start: usize,
    },
    /// Inside a block, or in the middle of a line.
    Nothing,
}

/// The completion items at `position`.
pub(crate) fn completion(file: &ProjectFile, position: Position) -> Vec<CompletionItem> {
    let cursor = convert::offset(file, position);
    let edit_range = |word_start: usize| Range {
        start: convert::position(file, word_start),
        end: convert::position(file, cursor),
    };
    match place(file, position.line, cursor) {
        Place::Directive {
            word_start,
            after_node,
        } => commands(file.kind)
            .iter()
            .filter(|command| is_offered(command, after_node))
            .map(|command| directive_item(command, edit_range(word_start)))
            .collect(),
        Place::Permission { word_start } => [TokenPermission::Read, TokenPermission::Append]
            .into_iter()
            .filter_map(|permission| {
                let scope = Scope::for_directive(file.kind, permission, &file.resource)?;
                Some(permission_item(permission, &scope, edit_range(word_start)))
            })
            .collect(),
        Place::Nothing => Vec::new(),
    }
}

/// Whether completion offers a command: never one Tinybird rejects or ignores, and in a pipe,
/// what attaches to a node only after a NODE.
fn is_offered(command: &Command, after_node: bool) -> bool {
    match command.action {
        Action::Removed { .. } | Action::Include | Action::Deprecated => false,
        Action::NodeAttribute | Action::Sql => after_node,
        Action::Description
        | Action::Token
        | Action::Schema
        | Action::Indexes
        | Action::Engine
        | Action::EngineSetting
        | Action::Setting
        | Action::Choice(_)
        | Action::Tags
        | Action::SharedWith
        | Action::ForwardQuery
        | Action::Node
        | Action::Certificate
        | Action::JsonSetting => true,
    }
}

fn directive_item(command: &Command, range: Range) -> CompletionItem {
    // A command that only works as a block is inserted with its `>`, so that what the user
    // accepts is already valid.
    let insert = match command.block {
        BlockRule::Required => format!("{} >", command.name),
        BlockRule::Refused | BlockRule::Allowed => command.name.to_owned(),
    };
    CompletionItem {
        label: command.name.to_owned(),
        kind: Some(CompletionItemKind::KEYWORD),
        detail: Some(describe(command).to_owned()),
        text_edit: Some(CompletionTextEdit::Edit(TextEdit {
            range,
            new_text: insert,
        })),
        ..CompletionItem::default()
    }
}

/// One line on what a command is, for the completion list.
fn describe(command: &Command) -> &'static str {
    match command.action {
        Action::Description => "description (line or block)",
        Action::Token => "TOKEN <name> <permission>: a static access token",
        Action::Schema => "column list (block)",
        Action::Indexes => "data-skipping indexes (block)",
        Action::Engine => "table engine",
        Action::EngineSetting => "engine setting",
        Action::Setting => "setting",
        Action::Choice(_) => "setting with fixed values",
        Action::Tags => "tags",
        Action::SharedWith => "workspaces to share with",
        Action::ForwardQuery => "query that migrates existing rows (block)",
        Action::Sql => "the node's SQL (block)",
        Action::Node => "a new node",
        Action::NodeAttribute => "attribute of the current node",
        Action::Certificate => "certificate (line or block)",
        Action::JsonSetting => "JSON credentials",
        Action::Include => "include (not supported)",
        Action::Removed { .. } => "removed",
        Action::Deprecated => "deprecated, ignored",
    }
}

fn permission_item(permission: TokenPermission, scope: &Scope, range: Range) -> CompletionItem {
    let mut documentation = format!("Grants `{scope}`.");
    if let Some(quarantine) = scope.quarantine() {
        documentation.push_str(&format!(" Also grants read on `{quarantine}`."));
    }
    CompletionItem {
        label: permission.as_str().to_owned(),
        kind: Some(CompletionItemKind::ENUM_MEMBER),
        detail: Some(scope.to_string()),
        documentation: Some(Documentation::MarkupContent(lsp_types::MarkupContent {
            kind: lsp_types::MarkupKind::Markdown,
            value: documentation,
        })),
        text_edit: Some(CompletionTextEdit::Edit(TextEdit {
            range,
            new_text: permission.as_str().to_owned(),
        })),
        ..CompletionItem::default()
    }
}

/// Where the cursor is, reading the lines above it as the grammar does: a `CMD >` line opens a
/// block, which runs until a line that starts in column 0 with a command of this file kind.
fn place(file: &ProjectFile, line: u32, cursor: usize) -> Place {
    let text: &str = &file.text;
    let index = file.line_index();
    let Some(line_start) = index.line_start(line as usize) else {
        return Place::Nothing;
    };
    let mut in_block = false;
    let mut after_node = false;
    for above in 0..line as usize {
        let start = index.line_start(above).unwrap_or(text.len());
        let end = index.line_start(above + 1).unwrap_or(text.len());
        let words = Words::of(text[start..end].trim_end_matches(['\n', '\r']));
        if in_block {
            if !words.closes_block(file.kind) {
                continue;
            }
            in_block = false;
        }
        let Some(first) = words.first else { continue };
        if words.opens_block {
            in_block = true;
        }
        if file.kind == DatafileKind::Pipe
            && lookup(file.kind, first).is_some_and(|c| c.action == Action::Node)
        {
            after_node = true;
        }
    }
    let before = &text[line_start..cursor];
    let indented = before.starts_with([' ', '\t']);
    // An indented line in a block is block text (SQL, a schema...); a line in column 0 may close
    // the block with a command, so commands are offered there.
    if in_block && indented {
        return Place::Nothing;
    }
    let trimmed = before.trim_start();
    let is_word_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if trimmed.chars().all(is_word_char) {
        return Place::Directive {
            word_start: cursor - trimmed.len(),
            after_node,
        };
    }
    if let Some(partial) = after_token_name(trimmed)
        && partial.chars().all(|c| c.is_ascii_alphabetic())
    {
        return Place::Permission {
            word_start: cursor - partial.len(),
        };
    }
    Place::Nothing
}

/// For `TOKEN <name> <partial>` (the name bare or quoted, one or more spaces after it), the
/// partial permission.
fn after_token_name(line: &str) -> Option<&str> {
    let (command, rest) = line.split_once([' ', '\t'])?;
    if !command.eq_ignore_ascii_case("TOKEN") {
        return None;
    }
    let rest = rest.trim_start_matches([' ', '\t']);
    let after_name = match rest.chars().next()? {
        quote @ ('"' | '\'') => {
            let close = rest[1..].find(quote)? + 1;
            &rest[close + 1..]
        }
        _ => &rest[rest.find([' ', '\t'])?..],
    };
    let partial = after_name.trim_start_matches([' ', '\t']);
    // At least one space must separate the name from the permission.
    (partial.len() < after_name.len()).then_some(partial)
}

/// The first words of a line, as far as blocks care.
struct Words<'a> {
    /// The first word; `None` for blank and comment lines.
    first: Option<&'a str>,
    /// The line starts in column 0.
    in_column_zero: bool,
    /// The second word is exactly `>`.
    opens_block: bool,
}

impl<'a> Words<'a> {
    fn of(line: &'a str) -> Words<'a> {
        let code = line.split('#').next().unwrap_or("");
        let mut words = code.split([' ', '\t']).filter(|w| !w.is_empty());
        let first = words.next();
        Words {
            first,
            in_column_zero: !line.starts_with([' ', '\t']),
            opens_block: first.is_some() && words.next() == Some(">"),
        }
    }

    fn closes_block(&self, kind: DatafileKind) -> bool {
        self.in_column_zero && self.first.is_some_and(|w| lookup(kind, w).is_some())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::syntax::Secrets;

    fn file(kind: DatafileKind, text: &str) -> ProjectFile {
        let path = format!("r.{kind}");
        ProjectFile::compile(path, kind, Arc::from(text), &Secrets::new())
    }

    /// The place at the `|` in `text`.
    fn place_at(kind: DatafileKind, text: &str) -> Place {
        let cursor = text.find('|').expect("a cursor");
        let text = text.replace('|', "");
        let file = file(kind, &text);
        let line = file.line_index().line_of(cursor) as u32;
        place(&file, line, cursor)
    }

    #[test]
    fn blocks_end_at_a_column_zero_command() {
        let pipe = DatafileKind::Pipe;
        assert_eq!(
            place_at(pipe, "NODE n\nSQL >\n    SELECT 1\n    |"),
            Place::Nothing
        );
        assert_eq!(
            place_at(pipe, "NODE n\nSQL >\n    SELECT 1\nTYPE endpoint\n|"),
            Place::Directive {
                word_start: 40,
                after_node: true
            }
        );
        // A column-0 word that is no command stays in the block, and an indented TOKEN is SQL.
        assert_eq!(
            place_at(pipe, "NODE n\nSQL >\nFROM x\n    TOKEN a |"),
            Place::Nothing
        );
        assert_eq!(
            place_at(pipe, "DESCRIPTION >\n    x\n  TO|"),
            Place::Nothing
        );
        assert_eq!(
            place_at(pipe, "DESCRIPTION x\n  TO|"),
            Place::Directive {
                word_start: 16,
                after_node: false
            }
        );
    }

    #[test]
    fn permissions_follow_a_bare_or_quoted_name() {
        let ds = DatafileKind::Datasource;
        assert_eq!(
            place_at(ds, "TOKEN app |"),
            Place::Permission { word_start: 10 }
        );
        assert_eq!(
            place_at(ds, "token \"read api\" AP|"),
            Place::Permission { word_start: 17 }
        );
        assert_eq!(place_at(ds, "TOKEN app|"), Place::Nothing);
        assert_eq!(place_at(ds, "TOKEN |"), Place::Nothing);
        assert_eq!(place_at(ds, "TOKEN \"a b|"), Place::Nothing);
        assert_eq!(place_at(ds, "TOKEN a READ |"), Place::Nothing);
    }

    #[test]
    fn offered_commands_follow_the_tables() {
        let pipe = file(DatafileKind::Pipe, "\nNODE n\n\n");
        let labels = |line: u32| -> Vec<String> {
            completion(&pipe, Position { line, character: 0 })
                .into_iter()
                .map(|i| i.label)
                .collect()
        };
        let before = labels(0);
        let after = labels(2);
        assert!(before.contains(&"NODE".to_owned()) && before.contains(&"TOKEN".to_owned()));
        assert!(!before.contains(&"SQL".to_owned()) && !before.contains(&"TYPE".to_owned()));
        assert!(after.contains(&"SQL".to_owned()) && after.contains(&"TYPE".to_owned()));
        for rejected in ["INCLUDE", "VERSION", "EXPORT_SERVICE"] {
            assert!(!after.contains(&rejected.to_owned()), "{rejected}");
        }
        let connection = file(DatafileKind::Connection, "");
        let items = completion(&connection, Position::default());
        assert!(items.iter().all(|i| i.label != "TOKEN"));
        assert!(items.iter().any(|i| i.label == "KAFKA_BOOTSTRAP_SERVERS"));
    }
}
