//! Parsing, ordering and display of scopes, and the token-name rules.
use super::*;
use proptest::prelude::*;

#[test]
fn every_kind_parses_and_displays_as_given() {
    for kind in ScopeKind::ALL {
        let plain = Scope::new(kind.as_str());
        assert_eq!(plain.kind(), Some(kind));
        assert_eq!(plain.to_string(), kind.as_str());
        assert_eq!(plain.resource(), None);
        if kind.takes_resource() {
            let text = format!("{kind}:events");
            let scope = Scope::new(text.as_str());
            assert_eq!(scope.kind(), Some(kind));
            assert_eq!(scope.resource(), Some("events"));
            assert_eq!(scope.filter(), None);
            assert_eq!(scope.to_string(), text);
        } else {
            // A type that stands alone takes nothing after it.
            assert_eq!(Scope::new(format!("{kind}:x")).kind(), None);
        }
    }
}

#[test]
fn filters_unknown_and_incomplete_scopes_keep_their_text() {
    let filtered = Scope::new("DATASOURCES:READ:events:country = 'ES'");
    assert_eq!(filtered.kind(), Some(ScopeKind::DatasourcesRead));
    assert_eq!(filtered.resource(), Some("events"));
    assert_eq!(filtered.filter(), Some("country = 'ES'"));
    assert_eq!(
        filtered.to_string(),
        "DATASOURCES:READ:events:country = 'ES'"
    );

    let empty = Scope::new("PIPES:READ:");
    assert_eq!((empty.resource(), empty.filter()), (Some(""), None));
    assert_eq!(empty.to_string(), "PIPES:READ:");
    let empty_filter = Scope::new("DATASOURCES:READ:e:");
    assert_eq!(empty_filter.filter(), Some(""));

    for unknown in [
        "tokens",
        "WRITE",
        "PIPES:READX",
        "FOO:BAR:baz",
        "ADMIN:x",
        "",
    ] {
        let scope: Scope = unknown.parse().unwrap();
        assert_eq!(scope.kind(), None, "{unknown}");
        assert_eq!(scope.to_string(), unknown);
        assert_eq!(
            serde_json::to_string(&scope).unwrap(),
            format!("{unknown:?}")
        );
    }
}

#[test]
fn resource_scopes_quarantine_and_token_management() {
    assert!(Scope::new("DATASOURCES:READ:e").is_resource());
    assert!(Scope::new("DATASOURCES:APPEND:e").is_resource());
    assert!(Scope::new("PIPES:READ:p:a > 1").is_resource());
    assert!(!Scope::new("PIPES:READ:").is_resource());
    assert!(!Scope::new("PIPES:DROP:p").is_resource());
    assert!(!Scope::new("TOKENS").is_resource());
    assert_eq!(
        Scope::new("DATASOURCES:READ:events")
            .quarantine()
            .as_deref(),
        Some("events_quarantine")
    );
    assert_eq!(Scope::new("PIPES:READ:top").quarantine(), None);
    assert_eq!(Scope::new("DATASOURCES:READ:").quarantine(), None);
    assert!(Scope::new("ADMIN").manages_tokens());
    assert!(Scope::new("TOKENS").manages_tokens());
    assert!(!Scope::new("WORKSPACE:READ_ALL").manages_tokens());
    assert!(!Scope::new("ADMIN:x").manages_tokens());
    assert!(Scope::new("DATASOURCES:CREATE").is_datasources_or_pipes());
    assert!(!Scope::new("ORG_DATASOURCES:READ").is_datasources_or_pipes());
}

#[test]
fn scopes_for_directives() {
    let scope =
        |kind, permission| Scope::for_directive(kind, permission, "events").map(|s| s.to_string());
    assert_eq!(
        scope(DatafileKind::Datasource, TokenPermission::Read).as_deref(),
        Some("DATASOURCES:READ:events")
    );
    assert_eq!(
        scope(DatafileKind::Datasource, TokenPermission::Append).as_deref(),
        Some("DATASOURCES:APPEND:events")
    );
    assert_eq!(
        scope(DatafileKind::Pipe, TokenPermission::Read).as_deref(),
        Some("PIPES:READ:events")
    );
    assert_eq!(scope(DatafileKind::Pipe, TokenPermission::Append), None);
    assert_eq!(scope(DatafileKind::Connection, TokenPermission::Read), None);
}

