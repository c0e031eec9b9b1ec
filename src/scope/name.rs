//! [`TokenName`]: the rules for token names, as datafiles declare them and as commands take them.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why a text is not a token name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub(crate) enum InvalidTokenName {
    #[error("a token name cannot be empty")]
    Empty,
    #[error("a token name cannot be only spaces")]
    Blank,
    #[error("a token name cannot hold control characters such as line breaks")]
    ControlCharacter,
}

/// A token's name.
///
/// Two rules. A name a TOKEN directive declares may be any non-empty text: Tinybird does not
/// validate them (`my-token.v2`, `a:b`, `lectura_ñ` and `read api token` all pass), so neither
/// does tokenplan. A name given by hand, to `tokenplan token create static|refresh|rm` or to the
/// local server's `POST /v0/tokens`, must also not be blank nor hold control characters: such a
/// name is a typing or quoting mistake, and it would be echoed into terminals and logs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct TokenName(String);

impl TokenName {
    /// A name from a TOKEN directive: any non-empty text.
    pub(crate) fn declared(name: &str) -> Result<TokenName, InvalidTokenName> {
        if name.is_empty() {
            return Err(InvalidTokenName::Empty);
        }
        Ok(TokenName(name.to_owned()))
    }

    /// A name given to the token commands or the API: not blank, no control character.
    pub(crate) fn given(name: &str) -> Result<TokenName, InvalidTokenName> {
        let name = TokenName::declared(name)?;
        if name.0.trim().is_empty() {
            return Err(InvalidTokenName::Blank);
        }
        if name.0.chars().any(char::is_control) {
            return Err(InvalidTokenName::ControlCharacter);
        }
        Ok(name)
    }

    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for TokenName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for TokenName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}
