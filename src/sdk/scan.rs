//! What one SDK source file says, read from its tokens: the tokens it declares
//! (`defineToken("x")`), the resources it defines (`defineDatasource("x", {...})`) and whether
//! the SDK generates them, the constants it binds, what it imports and what it exports.

use std::collections::{BTreeMap, BTreeSet};

use super::Language;
use super::imports::{self, Import};
use super::lex::{Tok, Token, lex};
use crate::model::DatafileKind;

/// The functions that define resources, in both SDKs, and the kind each makes.
const RESOURCE_FUNCTIONS: &[(&str, DatafileKind)] = &[
    ("defineDatasource", DatafileKind::Datasource),
    ("define_datasource", DatafileKind::Datasource),
    ("definePipe", DatafileKind::Pipe),
    ("define_pipe", DatafileKind::Pipe),
    ("defineEndpoint", DatafileKind::Pipe),
    ("define_endpoint", DatafileKind::Pipe),
    ("defineMaterializedView", DatafileKind::Pipe),
    ("define_materialized_view", DatafileKind::Pipe),
    ("defineCopyPipe", DatafileKind::Pipe),
    ("define_copy_pipe", DatafileKind::Pipe),
    ("defineSinkPipe", DatafileKind::Pipe),
    ("define_sink_pipe", DatafileKind::Pipe),
    ("defineKafkaConnection", DatafileKind::Connection),
    ("define_kafka_connection", DatafileKind::Connection),
    ("defineS3Connection", DatafileKind::Connection),
    ("define_s3_connection", DatafileKind::Connection),
    ("defineGCSConnection", DatafileKind::Connection),
    ("define_gcs_connection", DatafileKind::Connection),
    ("defineDynamoDBConnection", DatafileKind::Connection),
    ("define_dynamodb_connection", DatafileKind::Connection),
];

const TOKEN_FUNCTIONS: &[&str] = &["defineToken", "define_token"];

/// `defineToken("name")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenDecl {
    /// The token's name.
    pub(crate) name: String,
    /// The constant (or object key) it is bound to, if any.
    pub(crate) binding: Option<String>,
    /// The line of the call.
    pub(crate) line: u32,
}

/// `defineDatasource("name", {...})` and the other resource functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResourceDef {
    pub(crate) kind: DatafileKind,
    pub(crate) name: String,
    /// The line of the function name.
    pub(crate) line: u32,
    /// Whether the SDK generates it when its file is included: an exported constant in
    /// TypeScript, a module-level name not starting with `_` in Python.
    pub(crate) generated: bool,
    /// The token index of the options object's `{`.
    pub(crate) options: Option<usize>,
}

/// Everything the tracer needs from one file.
#[derive(Debug, Default)]
pub(crate) struct Facts {
    pub(crate) tokens: Vec<Token>,
    /// For each opening bracket, the index of its closing one (the end when unclosed).
    pub(crate) close: Vec<usize>,
    pub(crate) decls: Vec<TokenDecl>,
    pub(crate) resources: Vec<ResourceDef>,
    /// Constants bound to an object, array or string: name → the value's first token, the
    /// least nested binding of a name winning.
    pub(crate) bindings: BTreeMap<String, usize>,
    /// Local name → where it comes from.
    pub(crate) imports: BTreeMap<String, Import>,
    /// Every module imported, in file order, for following imports.
    pub(crate) modules: Vec<String>,
    /// Names listed in `export { ... }`.
    pub(crate) exported: BTreeSet<String>,
}

