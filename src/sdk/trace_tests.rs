//! Tracing on source text: small projects written to a temporary folder, every case real
//! projects write (see `fixtures/sdk/` for the same cases run through the SDKs).

use super::*;
use crate::sdk::{Language, SdkProject};
use DatafileKind::{Datasource, Pipe};
use TokenPermission::{Append, Read};

/// A project of these files (the first is the config), scanned.
fn scan(language: Language, files: &[(&str, &str)]) -> (tempfile::TempDir, Sources) {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let project = SdkProject {
        language,
        config: dir.path().join(files[0].0),
    };
    let sources = Sources::scan(&project);
    (dir, sources)
}

/// `path:line (declared path:line)`, `untraced path:line ...` or `unknown ...`.
fn trace(
    sources: &Sources,
    kind: DatafileKind,
    resource: &str,
    token: &str,
    permission: TokenPermission,
) -> String {
    let found = sources.locate(kind, resource, token, permission);
    let origin = match &found.origin {
        Origin::Entry(at) => at.to_string(),
        Origin::Resource(at) => format!("untraced {at}"),
        Origin::Unknown => "unknown".to_owned(),
    };
    match found.declared {
        Some(at) => format!("{origin} (declared {at})"),
        None => origin,
    }
}

const TS_CONFIG: (&str, &str) = (
    "tinybird.config.json",
    r#"{"include": ["src/resources.ts", "src/pipes"], "token": "${TINYBIRD_TOKEN}"}"#,
);

#[test]
fn typescript_entries_constants_imports_and_legacy_objects() {
    let tokens = r#"import { defineToken } from "@tinybirdco/sdk";
export const reader = defineToken("reader");
export const writer = defineToken("writer");
export const READER = { token: reader, scope: "READ" };
export const COMMON = [READER, { token: writer, scope: "APPEND" }];
"#;
    let resources = r#"import { defineDatasource, defineToken } from "@tinybirdco/sdk";
import { COMMON, READER, writer as w } from "./lib/tokens.js";

export const orders = defineDatasource("orders", {
  tokens: [
    READER,
    { token: w, scope: "APPEND" },
    { name: "legacy", permissions: ["READ", "APPEND"] },
  ],
  schema: {},
});

export const events = defineDatasource('events', {
  schema: {},
  tokens: [...COMMON, { token: defineToken('inline'), scope: 'READ' }],
});

export const shared = defineDatasource("shared", { tokens: COMMON });
"#;
    let pipes = r#"import { defineEndpoint } from "@tinybirdco/sdk";
import * as t from "../lib/tokens";
const read = (token) => ({ token, scope: "READ" });

export const api = defineEndpoint(
  "orders_api",
  {
    nodes: [],
    tokens: [t.READER, read(t.writer), { name: "legacy", scopes: ["APPEND"] }],
  },
);
"#;
    let (_dir, sources) = scan(
        Language::TypeScript,
        &[
            TS_CONFIG,
            ("src/resources.ts", resources),
            ("src/pipes/api.ts", pipes),
            ("src/lib/tokens.ts", tokens),
        ],
    );
    let cases = [
        (
            Datasource,
            "orders",
            "reader",
            Read,
            "src/resources.ts:6 (declared src/lib/tokens.ts:2)",
        ),
        (
            Datasource,
            "orders",
            "writer",
            Append,
            "src/resources.ts:7 (declared src/lib/tokens.ts:3)",
        ),
        (
            Datasource,
            "orders",
            "legacy",
            Read,
            "src/resources.ts:8 (declared src/resources.ts:8)",
        ),
        (
            Datasource,
            "orders",
            "legacy",
            Append,
            "src/resources.ts:8 (declared src/resources.ts:8)",
        ),
        (
            Datasource,
            "events",
            "reader",
            Read,
            "src/resources.ts:15 (declared src/lib/tokens.ts:2)",
        ),
        (
            Datasource,
            "events",
            "writer",
            Append,
            "src/resources.ts:15 (declared src/lib/tokens.ts:3)",
        ),
        (
            Datasource,
            "events",
            "inline",
            Read,
            "src/resources.ts:15 (declared src/resources.ts:15)",
        ),
        (
            Datasource,
            "shared",
            "writer",
            Append,
            "src/resources.ts:18 (declared src/lib/tokens.ts:3)",
        ),
        (
            Pipe,
            "orders_api",
            "reader",
            Read,
            "src/pipes/api.ts:9 (declared src/lib/tokens.ts:2)",
        ),
        (
            Pipe,
            "orders_api",
            "writer",
            Read,
            "src/pipes/api.ts:9 (declared src/lib/tokens.ts:3)",
        ),
        (
            Pipe,
            "orders_api",
            "legacy",
            Read,
            "src/pipes/api.ts:9 (declared src/pipes/api.ts:9)",
        ),
        // A scope no entry grants: the resource, and the token's declaration.
        (
            Datasource,
            "orders",
            "reader",
            Append,
            "untraced src/resources.ts:4 (declared src/lib/tokens.ts:2)",
        ),
        (
            Pipe,
            "orders_api",
            "legacy",
            Append,
            "untraced src/pipes/api.ts:5",
        ),
        (
            Pipe,
            "nowhere",
            "reader",
            Read,
            "unknown (declared src/lib/tokens.ts:2)",
        ),
    ];
    for (kind, resource, token, permission, expected) in cases {
        assert_eq!(
            trace(&sources, kind, resource, token, permission),
            expected,
            "{kind} {resource} {token} {permission}"
        );
    }
    assert_eq!(
        sources.paths().collect::<Vec<_>>(),
        vec!["src/pipes/api.ts", "src/resources.ts", "src/lib/tokens.ts"]
    );
}

