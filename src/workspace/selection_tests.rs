//! Tests of choosing the workspace: sources, precedence, and the pairing rule.

use super::*;

fn input(flags: Endpoint, env: Endpoint) -> SelectionInput {
    SelectionInput {
        flags,
        env,
        sdk: Vec::new(),
        state_flag: None,
        default_state: PathBuf::from("p/.tokenplan/workspace.json"),
        admin_email: "a@b.c".into(),
        allow_insecure_http: false,
    }
}

fn endpoint(host: Option<&str>, token: Option<&str>) -> Endpoint {
    Endpoint::new(host.map(str::to_owned), token.map(str::to_owned))
}

fn tinyb(host: Option<&str>, token: Option<&str>, tokens: &[(&str, &str)]) -> FoundTinyb {
    FoundTinyb {
        path: PathBuf::from("/p/.tinyb"),
        content: Tinyb {
            host: host.map(str::to_owned),
            token: token.map(str::to_owned),
            tokens: tokens
                .iter()
                .map(|(h, t)| (h.to_string(), t.to_string()))
                .collect(),
        },
    }
}

fn remote(selection: &Selection) -> (&str, &str) {
    match &selection.config {
        WorkspaceConfig::Remote { host, token, .. } => (host.as_str(), token.expose()),
        WorkspaceConfig::Embedded { .. } => panic!("embedded"),
        WorkspaceConfig::Local { .. } => panic!("local"),
    }
}

#[test]
fn nothing_set_means_the_embedded_workspace() {
    let selection = select(&input(Endpoint::default(), endpoint(Some(""), None)), None).unwrap();
    assert!(matches!(
        selection.config,
        WorkspaceConfig::Embedded { ref state, ref admin_email, .. }
            if state == Path::new("p/.tokenplan/workspace.json") && admin_email == "a@b.c"
    ));
}

#[test]
fn flags_beat_environment_beats_tinyb() {
    let file = tinyb(Some("https://file.example"), Some("p.file"), &[]);
    let both = input(
        endpoint(Some("https://flag:1"), Some("p.flag")),
        endpoint(Some("https://env:2"), Some("p.env")),
    );
    let chosen = select(&both, Some(&file)).unwrap();
    assert_eq!(remote(&chosen), ("https://flag:1", "p.flag"));
    assert_eq!(chosen.origin, "--host");

    let env_only = input(
        Endpoint::default(),
        endpoint(Some("https://env:2/"), Some("p.env")),
    );
    let chosen = select(&env_only, Some(&file)).unwrap();
    assert_eq!(remote(&chosen), ("https://env:2", "p.env"));
    assert_eq!(chosen.origin, "TB_HOST");

    let file_only = select(
        &input(Endpoint::default(), Endpoint::default()),
        Some(&file),
    )
    .unwrap();
    assert_eq!(remote(&file_only), ("https://file.example", "p.file"));
    assert_eq!(file_only.origin, "/p/.tinyb");
}

#[test]
fn tinyb_tokens_go_only_to_their_own_host() {
    let file = tinyb(
        Some("https://file.example"),
        Some("p.file"),
        &[("http://localhost:7181/", "p.local")],
    );
    let local = input(
        endpoint(Some("http://localhost:7181"), None),
        Endpoint::default(),
    );
    assert_eq!(
        remote(&select(&local, Some(&file)).unwrap()),
        ("http://localhost:7181", "p.local")
    );
    let other = input(
        endpoint(Some("https://elsewhere:1"), None),
        Endpoint::default(),
    );
    let error = select(&other, Some(&file)).unwrap_err();
    assert!(matches!(error, WorkspaceError::Config { .. }));
    assert!(
        error
            .to_string()
            .contains("no token for the workspace at https://elsewhere:1")
    );
}

