//! [`Scopes`]: a token's scopes as a sorted, deduplicated set, the one place they are sorted.

use std::borrow::Borrow;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::Scope;

/// A token's scopes: sorted in string order, each once. Serialized as a list of scope strings;
/// reads as a slice of [`Scope`] (`iter`, `len`, `join`...).
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    /// No scopes.
    pub(crate) fn new() -> Scopes {
        Scopes(Vec::new())
    }

    /// The scopes, in order.
    pub(crate) fn as_slice(&self) -> &[Scope] {
        &self.0
    }

    /// True when the set holds this scope (a [`Scope`] or a scope string).
    pub(crate) fn contains<Q: Ord + ?Sized>(&self, scope: &Q) -> bool
    where
        Scope: Borrow<Q>,
    {
        self.0.binary_search_by(|s| s.borrow().cmp(scope)).is_ok()
    }

    /// Adds a scope; false when it was there already.
    pub fn insert(&mut self, scope: Scope) -> bool {
        match self.0.binary_search(&scope) {
            Ok(_) => false,
            Err(at) => {
                self.0.insert(at, scope);
                true
            }
        }
    }

    /// The scopes of this set that `other` lacks, in order.
    pub(crate) fn difference<'a>(
        &'a self,
        other: &'a Scopes,
    ) -> impl Iterator<Item = &'a Scope> + 'a {
        self.iter().filter(move |s| !other.contains(*s))
    }
}

impl std::ops::Deref for Scopes {
    type Target = [Scope];

    fn deref(&self) -> &[Scope] {
        &self.0
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(scopes: I) -> Scopes {
        let mut scopes: Vec<Scope> = scopes.into_iter().collect();
        scopes.sort();
        scopes.dedup();
        Scopes(scopes)
    }
}

impl FromIterator<String> for Scopes {
    fn from_iter<I: IntoIterator<Item = String>>(scopes: I) -> Scopes {
        scopes.into_iter().map(Scope::new).collect()
    }
}

impl<'a> FromIterator<&'a str> for Scopes {
    fn from_iter<I: IntoIterator<Item = &'a str>>(scopes: I) -> Scopes {
        scopes.into_iter().map(Scope::new).collect()
    }
}

impl From<Scope> for Scopes {
    fn from(scope: Scope) -> Scopes {
        Scopes(vec![scope])
    }
}

impl<const N: usize> From<[&str; N]> for Scopes {
    fn from(scopes: [&str; N]) -> Scopes {
        scopes.into_iter().collect()
    }
}

impl<'a> IntoIterator for &'a Scopes {
    type Item = &'a Scope;
    type IntoIter = std::slice::Iter<'a, Scope>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for Scopes {
    type Item = Scope;
    type IntoIter = std::vec::IntoIter<Scope>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.0).finish()
    }
}

impl<const N: usize> PartialEq<[&str; N]> for Scopes {
    fn eq(&self, other: &[&str; N]) -> bool {
        self.0.len() == N && self.0.iter().zip(other).all(|(a, b)| a == b)
    }
}

impl Serialize for Scopes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(&self.0)
    }
}

impl<'de> Deserialize<'de> for Scopes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Scopes, D::Error> {
        Vec::<Scope>::deserialize(deserializer).map(Scopes::from_iter)
    }
}