impl Facts {
    /// Reads a file's text.
    pub(crate) fn scan(text: &str, language: Language) -> Facts {
        let tokens = lex(text, language);
        let close = closing_brackets(&tokens);
        let mut facts = Facts {
            tokens,
            close,
            ..Facts::default()
        };
        let found = imports::scan(&facts.tokens, &facts.close, language);
        facts.imports = found.names;
        facts.modules = found.modules;
        facts.exported = found.exported;
        let mut binding_depth: BTreeMap<String, u32> = BTreeMap::new();
        for i in 0..facts.tokens.len() {
            if let Some((name, _)) = facts.assigned_name(i, language) {
                let tok = &facts.tokens[i];
                let value = matches!(tok.tok, Tok::Str(_) | Tok::Punct('{') | Tok::Punct('['));
                let shallower = binding_depth.get(&name).is_none_or(|d| tok.depth < *d);
                if value && shallower {
                    binding_depth.insert(name.clone(), tok.depth);
                    facts.bindings.insert(name, i);
                }
            }
            let Some(word) = facts.tokens[i].word() else {
                continue;
            };
            if !facts.is_call(i) {
                continue;
            }
            if TOKEN_FUNCTIONS.contains(&word) {
                if let Some(name) = facts.first_argument_string(i + 1) {
                    let binding = facts
                        .assigned_name(i, language)
                        .map(|(n, _)| n)
                        .or_else(|| {
                            // `reader: defineToken("reader")` inside an object of tokens.
                            (i >= 2 && facts.tokens[i - 1].is_punct(':'))
                                .then(|| key_name(&facts.tokens[i - 2]))
                                .flatten()
                        });
                    let line = facts.tokens[i].line;
                    facts.decls.push(TokenDecl {
                        name,
                        binding,
                        line,
                    });
                }
            } else if let Some((_, kind)) = RESOURCE_FUNCTIONS.iter().find(|(f, _)| *f == word)
                && let Some(def) = facts.resource(i, *kind, language)
            {
                facts.resources.push(def);
            }
        }
        facts
    }

    /// Whether `tokens[i]` is a function name being called (not defined or imported).
    fn is_call(&self, i: usize) -> bool {
        let called = self.tokens.get(i + 1).is_some_and(|t| t.is_punct('('));
        let defined = i > 0
            && matches!(
                self.tokens[i - 1].word(),
                Some("function" | "def" | "async")
            );
        called && !defined
    }

    /// The string value of the first argument of the call whose `(` is at `open`: a literal, or
    /// a constant bound to one.
    pub(crate) fn first_argument_string(&self, open: usize) -> Option<String> {
        let (start, end) = *self.elements(open).first()?;
        if end != start + 1 {
            return None;
        }
        self.string_value(start)
    }

    /// The string at `i`, or the string constant the name at `i` is bound to.
    pub(crate) fn string_value(&self, i: usize) -> Option<String> {
        match &self.tokens.get(i)?.tok {
            Tok::Str(s) => Some(s.clone()),
            Tok::Word(w) => self
                .bindings
                .get(w)
                .and_then(|&v| self.tokens[v].string().map(str::to_owned)),
            _ => None,
        }
    }

    /// The comma-separated elements inside the bracket at `open`, as token ranges.
    pub(crate) fn elements(&self, open: usize) -> Vec<(usize, usize)> {
        let Some(&end) = self.close.get(open) else {
            return Vec::new();
        };
        let depth = self.tokens[open].depth + 1;
        let mut out = Vec::new();
        let mut start = open + 1;
        for i in open + 1..end {
            if self.tokens[i].depth == depth && self.tokens[i].is_punct(',') {
                if i > start {
                    out.push((start, i));
                }
                start = i + 1;
            }
        }
        if end > start {
            out.push((start, end));
        }
        out
    }

    /// The fields of the object literal whose `{` is at `open`: key, the key's token index and
    /// the value's range. A shorthand `{ tokens }` is its own value; a spread's key is `...`.
    pub(crate) fn fields(&self, open: usize) -> Vec<(String, usize, (usize, usize))> {
        let mut out = Vec::new();
        for (start, end) in self.elements(open) {
            let first = &self.tokens[start];
            if first.tok == Tok::Spread && start + 1 < end {
                out.push(("...".to_owned(), start, (start + 1, end)));
            } else if end > start + 1 && self.tokens[start + 1].is_punct(':') {
                if let Some(key) = key_name(first) {
                    out.push((key, start, (start + 2, end)));
                }
            } else if end == start + 1
                && let Some(key) = first.word()
            {
                out.push((key.to_owned(), start, (start, end)));
            }
        }
        out
    }

