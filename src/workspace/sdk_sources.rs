//! The credentials an SDK project names for its workspace, beside `TB_HOST`/`TB_TOKEN`: the SDK's
//! `TINYBIRD_URL`/`TINYBIRD_TOKEN` in the environment and in the project's `.env.local`, and a
//! JSON config's literal `baseUrl` and `token`. Each is a source of its own, a host and a token
//! from the same place: [`super::selection`] never pairs a host with another place's token.
//!
//! Values are read literally. A `${TINYBIRD_TOKEN}` in `.env.local` or in the config names the
//! environment's token, and the file that holds it may come from a pull request: taking the
//! reference would send the environment's token to the file's host.

use std::path::Path;

use serde_json::Value;

use super::selection::{Endpoint, NamedEndpoint};
use crate::project::env_file::{self, ENV_FILE};
use crate::sdk::ProjectKind;

/// The SDK's variables.
const URL: &str = "TINYBIRD_URL";
const TOKEN: &str = "TINYBIRD_TOKEN";

/// The sources of an SDK project, in the order they are looked at: the environment, its
/// `.env.local`, its config. None for a datafile project. `env` reads the environment; `shown`
/// is how the project folder is written in messages.
pub(crate) fn sdk_sources(
    kind: &ProjectKind,
    shown: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<NamedEndpoint> {
    let Some(project) = kind.sdk() else {
        return Vec::new();
    };
    let mut sources = vec![NamedEndpoint {
        endpoint: Endpoint::new(env(URL), env(TOKEN)),
        host_name: URL.into(),
        token_name: TOKEN.into(),
        place: "the environment".into(),
    }];
    let env_path = project.root().join(ENV_FILE);
    if let Ok(text) = std::fs::read_to_string(&env_path) {
        // Without the environment: see the module's documentation.
        let values = env_file::parse(&text, &|_| None).values;
        let literal = |name: &str| values.get(name).filter(|v| !v.contains("${"));
        let place = shown.join(ENV_FILE).display().to_string();
        sources.push(NamedEndpoint {
            endpoint: Endpoint::new(
                literal(URL).map(str::to_owned),
                literal(TOKEN).map(str::to_owned),
            ),
            host_name: format!("{URL} in {place}"),
            token_name: format!("{TOKEN} in {place}"),
            place,
        });
    }
    if let Some(endpoint) = config_endpoint(&project.config) {
        let name = project
            .config
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let place = shown.join(&name).display().to_string();
        sources.push(NamedEndpoint {
            endpoint,
            host_name: format!("`baseUrl` in {place}"),
            token_name: format!("`token` in {place}"),
            place,
        });
    }
    sources
}

/// A JSON config's own host and token. Only a literal token makes it a source: nearly every
/// config names a `baseUrl` and refers to the environment for the token (`${TINYBIRD_TOKEN}`),
/// and such a config alone must leave the embedded workspace the default.
fn config_endpoint(config: &Path) -> Option<Endpoint> {
    let text = std::fs::read_to_string(config).ok()?;
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(&text) else {
        return None;
    };
    let literal = |keys: &[&str]| {
        keys.iter()
            .find_map(|key| fields.get(*key).and_then(Value::as_str))
            .filter(|v| !v.contains('$'))
            .map(str::to_owned)
    };
    let token = literal(&["token"])?;
    Some(Endpoint::new(
        literal(&["baseUrl", "base_url"]),
        Some(token),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(
        files: &[(&str, &str)],
        env: &[(&str, &str)],
    ) -> Vec<(String, Option<String>, bool)> {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            std::fs::write(dir.path().join(path), text).unwrap();
        }
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/a.ts"), "").unwrap();
        let kind = crate::sdk::detect(dir.path());
        let lookup = |name: &str| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        sdk_sources(&kind, Path::new("p"), &lookup)
            .into_iter()
            .map(|s| (s.host_name, s.endpoint.host, s.endpoint.token.is_some()))
            .collect()
    }

    #[test]
    fn each_place_is_its_own_source_and_references_are_not_followed() {
        let config = r#"{"include": ["src"], "token": "${TINYBIRD_TOKEN}", "baseUrl": "https://api.tinybird.co"}"#;
        let env_local = "TINYBIRD_URL=https://local.example\nTINYBIRD_TOKEN=${TINYBIRD_TOKEN}\n";
        assert_eq!(
            sources(
                &[("tinybird.config.json", config), (".env.local", env_local)],
                &[("TINYBIRD_TOKEN", "p.env")]
            ),
            [
                ("TINYBIRD_URL".to_owned(), None, true),
                (
                    "TINYBIRD_URL in p/.env.local".to_owned(),
                    Some("https://local.example".to_owned()),
                    false
                ),
            ],
            "the config refers to the environment: no source of its own"
        );
        let literal =
            r#"{"include": ["src"], "token": "p.config", "base_url": "https://c.example"}"#;
        assert_eq!(
            sources(&[("tinybird.json", literal)], &[]),
            [
                ("TINYBIRD_URL".to_owned(), None, false),
                (
                    "`baseUrl` in p/tinybird.json".to_owned(),
                    Some("https://c.example".to_owned()),
                    true
                ),
            ]
        );
    }

    #[test]
    fn a_datafile_project_has_none() {
        let dir = tempfile::tempdir().unwrap();
        let kind = crate::sdk::detect(dir.path());
        assert!(sdk_sources(&kind, Path::new("."), &|_| Some("x".into())).is_empty());
    }
}
