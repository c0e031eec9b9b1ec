//! A lexer for just enough TypeScript/JavaScript and Python to find SDK definitions: words,
//! string literals and punctuation with their lines and bracket depth; comments, numbers and
//! operators are skipped or kept as opaque tokens.
//!
//! It is not a parser: the tracer matches short token patterns (`defineToken ( "x" )`,
//! `tokens : [ ... ]`) on its output. What it must get right is where strings, comments, template
//! literals and regular expressions start and end, so that a `defineDatasource("orders"` inside a
//! comment or a SQL string is never read as code.

use super::Language;

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// An identifier or keyword.
    Word(String),
    /// A string literal whose value is known (no substitutions), escapes resolved.
    Str(String),
    /// One punctuation character: brackets, `,`, `:`, `;`, `.`, `=`, `*`.
    Punct(char),
    /// `...` (JavaScript spread) or `*`/`**` before a name (Python unpacking).
    Spread,
    /// Anything else: numbers, operators, f-strings, template literals with substitutions,
    /// regular expressions.
    Other,
}

/// A token and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    /// 1-based line.
    pub(crate) line: u32,
    /// 0-based column in characters.
    pub(crate) column: u32,
    /// True for the first token of its line.
    pub(crate) line_start: bool,
    /// Brackets open around it (`(`, `[`, `{`); an opening bracket counts itself out, its
    /// closing bracket too, so a pair sits at the depth of its surroundings.
    pub(crate) depth: u32,
}

impl Token {
    pub(crate) fn is_punct(&self, c: char) -> bool {
        self.tok == Tok::Punct(c)
    }

    pub(crate) fn is_word(&self, word: &str) -> bool {
        matches!(&self.tok, Tok::Word(w) if w == word)
    }

    pub(crate) fn word(&self) -> Option<&str> {
        match &self.tok {
            Tok::Word(w) => Some(w),
            _ => None,
        }
    }