#[test]
fn credentials_only_go_to_a_host_from_their_own_source() {
    let host_only = tinyb(Some("http://127.0.0.1:9"), None, &[]);
    let with_token = tinyb(Some("http://127.0.0.1:9"), Some("p.file"), &[]);
    let refused = |input: &SelectionInput, file: Option<&FoundTinyb>, words: &[&str]| {
        let error = select(input, file).unwrap_err();
        assert!(matches!(error, WorkspaceError::Config { .. }), "{error:?}");
        let text = format!(
            "{error} {:?}",
            miette::Diagnostic::help(&error).map(|h| h.to_string())
        );
        for word in words {
            assert!(text.contains(word), "{word}: {text}");
        }
        assert!(
            !text.contains("p.env") && !text.contains("p.flag"),
            "{text}"
        );
    };
    let env_token = input(Endpoint::default(), endpoint(None, Some("p.env")));
    let flag_token = input(endpoint(None, Some("p.flag")), Endpoint::default());
    // A .tinyb host gets no token from the environment or the flags, even with its own.
    for file in [&host_only, &with_token] {
        refused(
            &env_token,
            Some(file),
            &["TB_TOKEN", "http://127.0.0.1:9", "/p/.tinyb"],
        );
        refused(
            &flag_token,
            Some(file),
            &["--token", "http://127.0.0.1:9", "/p/.tinyb"],
        );
    }
    // Flags and environment do not mix either.
    refused(
        &input(
            endpoint(Some("https://h:1"), None),
            endpoint(None, Some("p.env")),
        ),
        None,
        &["TB_TOKEN", "https://h:1", "--host"],
    );
    refused(
        &input(
            endpoint(None, Some("p.flag")),
            endpoint(Some("https://h:1"), Some("p.env")),
        ),
        None,
        &["--token", "https://h:1", "TB_HOST"],
    );
    // A complete pair of flags beats the environment.
    let both = input(
        endpoint(Some("https://flag:1"), Some("p.flag")),
        endpoint(None, Some("p.env")),
    );
    assert_eq!(
        remote(&select(&both, None).unwrap()),
        ("https://flag:1", "p.flag")
    );
    // .tinyb names its tokens by host: --host or TB_HOST may use the one for their host.
    let named = tinyb(None, None, &[("https://h:1", "p.file")]);
    for chosen in [
        input(endpoint(Some("https://h:1"), None), Endpoint::default()),
        input(Endpoint::default(), endpoint(Some("https://h:1"), None)),
    ] {
        assert_eq!(
            remote(&select(&chosen, Some(&named)).unwrap()),
            ("https://h:1", "p.file")
        );
    }
}

fn sdk(place: &str, host: Option<&str>, token: Option<&str>) -> NamedEndpoint {
    let (host_name, token_name) = match place {
        "the environment" => ("TINYBIRD_URL".to_owned(), "TINYBIRD_TOKEN".to_owned()),
        file => (
            format!("TINYBIRD_URL in {file}"),
            format!("TINYBIRD_TOKEN in {file}"),
        ),
    };
    NamedEndpoint {
        endpoint: endpoint(host, token),
        host_name,
        token_name,
        place: place.to_owned(),
    }
}

#[test]
fn sdk_credentials_pair_only_within_their_own_place() {
    let with = |sdk_sources: Vec<NamedEndpoint>, env: Endpoint| {
        let mut input = input(Endpoint::default(), env);
        input.sdk = sdk_sources;
        input
    };
    let text = |error: WorkspaceError| {
        format!(
            "{error} {:?}",
            miette::Diagnostic::help(&error).map(|h| h.to_string())
        )
    };
    // The environment's pair, then .env.local's, each named in the message.
    let chosen = select(
        &with(
            vec![
                sdk("the environment", None, Some("p.sdkenv")),
                sdk("p/.env.local", Some("https://local:1"), Some("p.local")),
            ],
            Endpoint::default(),
        ),
        None,
    );
    // The environment's TINYBIRD_TOKEN never goes to .env.local's TINYBIRD_URL.
    let refused = text(chosen.unwrap_err());
    assert!(refused.contains("TINYBIRD_TOKEN is set"), "{refused}");
    assert!(
        refused.contains("TINYBIRD_URL in p/.env.local"),
        "{refused}"
    );
    assert!(!refused.contains("p.sdkenv") && !refused.contains("p.local"));
    let chosen = select(
        &with(
            vec![
                sdk("the environment", None, None),
                sdk("p/.env.local", Some("https://local:1"), Some("p.local")),
            ],
            Endpoint::default(),
        ),
        None,
    )
    .unwrap();
    assert_eq!(remote(&chosen), ("https://local:1", "p.local"));
    assert_eq!(chosen.origin, "TINYBIRD_URL in p/.env.local");
    let chosen = select(
        &with(
            vec![sdk(
                "the environment",
                Some("https://env:1"),
                Some("p.sdkenv"),
            )],
            Endpoint::default(),
        ),
        None,
    )
    .unwrap();
    assert_eq!(remote(&chosen), ("https://env:1", "p.sdkenv"));
    assert_eq!(chosen.origin, "TINYBIRD_URL");
    // TB_TOKEN never goes to an SDK host; TB_HOST beats the SDK's and takes no SDK token.
    let refused = select(
        &with(
            vec![sdk("the environment", Some("https://env:1"), None)],
            endpoint(None, Some("p.env")),
        ),
        None,
    )
    .unwrap_err();
    assert!(text(refused).contains("TB_TOKEN is set"));
    let refused = select(
        &with(
            vec![sdk("the environment", None, Some("p.sdkenv"))],
            endpoint(Some("https://tb:1"), None),
        ),
        None,
    )
    .unwrap_err();
    assert!(text(refused).contains("no token for the workspace at https://tb:1"));
    // A token without a host from its own place is an error, not a guess.
    let refused = select(
        &with(
            vec![sdk("the environment", None, Some("p.sdkenv"))],
            Endpoint::default(),
        ),
        None,
    )
    .unwrap_err();
    let refused = text(refused);
    assert!(
        refused.contains("TINYBIRD_TOKEN is set but no workspace host is"),
        "{refused}"
    );
    // An SDK host takes no .tinyb token; a .tinyb host ignores SDK tokens without a host.
    let file = tinyb(
        Some("https://file:1"),
        Some("p.file"),
        &[("https://local:1", "p.named")],
    );
    assert!(
        select(
            &with(
                vec![sdk("p/.env.local", Some("https://local:1"), None)],
                Endpoint::default()
            ),
            Some(&file)
        )
        .is_err()
    );
    let chosen = select(
        &with(
            vec![sdk("the environment", None, Some("p.sdkenv"))],
            Endpoint::default(),
        ),
        Some(&file),
    )
    .unwrap();
    assert_eq!(remote(&chosen), ("https://file:1", "p.file"));
}