#[test]
fn typescript_prefers_exported_definitions_of_included_files() {
    let config = (
        "tinybird.config.mjs",
        "export default {\n  include: ['defs/*.ts'],\n  token: process.env.TINYBIRD_TOKEN,\n};\n",
    );
    let included = r#"import { defineDatasource, defineToken } from "@tinybirdco/sdk";
import "../other/drafts";
const a = defineToken("a");
const draft = defineDatasource("orders", { tokens: [{ token: a, scope: "APPEND" }] });
/* export const orders = defineDatasource("orders", {}); */
const orders = defineDatasource("orders", {
  tokens: [{ token: a, scope: "READ" }],
});
export { orders };
"#;
    let elsewhere = r#"import { defineDatasource, defineToken } from "@tinybirdco/sdk";
const a = defineToken("a");
export const orders = defineDatasource("orders", { tokens: [{ token: a, scope: "APPEND" }] });
"#;
    let (_dir, sources) = scan(
        Language::TypeScript,
        &[
            config,
            ("defs/a.ts", included),
            ("other/drafts.ts", elsewhere),
        ],
    );
    assert_eq!(
        trace(&sources, Datasource, "orders", "a", Read),
        "defs/a.ts:7 (declared defs/a.ts:3)"
    );
    // APPEND is granted only by definitions the SDK does not generate from these files; the
    // not-exported draft in the included file ranks before the imported file.
    assert_eq!(
        trace(&sources, Datasource, "orders", "a", Append),
        "defs/a.ts:4 (declared defs/a.ts:3)"
    );
}