    /// When the value starting at `i` is assigned to a name (`const x = `, `x = `,
    /// `x: Type = `), that name and the token index of the name.
    fn assigned_name(&self, i: usize, language: Language) -> Option<(String, usize)> {
        if i < 2 || !self.tokens[i - 1].is_punct('=') {
            return None;
        }
        let equals = &self.tokens[i - 1];
        let mut k = i - 2;
        loop {
            let tok = &self.tokens[k];
            if tok.line != equals.line || tok.depth != equals.depth {
                break;
            }
            if language == Language::TypeScript
                && matches!(tok.word(), Some("const" | "let" | "var"))
            {
                let name = self.tokens.get(k + 1)?.word()?;
                return Some((name.to_owned(), k + 1));
            }
            if language == Language::Python && tok.line_start {
                let name = tok.word()?;
                return Some((name.to_owned(), k));
            }
            if k == 0 {
                break;
            }
            k -= 1;
        }
        // A plain `x = value` (or `obj.x = value`): the name right before `=`.
        let name = self.tokens[i - 2].word()?;
        Some((name.to_owned(), i - 2))
    }

    /// The resource defined by the call to a resource function at `i`.
    fn resource(&self, i: usize, kind: DatafileKind, language: Language) -> Option<ResourceDef> {
        let open = i + 1;
        let args = self.elements(open);
        let (name_start, name_end) = *args.first()?;
        if name_end != name_start + 1 {
            return None;
        }
        let name = self.string_value(name_start)?;
        let options = args
            .get(1)
            .and_then(|&(start, _)| match &self.tokens[start].tok {
                Tok::Punct('{') => Some(start),
                Tok::Word(w) => self
                    .bindings
                    .get(w)
                    .copied()
                    .filter(|&v| self.tokens[v].is_punct('{')),
                _ => None,
            });
        Some(ResourceDef {
            kind,
            name,
            line: self.tokens[i].line,
            generated: self.generated(i, language),
            options,
        })
    }

    /// Whether the SDK generates the resource defined at `i` when the file is included: it
    /// reads the module's exports (TypeScript) or its public globals (Python).
    fn generated(&self, i: usize, language: Language) -> bool {
        let before = |n: usize| i.checked_sub(n).map(|k| &self.tokens[k]);
        if language == Language::TypeScript
            && before(1).is_some_and(|t| t.is_word("default"))
            && before(2).is_some_and(|t| t.is_word("export"))
        {
            return true;
        }
        let Some((name, at)) = self.assigned_name(i, language) else {
            return false;
        };
        match language {
            Language::TypeScript => {
                let keyword = at.checked_sub(1).map(|k| &self.tokens[k]);
                let export = at.checked_sub(2).map(|k| &self.tokens[k]);
                (keyword.is_some_and(|t| matches!(t.word(), Some("const" | "let" | "var")))
                    && export.is_some_and(|t| t.is_word("export")))
                    || self.exported.contains(&name)
            }
            Language::Python => {
                let tok = &self.tokens[at];
                tok.depth == 0 && tok.column == 0 && tok.line_start && !name.starts_with('_')
            }
        }
    }
}

/// An object key: a name or a string.
fn key_name(tok: &Token) -> Option<String> {
    match &tok.tok {
        Tok::Word(w) => Some(w.clone()),
        Tok::Str(s) => Some(s.clone()),
        _ => None,
    }
}