#[test]
fn plain_http_off_this_machine_needs_the_flag() {
    let mut plain = input(
        endpoint(Some("http://10.0.0.7:7181"), Some("p.flag")),
        Endpoint::default(),
    );
    assert!(matches!(
        select(&plain, None),
        Err(WorkspaceError::InsecureHttp { .. })
    ));
    plain.allow_insecure_http = true;
    let chosen = select(&plain, None).unwrap();
    assert!(matches!(
        chosen.config,
        WorkspaceConfig::Remote {
            allow_insecure_http: true,
            ..
        }
    ));
}

#[test]
fn state_flag_beats_environment_and_conflicts_with_host_flag() {
    let mut with_state = input(
        Endpoint::default(),
        endpoint(Some("https://env:2"), Some("p.env")),
    );
    with_state.state_flag = Some(PathBuf::from("s.json"));
    let chosen = select(&with_state, None).unwrap();
    assert!(
        matches!(chosen.config, WorkspaceConfig::Embedded { ref state, .. } if state == Path::new("s.json"))
    );
    with_state.flags.host = Some("https://flag:1".into());
    assert!(select(&with_state, None).is_err());
}

#[test]
fn a_token_without_a_host_or_a_bad_host_is_an_error() {
    let error = select(
        &input(Endpoint::default(), endpoint(None, Some("p.env"))),
        None,
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("TB_TOKEN is set but no workspace host is")
    );
    let error = select(
        &input(
            endpoint(Some("localhost:7181"), Some("t")),
            Endpoint::default(),
        ),
        None,
    )
    .unwrap_err();
    assert!(error.to_string().contains("not a workspace host URL"));
}

#[test]
fn tinyb_is_found_in_a_parent_and_its_tokens_stay_hidden() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let nested = root.join("a/b");
    std::fs::create_dir_all(&nested).unwrap();
    assert!(
        find_tinyb(&nested)
            .unwrap()
            .is_none_or(|f| !f.path.starts_with(root))
    );
    std::fs::write(
        root.join(".tinyb"),
        r#"{"host": "http://localhost:7181", "token": "p.hidden", "user_email": "x"}"#,
    )
    .unwrap();
    let found = find_tinyb(&nested).unwrap().unwrap();
    assert_eq!(found.path, root.join(".tinyb"));
    assert!(!format!("{found:?}").contains("p.hidden"));
    std::fs::write(root.join("a/.tinyb"), "not json").unwrap();
    assert!(matches!(
        find_tinyb(&nested),
        Err(WorkspaceError::Config { .. })
    ));
}
