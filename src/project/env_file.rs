//! `.env.local`, where `tb` keeps the values of `tb_secret(...)` for local work: read with the
//! rules of python-dotenv, which `tb local` loads it with, so that a secret renders to what
//! Tinybird renders it to.
//!
//! Values are never shown: a line that does not parse is reported by its number alone.

use crate::syntax::Secrets;

/// The file's name, in the project folder.
pub(crate) const ENV_FILE: &str = ".env.local";

/// What a `.env.local` holds.
#[derive(Default)]
pub(crate) struct EnvFile {
    /// `KEY` → value, for every key with a non-empty value (`tb` skips empty ones); the last
    /// assignment wins.
    pub(crate) values: Secrets,
    /// 1-based numbers of the lines that are not `KEY=value`, which are skipped.
    pub(crate) bad_lines: Vec<usize>,
}

/// Parses the text of a `.env` file. `env` looks up the process environment for `${NAME}`
/// references that the file itself does not define.
pub(crate) fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> EnvFile {
    let mut reader = Reader {
        text,
        at: 0,
        line: 1,
    };
    let mut bindings: Vec<(String, Option<String>)> = Vec::new();
    let mut bad_lines = Vec::new();
    while let Some(binding) = reader.binding() {
        match binding {
            Ok(Some(pair)) => bindings.push(pair),
            Ok(None) => {}
            Err(line) => bad_lines.push(line),
        }
    }
    // Interpolation sees the values assigned so far, then the environment, as python-dotenv's
    // `dotenv_values` does.
    let mut resolved: std::collections::BTreeMap<String, Option<String>> = Default::default();
    for (key, value) in bindings {
        let value = value.map(|v| {
            interpolate(&v, &|name| match resolved.get(name) {
                Some(known) => Some(known.clone().unwrap_or_default()),
                None => env(name),
            })
        });
        resolved.insert(key, value);
    }
    let values = resolved
        .into_iter()
        .filter_map(|(key, value)| value.filter(|v| !v.is_empty()).map(|v| (key, v)))
        .collect();
    EnvFile { values, bad_lines }
}

fn is_space(c: char) -> bool {
    c.is_whitespace() && c != '\n' && c != '\r'
}

