//! Keeping credentials out of what tokenplan repeats from a generator: the values of
//! credential-like environment variables (ours, and those the project's `.env.local` and `.env`
//! give the SDK), and anything shaped like a Tinybird token or a JWT.

use std::path::Path;

/// What replaces a secret.
pub(crate) const MARK: &str = "[redacted]";

/// Shorter values are too likely to be ordinary words to replace.
const MIN_SECRET_LEN: usize = 8;

/// A token or JWT is at least this long.
const MIN_TOKEN_SHAPE_LEN: usize = 20;

/// Replaces known secret values and token-shaped strings in text.
#[derive(Debug, Default)]
pub(crate) struct Redactor {
    /// Longest first, so that a secret containing another is replaced whole.
    secrets: Vec<String>,
}

impl Redactor {
    /// The secrets a generator for the project in `root` can see: credential-like variables of
    /// our environment, and of the `.env.local` and `.env` files the SDKs load from `root`.
    pub(crate) fn for_project(root: &Path) -> Redactor {
        let mut values: Vec<String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .filter(|(k, _)| is_credential_name(k))
            .map(|(_, v)| v)
            .collect();
        for file in [".env.local", ".env"] {
            if let Ok(text) = std::fs::read_to_string(root.join(file)) {
                values.extend(
                    dotenv_pairs(&text)
                        .into_iter()
                        .filter(|(k, _)| is_credential_name(k))
                        .map(|(_, v)| v),
                );
            }
        }
        Redactor::from_values(values)
    }

    pub(crate) fn from_values(values: impl IntoIterator<Item = String>) -> Redactor {
        let mut secrets: Vec<String> = values
            .into_iter()
            .filter(|v| v.len() >= MIN_SECRET_LEN)
            .collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        Redactor { secrets }
    }

    /// `text` with every secret and token-shaped string replaced by [`MARK`].
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), MARK);
            }
        }
        redact_token_shapes(&text)
    }
}

/// Whether an environment variable's name says it holds a credential.
pub(crate) fn is_credential_name(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    [
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "CREDENTIAL",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "ACCESS_KEY",
        "AUTH",
    ]
    .iter()
    .any(|word| name.contains(word))
}

/// `KEY=value` lines of a dotenv file, as the Python SDK reads them: `#` lines skipped, an
/// `export ` prefix dropped, quotes around the value stripped.
fn dotenv_pairs(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| {
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (key, value) = line.split_once('=')?;
            let value = value.trim().trim_matches(['"', '\'']);
            Some((key.trim().to_owned(), value.to_owned()))
        })
        .collect()
}

/// Replaces Tinybird tokens (`p.eyJ...`) and JWTs (`eyJ...`): runs of base64url characters and
/// dots starting that way.
fn redact_token_shapes(text: &str) -> String {
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("eyJ") {
        // Take a `p.` prefix along, and only start at a word boundary.
        let start = if rest[..at].ends_with("p.") {
            at - 2
        } else {
            at
        };
        let boundary = rest[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !is_token_char(c));
        let end = rest[at..]
            .find(|c: char| !is_token_char(c))
            .map_or(rest.len(), |n| at + n);
        if boundary && end - start >= MIN_TOKEN_SHAPE_LEN {
            out.push_str(&rest[..start]);
            out.push_str(MARK);
        } else {
            out.push_str(&rest[..end]);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_known_values_longest_first() {
        let redactor = Redactor::from_values([
            "short".to_owned(),
            "secret-value".to_owned(),
            "secret-value-longer".to_owned(),
        ]);
        assert_eq!(
            redactor.redact("a secret-value-longer, a secret-value, a short one"),
            "a [redacted], a [redacted], a short one"
        );
    }

    #[test]
    fn replaces_token_shapes() {
        let token = "p.eyJ1IjogIjEyMyJ9.c2lnbmF0dXJlLWJ5dGVz";
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc";
        let redactor = Redactor::default();
        assert_eq!(
            redactor.redact(&format!(
                "token {token} and ({jwt}). eyJshort keyJabcdefghijklmnopqrstuv"
            )),
            "token [redacted] and ([redacted]). eyJshort keyJabcdefghijklmnopqrstuv"
        );
    }

    #[test]
    fn reads_credentials_from_dotenv_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".env.local"),
            "# local\nexport TINYBIRD_TOKEN=\"value-from-dotenv\"\nTINYBIRD_URL=https://api.tinybird.co\n",
        )
        .unwrap();
        let redactor = Redactor::for_project(dir.path());
        assert_eq!(
            redactor.redact("got value-from-dotenv at https://api.tinybird.co"),
            "got [redacted] at https://api.tinybird.co"
        );
    }

    #[test]
    fn credential_names() {
        assert!(is_credential_name("TINYBIRD_TOKEN"));
        assert!(is_credential_name("tb_admin_token"));
        assert!(is_credential_name("AWS_SECRET_ACCESS_KEY"));
        assert!(!is_credential_name("TINYBIRD_URL"));
        assert!(!is_credential_name("HOME"));
    }
}
