//! Tracing a generated `TOKEN <name> <scope>` line back to the SDK source: the `tokens` entry
//! that attaches the token to the resource, and the `defineToken("name")` that declares it.

use std::fmt;

use super::SdkProject;
use super::lex::Tok;
use super::scan::{Facts, TokenDecl};
use super::sources::{self, SourceFile};
use crate::model::{DatafileKind, TokenPermission};

/// Bound on following constants and imports from one to the next.
const MAX_HOPS: usize = 8;

/// A line in a project file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceLocation {
    /// Relative to the project root (the config's folder), `/`-separated; `../` when the file
    /// is outside it.
    pub(crate) path: String,
    /// 1-based.
    pub(crate) line: u32,
}

/// `path:line`.
impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.path, self.line)
    }
}

/// Where a token's scope on a resource comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The `tokens` entry that attaches it: `{ token: reader, scope: "READ" }`, a constant such
    /// entry is bound to (at the line that uses it), a legacy `{ name, permissions }` entry, or
    /// the `TOKEN` line of an included raw datafile.
    Entry(SourceLocation),
    /// No entry was found (the list is built by code tokenplan does not follow): the resource's
    /// definition.
    Resource(SourceLocation),
    /// Not even the resource's definition was found.
    Unknown,
}

impl Origin {
    /// True when the entry itself was found.
    pub fn is_traced(&self) -> bool {
        matches!(self, Origin::Entry(_))
    }
}

/// Where one (token, resource, scope) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenTrace {
    /// Where the scope is attached.
    pub origin: Origin,
    /// Where the token is declared: its `defineToken("name")` / `define_token("name")`, or the
    /// legacy entry that names it inline.
    pub(crate) declared: Option<SourceLocation>,
}

/// An SDK project's source files, scanned once, to trace many tokens.
#[derive(Debug)]
pub struct Sources {
    files: Vec<SourceFile>,
}

/// A `tokens` list entry, resolved as far as the source allows.
#[derive(Debug)]
struct Entry {
    /// Where it attaches the token: the entry, or the line using a constant.
    line: u32,
    /// The file the entry's object is written in, where its names resolve.
    file: usize,
    token: TokenRef,
    scopes: Scopes,
}

#[derive(Debug)]
enum TokenRef {
    /// `token: reader`: a name bound to a `defineToken` somewhere.
    Binding(String),
    /// `token: defineToken("x")`, or a legacy `name: "x"`: named and declared right here.
    Inline { name: String, line: u32 },
}

#[derive(Debug)]
enum Scopes {
    /// `scope: "READ"`.
    One(String),
    /// Legacy `permissions: [...]` (or `scopes`, which pipes ignore: they always get READ).
    Legacy(Vec<String>),
    /// Unknown: a helper call such as `read(reader)`.
    Any,
}

impl Sources {
    /// Reads the project's definitions: the files its config's `include` names and the local
    /// modules they import. Never fails: what cannot be read traces to nothing.
    pub fn scan(project: &SdkProject) -> Sources {
        let config =
            std::path::absolute(&project.config).unwrap_or_else(|_| project.config.clone());
        Sources {
            files: sources::collect(project.language, &config),
        }
    }