struct Reader<'a> {
    text: &'a str,
    at: usize,
    line: usize,
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn advance(&mut self, len: usize) -> &'a str {
        let taken = &self.text[self.at..self.at + len];
        // `\r\n` is one line break, as are a lone `\r` and a lone `\n`.
        self.line += taken.matches('\n').count() + taken.matches('\r').count()
            - taken.matches("\r\n").count();
        self.at += len;
        taken
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let len = self.rest().find(|c| !keep(c)).unwrap_or(self.rest().len());
        self.advance(len)
    }

    /// The next binding: `Ok(Some((key, value)))`, `Ok(None)` for a comment, `Err(line)` for a
    /// line that does not parse; `None` at the end.
    #[allow(clippy::type_complexity)]
    fn binding(&mut self) -> Option<Result<Option<(String, Option<String>)>, usize>> {
        self.take_while(char::is_whitespace);
        if self.rest().is_empty() {
            return None;
        }
        let line = self.line;
        let parsed = self.key_and_value();
        if parsed.is_none() {
            // Skip to the end of the line, and one line break.
            self.take_while(|c| c != '\n' && c != '\r');
            let rest = self.rest();
            let len = if rest.starts_with('\r') || rest.starts_with('\n') {
                1
            } else {
                0
            };
            self.advance(len);
        }
        Some(parsed.ok_or(line))
    }

    fn key_and_value(&mut self) -> Option<Option<(String, Option<String>)>> {
        if let Some(after) = self.rest().strip_prefix("export")
            && after.starts_with(is_space)
        {
            self.advance("export".len());
            self.take_while(is_space);
        }
        let key = match self.rest().chars().next() {
            Some('#') => None,
            Some('\'') => {
                let close = self.rest()[1..].find('\'')?;
                if close == 0 {
                    return None;
                }
                let key = &self.advance(close + 2)[1..=close];
                Some(key.to_owned())
            }
            _ => {
                let key = self.take_while(|c| c != '=' && c != '#' && !c.is_whitespace());
                if key.is_empty() {
                    return None;
                }
                Some(key.to_owned())
            }
        };
        self.take_while(is_space);
        let value = if self.rest().starts_with('=') {
            self.advance(1);
            self.take_while(is_space);
            Some(self.value()?)
        } else {
            None
        };
        // A comment, then the end of the line.
        let spaces = self.rest().len() - self.rest().trim_start_matches(is_space).len();
        if self.rest()[spaces..].starts_with('#') {
            self.advance(spaces);
            self.take_while(|c| c != '\n' && c != '\r');
        }
        self.take_while(is_space);
        let rest = self.rest();
        let end = if rest.starts_with("\r\n") {
            2
        } else if rest.starts_with('\r') || rest.starts_with('\n') {
            1
        } else if rest.is_empty() {
            0
        } else {
            return None;
        };
        self.advance(end);
        Some(key.map(|key| (key, value)))
    }

    fn value(&mut self) -> Option<String> {
        match self.rest().chars().next() {
            Some(quote @ ('\'' | '"')) => {
                let inner = &self.rest()[1..];
                let close = closing_quote(inner, quote)?;
                let raw = &self.advance(close + 2)[1..=close];
                Some(unescape(raw, quote))
            }
            None | Some('\n' | '\r') => Some(String::new()),
            Some(_) => {
                let raw = self.take_while(|c| c != '\n' && c != '\r');
                Some(strip_comment(raw).trim_end().to_owned())
            }
        }
    }
}

/// Where a quoted value ends in `inner` (the text after the opening quote): at the first quote
/// not right after a backslash, else at the last quote, which is where python-dotenv's
/// backtracking regex settles; `None` when there is no quote at all.
fn closing_quote(inner: &str, quote: char) -> Option<usize> {
    let mut previous = None;
    for (i, c) in inner.char_indices() {
        if c == quote && previous != Some('\\') {
            return Some(i);
        }
        previous = Some(c);
    }
    inner.rfind(quote)
}