    pub(crate) fn string(&self) -> Option<&str> {
        match &self.tok {
            Tok::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Splits `text` into tokens. Never fails: an unterminated string or comment runs to the end.
pub(crate) fn lex(text: &str, language: Language) -> Vec<Token> {
    let mut lexer = Lexer {
        chars: text.chars().collect(),
        pos: 0,
        line: 1,
        column: 0,
        last_line: 0,
        depth: 0,
        templates: Vec::new(),
        language,
        out: Vec::new(),
    };
    lexer.run();
    lexer.out
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: u32,
    column: u32,
    /// The line of the last token pushed, to mark line starts.
    last_line: u32,
    depth: u32,
    /// For each open `${` of a template literal, the depth its `}` closes at.
    templates: Vec<u32>,
    language: Language,
    out: Vec<Token>,
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied()?;
        self.pos += 1;
        // CRLF, CR and LF each end one line.
        if c == '\n' || (c == '\r' && self.peek(0) != Some('\n')) {
            self.line += 1;
            self.column = 0;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn push(&mut self, tok: Tok, line: u32, column: u32) {
        let line_start = line != self.last_line;
        self.last_line = line;
        self.out.push(Token {
            tok,
            line,
            column,
            line_start,
            depth: self.depth,
        });
    }

    fn run(&mut self) {
        while let Some(c) = self.peek(0) {
            let (line, column) = (self.line, self.column);
            match c {
                c if c.is_whitespace() => {
                    self.bump();
                }
                '#' if self.language == Language::Python => self.skip_line(),
                '/' if self.language == Language::TypeScript && self.peek(1) == Some('/') => {
                    self.skip_line()
                }
                '/' if self.language == Language::TypeScript && self.peek(1) == Some('*') => {
                    self.skip_block_comment()
                }
                '/' if self.language == Language::TypeScript && self.regex_allowed() => {
                    self.skip_regex();
                    self.push(Tok::Other, line, column);
                }
                '"' | '\'' => {
                    let tok = self.string(false);
                    self.push(tok, line, column);
                }
                '`' if self.language == Language::TypeScript => {
                    self.bump();
                    self.template(line, column, false);
                }
                '.' if self.peek(1) == Some('.') && self.peek(2) == Some('.') => {
                    self.pos += 3;
                    self.column += 3;
                    self.push(Tok::Spread, line, column);
                }
                c if c.is_ascii_digit() => {
                    while self
                        .peek(0)
                        .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
                    {
                        self.bump();
                    }
                    self.push(Tok::Other, line, column);
                }
                c if c.is_alphabetic() || c == '_' || c == '$' => self.word(line, column),
                _ => self.punct(c, line, column),
            }
        }
    }

    fn word(&mut self, line: u32, column: u32) {
        let start = self.pos;
        while self
            .peek(0)
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
        {
            self.bump();
        }
        let word: String = self.chars[start..self.pos].iter().collect();
        // Python string prefixes: r"...", b'...', f"...", rb"..." and so on.
        if self.language == Language::Python
            && word.len() <= 2
            && word.chars().all(|c| "rRbBuUfF".contains(c))
            && matches!(self.peek(0), Some('"' | '\''))
        {
            let raw = word.contains(['r', 'R']);
            let tok = self.string(raw);
            let tok = match tok {
                // An f-string's value is only known when it substitutes nothing.
                Tok::Str(s) if word.contains(['f', 'F']) && s.contains('{') => Tok::Other,
                tok => tok,
            };
            self.push(tok, line, column);
            return;
        }
        self.push(Tok::Word(word), line, column);
    }

    fn punct(&mut self, c: char, line: u32, column: u32) {
        self.bump();
        match c {
            '(' | '[' | '{' => {
                self.push(Tok::Punct(c), line, column);
                self.depth += 1;
            }
            ')' | ']' | '}' => {
                if c == '}' && self.templates.last() == Some(&self.depth) {
                    // The end of a `${...}` substitution: back inside the template literal.
                    self.templates.pop();
                    self.depth = self.depth.saturating_sub(1);
                    self.template(line, column, true);
                    return;
                }
                self.depth = self.depth.saturating_sub(1);
                self.push(Tok::Punct(c), line, column);
            }
            // `=` alone assigns; `==`, `=>`, `>=`, ... are operators.
            '=' if matches!(self.peek(0), Some('=' | '>')) => {
                while matches!(self.peek(0), Some('=' | '>')) {
                    self.bump();
                }
                self.push(Tok::Other, line, column);
            }
            '!' | '<' | '>' if self.peek(0) == Some('=') => {
                self.bump();
                self.push(Tok::Other, line, column);
            }
            // Python `*rest` / `**mapping` before a name unpacks, like a JavaScript spread.
            '*' if self.language == Language::Python => {
                if self.peek(0) == Some('*') {
                    self.bump();
                }
                self.push(Tok::Spread, line, column);
            }
            ',' | ':' | ';' | '.' | '=' => self.push(Tok::Punct(c), line, column),
            _ => self.push(Tok::Other, line, column),
        }
    }

    fn skip_line(&mut self) {
        while let Some(c) = self.peek(0) {
            if c == '\n' || c == '\r' {
                break;
            }
            self.bump();
        }
    }

    fn skip_block_comment(&mut self) {
        self.bump();
        self.bump();
        while let Some(c) = self.bump() {
            if c == '*' && self.peek(0) == Some('/') {
                self.bump();
                break;
            }
        }
    }

    /// A quoted string at the cursor (the quote not yet consumed): `'...'`, `"..."` and, in
    /// Python, the triple-quoted forms.
    fn string(&mut self, raw: bool) -> Tok {
        let quote = self.bump().unwrap_or('"');
        let triple = self.language == Language::Python
            && self.peek(0) == Some(quote)
            && self.peek(1) == Some(quote);
        if triple {
            self.bump();
            self.bump();
        }
        let mut value = String::new();
        while let Some(c) = self.bump() {
            match c {
                '\\' => {
                    let Some(next) = self.bump() else { break };
                    if raw {
                        value.push('\\');
                        value.push(next);
                    } else {
                        value.push(unescape(next));
                    }
                }
                c if c == quote => {
                    if !triple {
                        return Tok::Str(value);
                    }
                    if self.peek(0) == Some(quote) && self.peek(1) == Some(quote) {
                        self.bump();
                        self.bump();
                        return Tok::Str(value);
                    }
                    value.push(c);
                }
                // A one-line string cannot span lines; stop rather than swallow the file.
                '\n' | '\r' if !triple => return Tok::Str(value),
                c => value.push(c),
            }
        }
        Tok::Str(value)
    }

    /// The rest of a template literal, after its opening backtick (`resumed` false) or after the
    /// `}` that ends one of its substitutions (`resumed` true). The literal is one token, pushed
    /// when it opens: its text as a string when it has no substitution, else `Other`. At a `${`
    /// lexing goes on as code until the matching `}`, which comes back here.
    fn template(&mut self, line: u32, column: u32, resumed: bool) {
        let mut value = String::new();
        while let Some(c) = self.bump() {
            match c {
                '\\' => {
                    if let Some(next) = self.bump() {
                        value.push(unescape(next));
                    }
                }
                '`' => {
                    if !resumed {
                        self.push(Tok::Str(value), line, column);
                    }
                    return;
                }
                '$' if self.peek(0) == Some('{') => {
                    self.bump();
                    if !resumed {
                        self.push(Tok::Other, line, column);
                    }
                    self.depth += 1;
                    self.templates.push(self.depth);
                    return;
                }
                c => value.push(c),
            }
        }
        if !resumed {
            self.push(Tok::Str(value), line, column);
        }
    }

    /// Whether a `/` here starts a regular expression rather than dividing: after an operator,
    /// an opening bracket, a separator or a keyword, or at the start of the text.
    fn regex_allowed(&self) -> bool {
        match self.out.last().map(|t| &t.tok) {
            None => true,
            Some(Tok::Punct(c)) => matches!(c, '(' | '[' | '{' | ',' | ':' | ';' | '='),
            Some(Tok::Word(w)) => matches!(
                w.as_str(),
                "return" | "typeof" | "case" | "in" | "of" | "new" | "delete" | "void" | "throw"
            ),
            Some(Tok::Spread) => true,
            Some(Tok::Str(_)) => false,
            // An operator (`&&`, `||`, `!`, `?`, ...) leaves an expression to come; a number,
            // regex or template ends one. They are all `Other`, so look at the text.
            Some(Tok::Other) => {
                let before = self.chars[..self.pos]
                    .iter()
                    .rev()
                    .find(|c| !c.is_whitespace());
                matches!(
                    before,
                    Some('&' | '|' | '!' | '?' | '+' | '-' | '*' | '%' | '<' | '>' | '~' | '^')
                )
            }
        }
    }

    fn skip_regex(&mut self) {
        self.bump();
        let mut in_class = false;
        while let Some(c) = self.bump() {
            match c {
                '\\' => {
                    self.bump();
                }
                '[' => in_class = true,
                ']' => in_class = false,
                '/' if !in_class => break,
                '\n' | '\r' => return,
                _ => {}
            }
        }
        while self.peek(0).is_some_and(|c| c.is_alphabetic()) {
            self.bump();
        }
    }
}

fn unescape(c: char) -> char {
    match c {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        '0' => '\0',
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str, language: Language) -> Vec<Tok> {
        lex(text, language).into_iter().map(|t| t.tok).collect()
    }

    fn word(w: &str) -> Tok {
        Tok::Word(w.into())
    }

    fn s(v: &str) -> Tok {
        Tok::Str(v.into())
    }

    #[test]
    fn javascript_comments_strings_and_lines() {
        let text =
            "// defineToken(\"a\")\nconst a = defineToken('b'); /* x\n\"y\" */ f(\"c\\\"d\")";
        let tokens = lex(text, Language::TypeScript);
        let got: Vec<_> = tokens.iter().map(|t| (t.tok.clone(), t.line)).collect();
        assert_eq!(
            got,
            vec![
                (word("const"), 2),
                (word("a"), 2),
                (Tok::Punct('='), 2),
                (word("defineToken"), 2),
                (Tok::Punct('('), 2),
                (s("b"), 2),
                (Tok::Punct(')'), 2),
                (Tok::Punct(';'), 2),
                (word("f"), 3),
                (Tok::Punct('('), 3),
                (s("c\"d"), 3),
                (Tok::Punct(')'), 3),
            ]
        );
        assert!(tokens[0].line_start && !tokens[1].line_start && tokens[8].line_start);
    }

    #[test]
    fn template_literals_hide_their_text_but_not_their_substitutions() {
        let text = "sql: `SELECT 'x' // not a comment ${ f({ a: \"b\" }) } }`, next: 1";
        assert_eq!(
            kinds(text, Language::TypeScript),
            vec![
                word("sql"),
                Tok::Punct(':'),
                Tok::Other,
                word("f"),
                Tok::Punct('('),
                Tok::Punct('{'),
                word("a"),
                Tok::Punct(':'),
                s("b"),
                Tok::Punct('}'),
                Tok::Punct(')'),
                Tok::Punct(','),
                word("next"),
                Tok::Punct(':'),
                Tok::Other,
            ]
        );
        assert_eq!(kinds("`plain`", Language::TypeScript), vec![s("plain")]);
    }

    #[test]
    fn regular_expressions_and_division() {
        // The quote inside the regex must not open a string.
        let text = "const r = /[\"/]+/g; const d = a / b / c; x = \"s\"";
        let got = kinds(text, Language::TypeScript);
        assert_eq!(got.last(), Some(&s("s")));
        assert_eq!(got.iter().filter(|t| **t == Tok::Other).count(), 3);
    }

    #[test]
    fn python_strings_comments_and_unpacking() {
        let text = "# define_token(\"a\")\nx = define_token('b')  # c\ny = \"\"\"multi\n'line'\"\"\"\nz = r'\\d' + f\"{x}\" + f\"plain\"\nf(*args, **kw)";
        let tokens = lex(text, Language::Python);
        let got: Vec<_> = tokens.iter().map(|t| (t.tok.clone(), t.line)).collect();
        assert_eq!(
            got,
            vec![
                (word("x"), 2),
                (Tok::Punct('='), 2),
                (word("define_token"), 2),
                (Tok::Punct('('), 2),
                (s("b"), 2),
                (Tok::Punct(')'), 2),
                (word("y"), 3),
                (Tok::Punct('='), 3),
                (s("multi\n'line'"), 3),
                (word("z"), 5),
                (Tok::Punct('='), 5),
                (s("\\d"), 5),
                (Tok::Other, 5),
                (Tok::Other, 5),
                (Tok::Other, 5),
                (s("plain"), 5),
                (word("f"), 6),
                (Tok::Punct('('), 6),
                (Tok::Spread, 6),
                (word("args"), 6),
                (Tok::Punct(','), 6),
                (Tok::Spread, 6),
                (word("kw"), 6),
                (Tok::Punct(')'), 6),
            ]
        );
    }

    #[test]
    fn depth_counts_brackets_around_a_token() {
        let tokens = lex("a({ b: [c] })", Language::TypeScript);
        let depths: Vec<_> = tokens.iter().map(|t| t.depth).collect();
        assert_eq!(depths, vec![0, 0, 1, 2, 2, 2, 3, 2, 1, 0]);
    }

    #[test]
    fn unterminated_things_end_at_the_end() {
        assert_eq!(
            kinds("x = 'abc", Language::TypeScript).last(),
            Some(&s("abc"))
        );
        assert_eq!(kinds("/* never closed", Language::TypeScript), vec![]);
        assert_eq!(kinds("`never ${ closed", Language::TypeScript).len(), 2);
        assert_eq!(kinds("'''never", Language::Python), vec![s("never")]);
    }

    #[test]
    fn crlf_and_cr_end_lines() {
        let tokens = lex("a\r\nb\rc", Language::Python);
        let lines: Vec<_> = tokens.iter().map(|t| t.line).collect();
        assert_eq!(lines, vec![1, 2, 3]);
    }
}