#[test]
fn checks_scopes() {
    let check = |s: &str| Scope::new(s).check();
    assert!(check("TOKENS").is_ok());
    assert!(check("PIPES:CREATE").is_ok());
    assert!(check("DATASOURCES:READ:e").is_ok());
    assert!(check("DATASOURCES:READ:e:a > 1").is_ok());
    assert_eq!(
        check("DATASOURCES:APPEND:e:a > 1").unwrap_err(),
        "scope `DATASOURCES:APPEND:e:a > 1`: only READ scopes take a row filter"
    );
    assert_eq!(
        check("PIPES:READ:").unwrap_err(),
        "scope `PIPES:READ:` needs a resource: PIPES:READ:<name>"
    );
    assert!(
        check("PIPES:READ")
            .unwrap_err()
            .contains("needs a resource")
    );
    assert_eq!(
        check("tokens").unwrap_err(),
        "unknown scope `tokens`: expected one of ADMIN, TOKENS, WORKSPACE:READ_ALL, \
         WORKSPACE:DEPLOY, ORG_DATASOURCES:READ, DATASOURCES:CREATE, PIPES:CREATE, or \
         TYPE:resource with TYPE one of DATASOURCES:READ, DATASOURCES:APPEND, \
         DATASOURCES:DROP, PIPES:READ, PIPES:DROP"
    );
    assert!(check("WRITE").unwrap_err().contains("unknown scope"));
}

#[test]
fn scopes_are_sorted_in_string_order_and_unique() {
    let texts = [
        "TOKENS",
        "PIPES:READ:b",
        "DATASOURCES:READ:a",
        "ADMIN",
        "PIPES:READ:b",
        "DATASOURCES:APPEND:z",
        "zzz",
        "DATASOURCES:READ:a:f",
    ];
    let scopes: Scopes = texts.into_iter().collect();
    let expected: Vec<&str> = std::collections::BTreeSet::from(texts)
        .into_iter()
        .collect();
    assert_eq!(
        scopes.iter().map(Scope::as_str).collect::<Vec<_>>(),
        expected
    );
    assert!(scopes.contains("ADMIN"));
    assert!(scopes.contains(&Scope::new("PIPES:READ:b")));
    assert!(!scopes.contains("PIPES:READ"));
    assert_eq!(scopes.join(","), expected.join(","));

    let mut fewer: Scopes = ["ADMIN", "PIPES:READ:b", "PIPES:READ:c"]
        .into_iter()
        .collect();
    assert!(fewer.insert(Scope::new("A")));
    assert!(!fewer.insert(Scope::new("ADMIN")));
    assert_eq!(fewer, ["A", "ADMIN", "PIPES:READ:b", "PIPES:READ:c"]);
    let gone: Vec<&str> = fewer.difference(&scopes).map(Scope::as_str).collect();
    assert_eq!(gone, ["A", "PIPES:READ:c"]);

    let json = serde_json::to_string(&scopes).unwrap();
    assert_eq!(json, serde_json::to_string(&expected).unwrap());
    let unsorted: Scopes = serde_json::from_str(r#"["b", "a", "b"]"#).unwrap();
    assert_eq!(unsorted, ["a", "b"]);
    assert_eq!(format!("{unsorted:?}"), r#"["a", "b"]"#);
}

#[test]
fn token_name_rules() {
    for declared in [
        "my-token.v2",
        "a:b",
        "lectura_ñ",
        "read api token",
        " ",
        "a\tb",
    ] {
        assert_eq!(TokenName::declared(declared).unwrap().to_string(), declared);
    }
    assert_eq!(TokenName::declared(""), Err(InvalidTokenName::Empty));
    for given in ["my-token.v2", "a:b", "lectura_ñ", "read api token", " ci "] {
        assert_eq!(TokenName::given(given).unwrap().to_string(), given);
    }
    assert_eq!(TokenName::given(""), Err(InvalidTokenName::Empty));
    assert_eq!(TokenName::given(" \t"), Err(InvalidTokenName::Blank));
    for control in ["a\nb", "a\rb", "a\tb", "a\u{1b}[31mb", "a\u{7f}"] {
        assert_eq!(
            TokenName::given(control),
            Err(InvalidTokenName::ControlCharacter),
            "{control:?}"
        );
    }
}

proptest! {
    #[test]
    fn any_string_round_trips(text in "(DATASOURCES:READ|PIPES:READ|PIPES:DROP|TOKENS|ADMIN)?[:a-zA-Z_ ]{0,12}") {
        let scope = Scope::new(text.as_str());
        prop_assert_eq!(scope.to_string(), text.clone());
        let back: Scope = serde_json::from_str(&serde_json::to_string(&scope).unwrap()).unwrap();
        prop_assert_eq!(back.kind(), scope.kind());
        prop_assert_eq!(back.resource(), scope.resource());
        prop_assert_eq!(back.filter(), scope.filter());
        if let Some(resource) = scope.resource() {
            let filter = scope.filter().map(|f| format!(":{f}")).unwrap_or_default();
            prop_assert_eq!(
                format!("{}:{resource}{filter}", scope.kind().unwrap()),
                text
            );
        }
    }

    #[test]
    fn order_is_string_order(
        a in "(DATASOURCES:READ|DATASOURCES:APPEND|PIPES:READ|ADMIN)?[:A-Z_a-z]{0,8}",
        b in "(DATASOURCES:READ|DATASOURCES:APPEND|PIPES:READ|ADMIN)?[:A-Z_a-z]{0,8}",
    ) {
        prop_assert_eq!(Scope::new(a.as_str()).cmp(&Scope::new(b.as_str())), a.cmp(&b));
    }
}
