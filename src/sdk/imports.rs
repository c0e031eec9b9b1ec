//! What a source file imports and exports, read from its tokens: the names it imports and
//! from which module, every module it loads (to follow them), and the names its `export { }`
//! lists make public.

use std::collections::{BTreeMap, BTreeSet};

use super::Language;
use super::lex::{Tok, Token};

/// A name imported from another module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Import {
    /// The module as written: `./tokens`, `lib.tokens`, `.tokens`.
    pub(crate) module: String,
    /// The name in that module (`default` and `*` for default and namespace imports).
    pub(crate) name: String,
}

/// A file's imports and exports.
#[derive(Debug, Default)]
pub(crate) struct Imports {
    /// Local name → where it comes from.
    pub(crate) names: BTreeMap<String, Import>,
    /// Every module loaded, in file order.
    pub(crate) modules: Vec<String>,
    /// Names listed in `export { ... }` (TypeScript).
    pub(crate) exported: BTreeSet<String>,
}

/// The imports of a file's tokens; `close` maps each opening bracket to its closing one.
pub(crate) fn scan(tokens: &[Token], close: &[usize], language: Language) -> Imports {
    match language {
        Language::TypeScript => scan_js(tokens, close),
        Language::Python => scan_python(tokens),
    }
}

/// `import { a as b } from "m"`, `import x from "m"`, `import * as ns from "m"`,
/// `import "m"`, `export { a } from "m"`, `export { a, b as c }`, `import("m")`,
/// `require("m")`.
fn scan_js(tokens: &[Token], close: &[usize]) -> Imports {
    let mut found = Imports::default();
    let mut i = 0;
    while i < tokens.len() {
        let word = tokens[i].word();
        let statement = matches!(word, Some("import" | "export")) && tokens[i].depth == 0;
        if matches!(word, Some("import" | "require"))
            && tokens.get(i + 1).is_some_and(|t| t.is_punct('('))
        {
            if let Some(module) = tokens.get(i + 2).and_then(Token::string) {
                found.modules.push(module.to_owned());
            }
            i += 1;
            continue;
        }
        if !statement {
            i += 1;
            continue;
        }
        // The statement runs to its module string, or to the end of an `export { }` list.
        let mut names: Vec<(String, String)> = Vec::new();
        let mut j = i + 1;
        let mut module = None;
        while j < tokens.len() {
            match &tokens[j].tok {
                Tok::Str(s) => {
                    module = Some(s.clone());
                    break;
                }
                Tok::Punct('{') => {
                    let end = close[j];
                    let list = &tokens[j + 1..end.min(tokens.len())];
                    for part in list.split(|t| t.is_punct(',')) {
                        let words: Vec<&str> = part.iter().filter_map(Token::word).collect();
                        // `type T` imports a type, no value.
                        match words.as_slice() {
                            [name] => names.push(((*name).into(), (*name).into())),
                            [name, "as", local] => names.push(((*name).into(), (*local).into())),
                            _ => {}
                        }
                    }
                    j = end + 1;
                    if !tokens.get(j).is_some_and(|t| t.is_word("from")) {
                        break;
                    }
                }
                Tok::Spread => j += 1,
                Tok::Word(w) if w == "from" => j += 1,
                Tok::Word(w) if w == "as" && tokens[j - 1].tok == Tok::Other => {
                    // `* as ns`
                    if let Some(local) = tokens.get(j + 1).and_then(Token::word) {
                        names.push(("*".into(), local.into()));
                    }
                    j += 2;
                }
                Tok::Word(w) if word == Some("import") && j == i + 1 && w != "type" => {
                    names.push(("default".into(), w.clone()));
                    j += 1;
                }
                Tok::Punct(',') | Tok::Other | Tok::Word(_)
                    if j == i + 1 || tokens[j].line == tokens[i].line =>
                {
                    j += 1
                }
                _ => break,
            }
        }
        let is_export = word == Some("export");
        match module {
            Some(module) => {
                found.modules.push(module.clone());
                for (name, local) in names {
                    if is_export {
                        found.exported.insert(local.clone());
                    }
                    found.names.insert(
                        local,
                        Import {
                            module: module.clone(),
                            name,
                        },
                    );
                }
            }
            None if is_export => {
                found
                    .exported
                    .extend(names.into_iter().map(|(name, _)| name));
            }
            None => {}
        }
        i = j.max(i + 1);
    }
    found
}

/// `from a.b import c as d, e`, `from a.b import (c, d)`, `import a.b as x`.
fn scan_python(tokens: &[Token]) -> Imports {
    let mut found = Imports::default();
    for (i, tok) in tokens.iter().enumerate() {
        if !tok.line_start {
            continue;
        }
        let line = tok.line;
        // The statement's words, across the lines a parenthesised list spans.
        let end = tokens[i..]
            .iter()
            .position(|t| t.line_start && t.line != line && t.depth == 0)
            .map_or(tokens.len(), |p| i + p);
        let statement = &tokens[i..end];
        let dotted = |part: &[Token]| -> String {
            part.iter()
                .map(|t| match &t.tok {
                    Tok::Word(w) => w.as_str(),
                    Tok::Punct('.') => ".",
                    _ => "",
                })
                .collect()
        };
        if tok.is_word("from") {
            let Some(at) = statement.iter().position(|t| t.is_word("import")) else {
                continue;
            };
            let module = dotted(&statement[1..at]);
            found.modules.push(module.clone());
            for part in statement[at + 1..].split(|t| t.is_punct(',')) {
                let words: Vec<&str> = part.iter().filter_map(Token::word).collect();
                let (name, local) = match words.as_slice() {
                    [name] => (*name, *name),
                    [name, "as", local] => (*name, *local),
                    _ => continue,
                };
                // `from pkg import tokens` may name a module rather than a value.
                found.modules.push(format!("{module}.{name}"));
                found.names.insert(
                    local.to_owned(),
                    Import {
                        module: module.clone(),
                        name: name.to_owned(),
                    },
                );
            }
        } else if tok.is_word("import") {
            for part in statement[1..].split(|t| t.is_punct(',')) {
                let at = part
                    .iter()
                    .position(|t| t.is_word("as"))
                    .unwrap_or(part.len());
                let module = dotted(&part[..at]);
                if let Some(local) = part.get(at + 1).and_then(Token::word) {
                    found.names.insert(
                        local.to_owned(),
                        Import {
                            module: module.clone(),
                            name: "*".to_owned(),
                        },
                    );
                }
                found.modules.push(module);
            }
        }
    }
    found
}