/// Decodes the escapes python-dotenv decodes: `\\` and `\'` in single quotes, those and `\"`,
/// `\a`, `\b`, `\f`, `\n`, `\r`, `\t`, `\v` in double quotes.
fn unescape(raw: &str, quote: char) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let decoded = match (quote, chars.peek().copied()) {
            (_, Some(e @ ('\\' | '\''))) => Some(e),
            ('"', Some('"')) => Some('"'),
            ('"', Some('a')) => Some('\u{7}'),
            ('"', Some('b')) => Some('\u{8}'),
            ('"', Some('f')) => Some('\u{c}'),
            ('"', Some('n')) => Some('\n'),
            ('"', Some('r')) => Some('\r'),
            ('"', Some('t')) => Some('\t'),
            ('"', Some('v')) => Some('\u{b}'),
            _ => None,
        };
        match decoded {
            Some(d) => {
                chars.next();
                out.push(d);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// An unquoted value ends before whitespace followed by `#`.
fn strip_comment(raw: &str) -> &str {
    let mut space_start = None;
    for (i, c) in raw.char_indices() {
        if c.is_whitespace() {
            space_start.get_or_insert(i);
        } else if c == '#' && space_start.is_some() {
            return &raw[..space_start.unwrap_or(i)];
        } else {
            space_start = None;
        }
    }
    raw
}

/// Replaces `${NAME}` and `${NAME:-default}` with the value `lookup` gives, else the default,
/// else nothing.
fn interpolate(value: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let name_len = after.find(['}', ':']).unwrap_or(after.len());
        let name = &after[..name_len];
        let tail = &after[name_len..];
        let parsed = if let Some(end) = tail.strip_prefix('}') {
            Some((None, end))
        } else if let Some(default) = tail.strip_prefix(":-") {
            default
                .find('}')
                .map(|close| (Some(&default[..close]), &default[close + 1..]))
        } else {
            None
        };
        match parsed {
            Some((default, end)) => {
                let value = lookup(name).unwrap_or_else(|| default.unwrap_or("").to_owned());
                out.push_str(&value);
                rest = end;
            }
            None => {
                // Not a reference: keep the `$` and look again after it.
                out.push('$');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exposed(secrets: &Secrets) -> Vec<(String, String)> {
        secrets
            .names()
            .map(|name| (name.to_owned(), secrets.get(name).unwrap().to_owned()))
            .collect()
    }

    fn values(text: &str) -> Vec<(String, String)> {
        exposed(&parse(text, &|_| None).values)
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    // Each expectation was checked against python-dotenv 1.1.0's `dotenv_values`.
    #[test]
    fn plain_quoted_and_commented_values() {
        let text = "# comment\nA=1\n  B = two words  \nexport C=3\nD='x # y'\nE=\"a\\nb\"\nF=v # note\nG=v#not-a-comment\nH='it\\'s'\n\nI=\nJ\n";
        assert_eq!(
            values(text),
            pairs(&[
                ("A", "1"),
                ("B", "two words"),
                ("C", "3"),
                ("D", "x # y"),
                ("E", "a\nb"),
                ("F", "v"),
                ("G", "v#not-a-comment"),
                ("H", "it's"),
            ])
        );
    }

    #[test]
    fn last_assignment_wins_and_crlf_is_a_line_break() {
        assert_eq!(values("A=1\r\nA=2\r\n"), pairs(&[("A", "2")]));
    }

    #[test]
    fn bad_lines_are_skipped_by_number() {
        let parsed = parse("A=1\n=x\nC=3\nD='x' y\nE=5\nB='open\n", &|_| None);
        let expected = pairs(&[("A", "1"), ("C", "3"), ("E", "5")]);
        assert_eq!(exposed(&parsed.values), expected);
        assert_eq!(parsed.bad_lines, vec![2, 4, 6]);
        // A quote that closes on a later line takes the lines between into the value.
        let parsed = parse("A=1\n=x\nB='open\nC=3\nD='x' y\n", &|_| None);
        assert_eq!(exposed(&parsed.values), pairs(&[("A", "1")]));
        assert_eq!(parsed.bad_lines, vec![2, 3]);
    }

    #[test]
    fn quoted_values_may_span_lines() {
        assert_eq!(
            values("A=\"one\ntwo\"\nB=1\n"),
            pairs(&[("A", "one\ntwo"), ("B", "1")])
        );
    }

    #[test]
    fn references_use_earlier_values_then_the_environment() {
        let env = |name: &str| (name == "HOME_DIR").then(|| "/home/x".to_owned());
        let parsed = parse(
            "A=x\nB=${A}-${HOME_DIR}\nC=${MISSING:-dflt}\nD=${MISSING}\nE=$A ${A\n",
            &env,
        );
        let got = exposed(&parsed.values);
        assert_eq!(
            got,
            pairs(&[
                ("A", "x"),
                ("B", "x-/home/x"),
                ("C", "dflt"),
                ("E", "$A ${A")
            ])
        );
    }

    #[test]
    fn single_quoted_keys_and_backslashes() {
        assert_eq!(values("'A B'=1\n"), pairs(&[("A B", "1")]));
        assert_eq!(values("A='a\\\\'b'\n"), pairs(&[("A", "a\\'b")]));
        assert_eq!(values("A='x\\'\n"), pairs(&[("A", "x\\")]));
        assert_eq!(values("A=\"x\\\"\n"), pairs(&[("A", "x\\")]));
    }
}