    /// The paths of the files read, relative to the project root, in reading order.
    #[cfg(test)]
    pub(crate) fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.iter().map(|f| f.path.as_str())
    }

    /// Where the generated `TOKEN <token> <permission>` of the `kind` resource `resource` comes
    /// from.
    pub fn locate(
        &self,
        kind: DatafileKind,
        resource: &str,
        token: &str,
        permission: TokenPermission,
    ) -> TokenTrace {
        let candidates = self.definitions(kind, resource);
        for &(f, _, options) in &candidates {
            let Some(options) = options else { continue };
            for entry in self.entries(f, options) {
                let Some((name, declared)) = self.token_of(&entry) else {
                    continue;
                };
                if name == token && entry.scopes.allow(kind, permission) {
                    return TokenTrace {
                        origin: Origin::Entry(self.location(f, entry.line)),
                        declared: declared.or_else(|| self.declared_by_name(token)),
                    };
                }
            }
        }
        if let Some(&(f, line, _)) = candidates.first() {
            return TokenTrace {
                origin: Origin::Resource(self.location(f, line)),
                declared: self.declared_by_name(token),
            };
        }
        self.locate_in_datafile(kind, resource, token, permission)
            .unwrap_or_else(|| TokenTrace {
                origin: Origin::Unknown,
                declared: self.declared_by_name(token),
            })
    }

    /// Where the `kind` resource `resource` is defined (`defineDatasource("events", ...)`), or
    /// its raw datafile when an `include` names one; `None` when neither is found.
    pub(crate) fn definition(&self, kind: DatafileKind, resource: &str) -> Option<SourceLocation> {
        if let Some(&(f, line, _)) = self.definitions(kind, resource).first() {
            return Some(self.location(f, line));
        }
        let file = self.files.iter().find(|f| {
            let name = f.path.rsplit('/').next().unwrap_or(&f.path);
            f.is_datafile() && name == format!("{resource}.{}", kind.as_str())
        })?;
        Some(SourceLocation {
            path: file.path.clone(),
            line: 1,
        })
    }

    /// The definitions of a resource as (file, line, options object), the likeliest first: the
    /// SDK generates exported definitions of included files.
    fn definitions(&self, kind: DatafileKind, resource: &str) -> Vec<(usize, u32, Option<usize>)> {
        let mut candidates: Vec<(usize, u8, u32, Option<usize>)> = Vec::new();
        for (f, file) in self.files.iter().enumerate() {
            for def in &file.facts.resources {
                if def.kind == kind && def.name == resource {
                    let rank = match (file.included, def.generated) {
                        (true, true) => 0,
                        (true, false) => 1,
                        (false, true) => 2,
                        (false, false) => 3,
                    };
                    candidates.push((f, rank, def.line, def.options));
                }
            }
        }
        candidates.sort_by(|a, b| {
            (a.1, &self.files[a.0].path, a.2).cmp(&(b.1, &self.files[b.0].path, b.2))
        });
        candidates
            .into_iter()
            .map(|(f, _, line, options)| (f, line, options))
            .collect()
    }

    fn location(&self, file: usize, line: u32) -> SourceLocation {
        SourceLocation {
            path: self.files[file].path.clone(),
            line,
        }
    }

    /// The entries of the `tokens` option of the options object at `options` in file `f`.
    fn entries(&self, f: usize, options: usize) -> Vec<Entry> {
        let facts = &self.files[f].facts;
        let Some((_, _, (start, end))) = facts
            .fields(options)
            .into_iter()
            .find(|(key, _, _)| key == "tokens")
        else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if facts.tokens[start].is_punct('[') {
            self.array_entries(f, start, None, 0, &mut out);
        } else if let Some(name) = last_word(facts, start, end) {
            // `tokens: SHARED` (or the shorthand `tokens`): a list bound elsewhere, attached here.
            if let Some((g, at)) = self.resolve_value(f, &name, 0)
                && self.files[g].facts.tokens[at].is_punct('[')
            {
                let line = facts.tokens[start].line;
                self.array_entries(g, at, Some(line), 0, &mut out);
            }
        }
        out
    }

    /// The entries of the list whose `[` is at `open` in file `g`, attached at `line` when it is
    /// a constant used elsewhere, else at each entry's own line.
    fn array_entries(
        &self,
        g: usize,
        open: usize,
        line: Option<u32>,
        hops: usize,
        out: &mut Vec<Entry>,
    ) {
        if hops > MAX_HOPS {
            return;
        }
        let facts = &self.files[g].facts;
        for (start, end) in facts.elements(open) {
            let first = &facts.tokens[start];
            let at = line.unwrap_or(first.line);
            match &first.tok {
                Tok::Punct('{') => out.extend(self.object_entry(g, start, at)),
                Tok::Spread => {
                    let Some(name) = last_word(facts, start + 1, end) else {
                        continue;
                    };
                    if let Some((h, value)) = self.resolve_value(g, &name, hops + 1)
                        && self.files[h].facts.tokens[value].is_punct('[')
                    {
                        self.array_entries(h, value, Some(at), hops + 1, out);
                    }
                }
                Tok::Word(_) if facts.tokens.get(start + 1).is_some_and(|t| t.is_punct('(')) => {
                    // A helper such as `read(reader)`: its name arguments may be tokens.
                    for (a, b) in facts.elements(start + 1) {
                        if let Some(word) = last_word(facts, a, b) {
                            out.push(Entry {
                                line: at,
                                file: g,
                                token: TokenRef::Binding(word),
                                scopes: Scopes::Any,
                            });
                        }
                    }
                }
                Tok::Word(_) => {
                    // A constant entry: `READER` or `entries.reader`.
                    let Some(name) = last_word(facts, start, end) else {
                        continue;
                    };
                    if let Some((h, value)) = self.resolve_value(g, &name, hops + 1)
                        && self.files[h].facts.tokens[value].is_punct('{')
                    {
                        out.extend(self.object_entry(h, value, at));
                    }
                }
                _ => {}
            }
        }
    }

    /// The entry written as the object at `open` in file `h`, attached at `line`.
    fn object_entry(&self, h: usize, open: usize, line: u32) -> Option<Entry> {
        let facts = &self.files[h].facts;
        let mut token = None;
        let mut name = None;
        let mut scope = None;
        let mut legacy: Option<Vec<String>> = None;
        for (key, _, (start, end)) in facts.fields(open) {
            match key.as_str() {
                "token" => token = token_ref(facts, start, end),
                "name" => {
                    name = facts
                        .string_value(start)
                        .map(|n| (n, facts.tokens[start].line))
                }
                "scope" => scope = facts.string_value(start),
                "permissions" | "scopes" if facts.tokens[start].is_punct('[') => {
                    let list = facts
                        .elements(start)
                        .into_iter()
                        .filter_map(|(a, _)| facts.string_value(a));
                    legacy.get_or_insert_with(Vec::new).extend(list);
                }
                _ => {}
            }
        }
        let (token, scopes) = match (token, name) {
            (Some(token), _) => (token, scope.map_or(Scopes::Any, Scopes::One)),
            (None, Some((name, line))) => (
                TokenRef::Inline { name, line },
                Scopes::Legacy(legacy.unwrap_or_default()),
            ),
            (None, None) => return None,
        };
        Some(Entry {
            line,
            file: h,
            token,
            scopes,
        })
    }

    /// The token an entry names, and where it is declared.
    fn token_of(&self, entry: &Entry) -> Option<(String, Option<SourceLocation>)> {
        match &entry.token {
            TokenRef::Inline { name, line } => {
                Some((name.clone(), Some(self.location(entry.file, *line))))
            }
            TokenRef::Binding(binding) => {
                let (f, decl) = self.resolve_token(entry.file, binding, 0)?;
                Some((decl.name.clone(), Some(self.location(f, decl.line))))
            }
        }
    }

    /// The `defineToken` a name in file `f` is bound to: in the file, through its imports, or
    /// anywhere in the project.
    fn resolve_token(&self, f: usize, name: &str, hops: usize) -> Option<(usize, &TokenDecl)> {
        let here = |g: usize, n: &str| {
            self.files[g]
                .facts
                .decls
                .iter()
                .find(|d| d.binding.as_deref() == Some(n))
                .map(|d| (g, d))
        };
        if let Some(found) = here(f, name) {
            return Some(found);
        }
        if let Some((g, imported)) = self.imported(f, name, hops)
            && let Some(found) = self.resolve_token(g, imported, hops + 1)
        {
            return Some(found);
        }
        (0..self.files.len()).find_map(|g| here(g, name))
    }

    /// The object, list or string a name in file `f` is bound to, as (file, token index).
    fn resolve_value(&self, f: usize, name: &str, hops: usize) -> Option<(usize, usize)> {
        let file = &self.files[f];
        if let Some(&at) = file.facts.bindings.get(name) {
            return Some((f, at));
        }
        if let Some((g, imported)) = self.imported(f, name, hops)
            && let Some(found) = self.resolve_value(g, imported, hops + 1)
        {
            return Some(found);
        }
        (0..self.files.len())
            .find_map(|g| self.files[g].facts.bindings.get(name).map(|&at| (g, at)))
    }

    /// The file and name a name in file `f` is imported from, when it is imported from a file
    /// of the project, within [`MAX_HOPS`].
    fn imported(&self, f: usize, name: &str, hops: usize) -> Option<(usize, &str)> {
        if hops >= MAX_HOPS {
            return None;
        }
        let file = &self.files[f];
        let import = file.facts.imports.get(name)?;
        let &g = file.resolved.get(&import.module)?;
        Some((g, import.name.as_str()))
    }

    /// The first `defineToken("token")` of the project, included files first.
    fn declared_by_name(&self, token: &str) -> Option<SourceLocation> {
        let mut found: Vec<(bool, &str, u32)> = self
            .files
            .iter()
            .flat_map(|file| {
                file.facts
                    .decls
                    .iter()
                    .filter(|d| d.name == token)
                    .map(move |d| (!file.included, file.path.as_str(), d.line))
            })
            .collect();
        found.sort();
        found.first().map(|&(_, path, line)| SourceLocation {
            path: path.to_owned(),
            line,
        })
    }

    /// The `TOKEN` line of an included raw datafile `<resource>.<kind>`.
    fn locate_in_datafile(
        &self,
        kind: DatafileKind,
        resource: &str,
        token: &str,
        permission: TokenPermission,
    ) -> Option<TokenTrace> {
        let file = self.files.iter().find(|f| {
            let name = f.path.rsplit('/').next().unwrap_or(&f.path);
            f.is_datafile() && name == format!("{resource}.{}", kind.as_str())
        })?;
        let found = file.text.lines().enumerate().find_map(|(n, line)| {
            let (name, scope) = token_line(line)?;
            (name == token && scope.eq_ignore_ascii_case(permission.as_str())).then_some(n + 1)
        });
        let at = |line: usize| SourceLocation {
            path: file.path.clone(),
            line: u32::try_from(line).unwrap_or(u32::MAX),
        };
        Some(match found {
            Some(line) => TokenTrace {
                origin: Origin::Entry(at(line)),
                declared: Some(at(line)),
            },
            None => TokenTrace {
                origin: Origin::Resource(at(1)),
                declared: self.declared_by_name(token),
            },
        })
    }
}