/// For each opening bracket, the index of the bracket that closes it.
fn closing_brackets(tokens: &[Token]) -> Vec<usize> {
    let mut close = vec![tokens.len(); tokens.len()];
    let mut open: Vec<usize> = Vec::new();
    for (i, tok) in tokens.iter().enumerate() {
        match tok.tok {
            Tok::Punct('(' | '[' | '{') => open.push(i),
            Tok::Punct(')' | ']' | '}') => {
                if let Some(o) = open.pop() {
                    close[o] = i;
                }
            }
            _ => {}
        }
    }
    close
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decls(facts: &Facts) -> Vec<(String, Option<String>, u32)> {
        facts
            .decls
            .iter()
            .map(|d| (d.name.clone(), d.binding.clone(), d.line))
            .collect()
    }

    /// `local=module:name` for each import.
    fn imports(facts: &Facts) -> Vec<String> {
        facts
            .imports
            .iter()
            .map(|(local, i)| format!("{local}={}:{}", i.module, i.name))
            .collect()
    }

    fn resources(facts: &Facts) -> Vec<(DatafileKind, String, u32, bool, bool)> {
        facts
            .resources
            .iter()
            .map(|r| {
                (
                    r.kind,
                    r.name.clone(),
                    r.line,
                    r.generated,
                    r.options.is_some(),
                )
            })
            .collect()
    }

    #[test]
    fn typescript_declarations_resources_and_exports() {
        let text = r#"import { defineToken, defineDatasource as dd } from "@tinybirdco/sdk";
import * as shared from "../shared/tokens.js";
import base, { other as renamed, type T } from './base';
export { draft, kept as alias } from "./more";
const NAME = 'orders';
export const reader: TokenDefinition = defineToken("reader");
const all = { writer: defineToken(`writer`) };
export const orders = defineDatasource(NAME, { tokens: [] });
const draft = defineDatasource("draft", {});
export default defineEndpoint(
  "api",
  options,
);
function defineDatasource(x) {}
// defineDatasource("commented", {})
const sql = "defineDatasource('in_a_string', {})";
export { draft };
const x = require("./req"), y = import("./dyn");
"#;
        let facts = Facts::scan(text, Language::TypeScript);
        assert_eq!(
            decls(&facts),
            vec![
                ("reader".into(), Some("reader".into()), 6),
                ("writer".into(), Some("writer".into()), 7),
            ]
        );
        assert_eq!(
            resources(&facts),
            vec![
                (DatafileKind::Datasource, "orders".into(), 8, true, true),
                (DatafileKind::Datasource, "draft".into(), 9, true, true),
                (DatafileKind::Pipe, "api".into(), 10, true, false),
            ]
        );
        assert_eq!(
            imports(&facts),
            vec![
                "alias=./more:kept",
                "base=./base:default",
                "dd=@tinybirdco/sdk:defineDatasource",
                "defineToken=@tinybirdco/sdk:defineToken",
                "draft=./more:draft",
                "renamed=./base:other",
                "shared=../shared/tokens.js:*",
            ]
        );
        assert_eq!(
            facts.modules,
            vec![
                "@tinybirdco/sdk",
                "../shared/tokens.js",
                "./base",
                "./more",
                "./req",
                "./dyn"
            ]
        );
        assert!(facts.exported.contains("draft") && facts.exported.contains("alias"));
    }

    #[test]
    fn python_declarations_resources_and_imports() {
        let text = r#"from tinybird_sdk import define_datasource, define_token
from shared.tokens import (
    reader,
    writer as w,
)
import lib.more as more, other

reader2: TokenDefinition = define_token("reader2")
_hidden = define_datasource("hidden", {"tokens": []})
events = define_datasource(
    'events',
    {
        "tokens": [],
    },
)

def build():
    inner = define_datasource("inner", {})
# define_token("commented")
"#;
        let facts = Facts::scan(text, Language::Python);
        assert_eq!(
            decls(&facts),
            vec![("reader2".into(), Some("reader2".into()), 8)]
        );
        assert_eq!(
            resources(&facts),
            vec![
                (DatafileKind::Datasource, "hidden".into(), 9, false, true),
                (DatafileKind::Datasource, "events".into(), 10, true, true),
                (DatafileKind::Datasource, "inner".into(), 18, false, true),
            ]
        );
        assert_eq!(
            imports(&facts),
            vec![
                "define_datasource=tinybird_sdk:define_datasource",
                "define_token=tinybird_sdk:define_token",
                "more=lib.more:*",
                "reader=shared.tokens:reader",
                "w=shared.tokens:writer",
            ]
        );
        assert!(facts.modules.contains(&"shared.tokens".to_owned()));
        assert!(facts.modules.contains(&"other".to_owned()));
    }

    #[test]
    fn elements_and_fields() {
        let facts = Facts::scan(
            r#"x = { token: reader, "scope": 'READ', tokens, ...rest, f(a, b): 1 }"#,
            Language::TypeScript,
        );
        let open = 2;
        let keys: Vec<_> = facts.fields(open).into_iter().map(|(k, _, _)| k).collect();
        assert_eq!(keys, vec!["token", "scope", "tokens", "..."]);
        assert_eq!(facts.elements(open).len(), 5);
    }
}