#[test]
fn python_entries_with_quoted_keys_and_imported_modules() {
    let config = (
        "tinybird_config.py",
        "import os\n\nconfig = {\n    'include': ['app/*.py', 'raw'],\n    'token': os.environ.get('TB'),\n}\n",
    );
    let tokens = r#"from tinybird_sdk import define_token

reader = define_token('reader')
writer = define_token("writer")
READER = {'token': reader, 'scope': 'READ'}
"#;
    let resources = r#"from tinybird_sdk import define_datasource, define_endpoint
from lib.tokens import READER, writer
import lib.tokens as tk

events = define_datasource("events", {
    "schema": {},
    "tokens": [READER, {"token": writer, "scope": "APPEND"}],
})

_private = define_datasource("api_source", {"tokens": [READER]})

api = define_endpoint(
    'events_api',
    {
        'tokens': [
            tk.READER,
            {'token': tk.writer, 'scope': 'READ'},
            {'name': 'legacy'},
            {"name": "legacy_ds", "permissions": ["APPEND"]},
        ],
    },
)
"#;
    let raw = "SCHEMA >\n    a String\n\nTOKEN \"raw reader\" READ\ntoken writer append\n";
    let (_dir, sources) = scan(
        Language::Python,
        &[
            config,
            ("app/resources.py", resources),
            ("lib/tokens.py", tokens),
            ("raw/legacy.datasource", raw),
        ],
    );
    let cases = [
        (
            Datasource,
            "events",
            "reader",
            Read,
            "app/resources.py:7 (declared lib/tokens.py:3)",
        ),
        (
            Datasource,
            "events",
            "writer",
            Append,
            "app/resources.py:7 (declared lib/tokens.py:4)",
        ),
        (
            Pipe,
            "events_api",
            "reader",
            Read,
            "app/resources.py:16 (declared lib/tokens.py:3)",
        ),
        (
            Pipe,
            "events_api",
            "writer",
            Read,
            "app/resources.py:17 (declared lib/tokens.py:4)",
        ),
        (
            Pipe,
            "events_api",
            "legacy",
            Read,
            "app/resources.py:18 (declared app/resources.py:18)",
        ),
        (
            Datasource,
            "api_source",
            "reader",
            Read,
            "app/resources.py:10 (declared lib/tokens.py:3)",
        ),
        // Included raw datafiles trace to their TOKEN lines.
        (
            Datasource,
            "legacy",
            "raw reader",
            Read,
            "raw/legacy.datasource:4 (declared raw/legacy.datasource:4)",
        ),
        (
            Datasource,
            "legacy",
            "writer",
            Append,
            "raw/legacy.datasource:5 (declared raw/legacy.datasource:5)",
        ),
        (
            Datasource,
            "legacy",
            "writer",
            Read,
            "untraced raw/legacy.datasource:1 (declared lib/tokens.py:4)",
        ),
    ];
    for (kind, resource, token, permission, expected) in cases {
        assert_eq!(
            trace(&sources, kind, resource, token, permission),
            expected,
            "{kind} {resource} {token} {permission}"
        );
    }
}

#[test]
fn a_config_whose_include_is_computed_reads_every_source_file() {
    let config = (
        "tinybird.config.mjs",
        "const dir = 'x';\nexport default { include: [`${dir}/a.ts`], token: 't' };\n",
    );
    let a = "import { defineDatasource, defineToken } from '@tinybirdco/sdk';\nexport const d = defineDatasource('d', { tokens: [{ token: defineToken('k'), scope: 'READ' }] });\n";
    let (_dir, sources) = scan(
        Language::TypeScript,
        &[config, ("x/a.ts", a), ("node_modules/pkg/index.ts", a)],
    );
    assert_eq!(sources.paths().collect::<Vec<_>>(), vec!["x/a.ts"]);
    assert_eq!(
        trace(&sources, Datasource, "d", "k", Read),
        "x/a.ts:2 (declared x/a.ts:2)"
    );
}

#[test]
fn datafile_token_lines() {
    assert_eq!(token_line("TOKEN a READ"), Some(("a".to_owned(), "READ")));
    assert_eq!(
        token_line("  token 'a b'  append "),
        Some(("a b".to_owned(), "append"))
    );
    assert_eq!(token_line("TOKEN a"), None);
    assert_eq!(token_line("TOKEN a READ extra"), None);
    assert_eq!(token_line("TOKENS a READ"), None);
}