impl Scopes {
    /// Whether the entry grants `permission` on a resource of `kind`, as the generators read it.
    fn allow(&self, kind: DatafileKind, permission: TokenPermission) -> bool {
        match self {
            Scopes::One(scope) => scope.eq_ignore_ascii_case(permission.as_str()),
            // Pipes write every legacy entry as READ, whatever it lists.
            Scopes::Legacy(_) if kind == DatafileKind::Pipe => permission == TokenPermission::Read,
            Scopes::Legacy(list) => list
                .iter()
                .any(|s| s.eq_ignore_ascii_case(permission.as_str())),
            Scopes::Any => true,
        }
    }
}

/// The token value of an entry's `token` field: a name (the last of `a.b.reader`), or an inline
/// `defineToken("x")`.
fn token_ref(facts: &Facts, start: usize, end: usize) -> Option<TokenRef> {
    let first = facts.tokens.get(start)?;
    let call = facts.tokens.get(start + 1).is_some_and(|t| t.is_punct('('));
    if call && matches!(first.word(), Some("defineToken" | "define_token")) {
        let name = facts.first_argument_string(start + 1)?;
        return Some(TokenRef::Inline {
            name,
            line: first.line,
        });
    }
    last_word(facts, start, end).map(TokenRef::Binding)
}

