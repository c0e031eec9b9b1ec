//! Secrets and identifiers: static token values in Tinybird's `p.` format, random UUIDs, and
//! RFC 3339 timestamps.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// A secret string, such as a token value given on the command line. It is held in a
/// [`SecretString`], wiped from memory when dropped; its `Debug` never shows it, so that it cannot
/// leak through a logged or panicking configuration struct; and it has no `PartialEq`, so that no
/// code compares secrets with `==`, which stops at the first difference (see
/// [`same_secret`] for the comparison that does not).
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps a secret value.
    pub(crate) fn new(value: impl Into<String>) -> Secret {
        Secret(SecretString::from(value.into()))
    }

    /// The value itself, for the one place that must send or store it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(****)")
    }
}

/// True when two secrets are equal, in a time that depends only on their lengths: answer times
/// tell nothing about how much of a guessed token is right.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// `n` random bytes from the operating system.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The OS random source failing means the machine cannot make secrets at all.
    getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
    bytes
}

/// A random (version 4) UUID, hyphenated.
pub(crate) fn uuid_v4() -> String {
    let mut b = random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = super::hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A new signing key for a workspace's token values.
pub(crate) fn new_signing_key() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// A static token value: `p.` + base64url(JSON `{"u", "id", "host"}`) + `.` + base64url of the
/// HMAC-SHA256 of that middle part under the workspace's signing key.
pub(crate) fn token_value(
    owner: &str,
    token_id: &str,
    host: Option<&str>,
    signing_key: &str,
) -> String {
    let payload = serde_json::json!({ "u": owner, "id": token_id, "host": host });
    let middle = URL_SAFE_NO_PAD.encode(payload.to_string());
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(signing_key.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(middle.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("p.{middle}.{signature}")
}

/// The token id inside a `p.` value, when it is one.
#[cfg(test)]
pub(crate) fn token_id_of(value: &str) -> Option<String> {
    let middle = value.strip_prefix("p.")?.split('.').next()?;
    let json = URL_SAFE_NO_PAD.decode(middle).ok()?;
    let payload: serde_json::Value = serde_json::from_slice(&json).ok()?;
    payload.get("id")?.as_str().map(str::to_owned)
}

/// Now, as RFC 3339 UTC with second precision.
pub(crate) fn now_rfc3339() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(seconds)
}

/// Seconds since the Unix epoch as RFC 3339 UTC (`1970-01-01T00:00:00Z`).
pub(crate) fn rfc3339(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let time = seconds % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        time / 3_600,
        time % 3_600 / 60,
        time % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_values_carry_their_id_and_differ_by_key() {
        let value = token_value("owner", "id-1", None, "key");
        assert!(value.starts_with("p."));
        assert_eq!(value.matches('.').count(), 2);
        assert_eq!(token_id_of(&value).as_deref(), Some("id-1"));
        assert_ne!(value, token_value("owner", "id-1", None, "other key"));
    }

    #[test]
    fn secrets_do_not_debug_print() {
        let secret = Secret::new("p.value");
        assert_eq!(format!("{secret:?}"), "Secret(****)");
        assert_eq!(secret.expose(), "p.value");
    }

    #[test]
    fn secrets_compare_by_content() {
        assert!(same_secret("p.value", "p.value"));
        assert!(!same_secret("p.value", "p.valuf"));
        assert!(!same_secret("p.value", "p.value2"));
        assert!(!same_secret("", "p"));
    }

    #[test]
    fn uuids_are_version_4() {
        let id = uuid_v4();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, uuid_v4());
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_000_000), "2026-11-18T11:06:40Z");
    }
}