/// The last name of a `a.b.c` chain in `start..end` (a trailing `as const` ignored), when the
/// range is only that.
fn last_word(facts: &Facts, start: usize, end: usize) -> Option<String> {
    let mut last = None;
    for tok in facts.tokens.get(start..end)? {
        match &tok.tok {
            Tok::Word(w) if w == "as" || w == "satisfies" => break,
            Tok::Word(w) => last = Some(w.clone()),
            Tok::Punct('.') => {}
            _ => return None,
        }
    }
    last
}

/// The name and scope of a `TOKEN name SCOPE` datafile line; the name may be quoted.
fn token_line(line: &str) -> Option<(String, &str)> {
    let line = line.trim_start();
    let (command, rest) = line.split_once(char::is_whitespace)?;
    if !command.eq_ignore_ascii_case("TOKEN") {
        return None;
    }
    let rest = rest.trim();
    let (name, scope) = match rest.chars().next()? {
        quote @ ('"' | '\'') => {
            let end = rest[1..].find(quote)? + 1;
            (rest[1..end].to_owned(), rest[end + 1..].trim())
        }
        _ => {
            let (name, scope) = rest.split_once(char::is_whitespace)?;
            (name.to_owned(), scope.trim())
        }
    };
    (!scope.is_empty() && !scope.contains(char::is_whitespace)).then_some((name, scope))
}

#[cfg(test)]
#[path = "trace_tests.rs"]
mod tests;
