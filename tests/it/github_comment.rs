//! `plan --github-comment` and `--github-labels` against a fake GitHub REST API on loopback: one
//! comment per project, created, then edited in place and never duplicated, found again across
//! pages, updated when the changes go away, labels summing up; a token without permission, and
//! runs that are no pull request.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Response, StatusCode, Uri};
use tempfile::TempDir;

use crate::common::{binary, describe, project_copy};

const TOKEN: &str = "ghs_fake_token_that_must_never_be_printed";
const ISSUE: &str = "/repos/acme/app/issues/7";

/// What the fake API holds and how it behaves.
#[derive(Default)]
struct Fake {
    /// (id, body), oldest first.
    comments: Vec<(u64, String)>,
    labels: BTreeSet<String>,
    /// Every request: `METHOD path?query`.
    requests: Vec<String>,
    /// Writes get 403, as with a read-only token.
    read_only: bool,
    /// Pages are linked with a `Link` header (GitHub's way); without it, a client must try the
    /// next page after a full one.
    link_headers: bool,
    url: String,
}

struct FakeGithub {
    fake: Arc<Mutex<Fake>>,
    url: String,
    /// The event payloads, outside the projects.
    events: TempDir,
    // Dropping the runtime stops the server.
    _runtime: tokio::runtime::Runtime,
}

impl FakeGithub {
    fn start(fake: Fake) -> FakeGithub {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let fake = Arc::new(Mutex::new(Fake {
            url: url.clone(),
            ..fake
        }));
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(Arc::clone(&fake));
        runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeGithub {
            fake,
            url,
            events: tempfile::tempdir().unwrap(),
            _runtime: runtime,
        }
    }

    fn comments(&self) -> Vec<(u64, String)> {
        self.fake.lock().unwrap().comments.clone()
    }

    fn requests(&self) -> Vec<String> {
        std::mem::take(&mut self.fake.lock().unwrap().requests)
    }

    fn labels(&self) -> Vec<String> {
        self.fake.lock().unwrap().labels.iter().cloned().collect()
    }

    /// `tokenplan plan . ARGS` in `dir`, as a pull-request run pointed at this API.
    fn plan(&self, dir: &Path, args: &[&str]) -> Output {
        let event = self.events.path().join("event.json");
        std::fs::write(&event, r#"{"action":"synchronize","number":7}"#).unwrap();
        let output = pull_request_run(dir, &self.url, args)
            .env("GITHUB_EVENT_PATH", &event)
            .output()
            .unwrap();
        let text = describe(&output);
        assert!(!text.contains(TOKEN), "the token was printed:\n{text}");
        output
    }
}

fn pull_request_run(dir: &Path, url: &str, args: &[&str]) -> Command {
    let mut command = Command::new(binary());
    command
        .args(["plan", "."])
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("TB_HOST")
        .env_remove("TB_TOKEN")
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_REPOSITORY", "acme/app")
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_API_URL", url);
    command
}

fn json(status: StatusCode, value: serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(value.to_string()))
        .unwrap()
}

fn comment_json(fake: &Fake, id: u64, body: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "body": body,
        "html_url": format!("{}/acme/app/pull/7#issuecomment-{id}", fake.url),
    })
}

async fn answer(
    State(fake): State<Arc<Mutex<Fake>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response<Body> {
    let mut fake = fake.lock().unwrap();
    fake.requests.push(format!("{method} {uri}"));
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {TOKEN}"))
    {
        return json(
            StatusCode::UNAUTHORIZED,
            serde_json::json!({"message": "Bad credentials"}),
        );
    }
    if method != Method::GET && fake.read_only {
        return json(
            StatusCode::FORBIDDEN,
            serde_json::json!({"message": "Resource not accessible by integration"}),
        );
    }
    let path = uri.path().to_owned();
    let text = |body: &str| -> String {
        serde_json::from_str::<serde_json::Value>(body).unwrap()["body"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    if method == Method::GET && path == format!("{ISSUE}/comments") {
        let query = uri.query().unwrap_or_default();
        assert!(query.contains("per_page=100"), "{query}");
        let page: usize = query
            .split('&')
            .find_map(|p| p.strip_prefix("page="))
            .map_or(1, |p| p.parse().unwrap());
        let items: Vec<serde_json::Value> = fake
            .comments
            .iter()
            .skip((page - 1) * 100)
            .take(100)
            .map(|(id, body)| comment_json(&fake, *id, body))
            .collect();
        let mut response = json(StatusCode::OK, serde_json::Value::Array(items));
        if fake.link_headers && page * 100 < fake.comments.len() {
            let next = format!(
                "<{}{ISSUE}/comments?per_page=100&page={}>; rel=\"next\"",
                fake.url,
                page + 1
            );
            response.headers_mut().insert("link", next.parse().unwrap());
        }
        return response;
    }
    if method == Method::POST && path == format!("{ISSUE}/comments") {
        let id = 1000 + fake.comments.len() as u64;
        let body = text(&body);
        fake.comments.push((id, body.clone()));
        return json(StatusCode::CREATED, comment_json(&fake, id, &body));
    }
    if method == Method::PATCH
        && let Some(id) = path.strip_prefix("/repos/acme/app/issues/comments/")
    {
        let id: u64 = id.parse().unwrap();
        let body = text(&body);
        let Some(slot) = fake.comments.iter_mut().find(|(i, _)| *i == id) else {
            return json(
                StatusCode::NOT_FOUND,
                serde_json::json!({"message": "Not Found"}),
            );
        };
        slot.1 = body.clone();
        return json(StatusCode::OK, comment_json(&fake, id, &body));
    }
    if method == Method::POST && path == format!("{ISSUE}/labels") {
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        for label in value["labels"].as_array().unwrap() {
            fake.labels.insert(label.as_str().unwrap().to_owned());
        }
        return json(StatusCode::OK, serde_json::json!([]));
    }
    if method == Method::DELETE
        && let Some(label) = path.strip_prefix(&format!("{ISSUE}/labels/"))
    {
        let label = label.replace("%3A", ":");
        return if fake.labels.remove(&label) {
            json(StatusCode::OK, serde_json::json!([]))
        } else {
            json(
                StatusCode::NOT_FOUND,
                serde_json::json!({"message": "Label does not exist"}),
            )
        };
    }
    json(
        StatusCode::NOT_FOUND,
        serde_json::json!({"message": "Not Found"}),
    )
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn writes(requests: &[String]) -> Vec<&str> {
    requests
        .iter()
        .filter(|r| !r.starts_with("GET "))
        .map(|r| r.split(' ').next().unwrap())
        .collect()
}

#[test]
fn the_comment_is_created_then_edited_in_place_and_says_when_the_changes_are_gone() {
    let github = FakeGithub::start(Fake::default());
    let temp: TempDir = project_copy("quickstart");
    let dir = temp.path();

    let first = github.plan(dir, &["--format", "github", "--github-comment"]);
    assert_eq!(code(&first), 0, "{}", describe(&first));
    // The annotations still go to stdout.
    assert!(String::from_utf8_lossy(&first.stdout).contains("::notice"));
    assert!(stderr(&first).contains("Commented the plan on pull request #7"));
    let comments = github.comments();
    assert_eq!(comments.len(), 1);
    let (id, body) = &comments[0];
    assert!(body.starts_with("<!-- tokenplan: . -->\n"), "{body}");
    assert!(body.contains("### tokenplan: 3 to add, 0 to change, 0 to destroy in `.`"));
    assert!(body.contains("Planned against the embedded workspace"));
    assert_eq!(writes(&github.requests()), ["POST"]);

    // The same plan again: found, same text, nothing written.
    let again = github.plan(dir, &["--github-comment"]);
    assert_eq!(code(&again), 0, "{}", describe(&again));
    assert!(stderr(&again).contains("is up to date"));
    assert!(writes(&github.requests()).is_empty());

    // A push that changes the plan edits the same comment.
    let pipe = dir.join("pipes/trend.pipe");
    let edited = std::fs::read_to_string(&pipe)
        .unwrap()
        .replace("TOKEN \"public trend\" READ\n", "");
    std::fs::write(&pipe, edited).unwrap();
    let changed = github.plan(dir, &["--github-comment"]);
    assert_eq!(code(&changed), 0, "{}", describe(&changed));
    assert!(stderr(&changed).contains("Updated the plan comment"));
    assert_eq!(writes(&github.requests()), ["PATCH"]);
    let comments = github.comments();
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].0, *id);
    assert!(comments[0].1.contains("2 to add"), "{}", comments[0].1);

    // Once applied there is nothing to change: the comment says so rather than going stale.
    let applied = crate::common::run_in(dir, &["apply", "--auto-approve"]);
    assert_eq!(code(&applied), 0, "{}", describe(&applied));
    let clean = github.plan(dir, &["--github-comment"]);
    assert_eq!(code(&clean), 0, "{}", describe(&clean));
    let comments = github.comments();
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0].1.contains("### tokenplan: no changes in `.`"),
        "{}",
        comments[0].1
    );
}

#[test]
fn no_comment_is_posted_for_no_changes_when_there_was_none() {
    let github = FakeGithub::start(Fake::default());
    let temp = project_copy("noop");
    let output = github.plan(temp.path(), &["--github-comment", "--github-labels"]);
    assert_eq!(code(&output), 0, "{}", describe(&output));
    assert!(
        stderr(&output).contains("nothing posted"),
        "{}",
        stderr(&output)
    );
    assert!(github.comments().is_empty());
    // Labels still say how the pull request stands.
    assert_eq!(github.labels(), ["tokenplan:no-changes"]);
}

#[test]
fn an_earlier_comment_is_found_on_a_later_page() {
    for link_headers in [true, false] {
        let mut fake = Fake {
            link_headers,
            ..Fake::default()
        };
        // 250 comments by people, the project's own on the third page, and one for another
        // project that must be left alone.
        for id in 1..=250u64 {
            let body = match id {
                10 => "<!-- tokenplan: other -->\n<!-- tokenplan-result: breaking -->\n\nx".into(),
                230 => "<!-- tokenplan: . -->\n<!-- tokenplan-result: changes -->\n\nold".into(),
                _ => format!("review comment {id}"),
            };
            fake.comments.push((id, body));
        }
        let github = FakeGithub::start(fake);
        let temp = project_copy("quickstart");
        let output = github.plan(temp.path(), &["--github-comment", "--github-labels"]);
        assert_eq!(code(&output), 0, "{}", describe(&output));
        let requests = github.requests();
        let pages = requests.iter().filter(|r| r.starts_with("GET ")).count();
        assert_eq!(pages, 3, "link headers: {link_headers}: {requests:?}");
        assert!(
            requests.contains(&"PATCH /repos/acme/app/issues/comments/230".to_owned()),
            "{requests:?}"
        );
        let comments = github.comments();
        assert_eq!(comments.len(), 250);
        assert!(comments[229].1.contains("3 to add"));
        assert!(comments[9].1.ends_with("\n\nx"));
        // The other project's breaking plan outweighs this one's creates.
        assert_eq!(github.labels(), ["tokenplan:breaking"]);
    }
}

#[test]
fn a_token_without_permission_is_a_clear_error() {
    let github = FakeGithub::start(Fake {
        read_only: true,
        ..Fake::default()
    });
    let temp = project_copy("destroy");
    let output = github.plan(temp.path(), &["--github-comment"]);
    assert_eq!(code(&output), 1, "{}", describe(&output));
    let errors = stderr(&output);
    assert!(errors.contains("tokenplan::github::forbidden"), "{errors}");
    assert!(
        errors.contains("permissions: pull-requests: write"),
        "{errors}"
    );
    assert!(
        errors.contains("Resource not accessible by integration"),
        "{errors}"
    );
    // The plan itself was still printed.
    assert!(String::from_utf8_lossy(&output.stdout).contains("will be destroyed"));
}

#[test]
fn outside_a_pull_request_the_flag_only_says_so() {
    let github = FakeGithub::start(Fake::default());
    let temp = project_copy("quickstart");
    let output = pull_request_run(temp.path(), &github.url, &["--github-comment"])
        .env("GITHUB_EVENT_NAME", "push")
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{}", describe(&output));
    assert!(
        stderr(&output).contains("note: --github-comment does nothing outside a pull-request run"),
        "{}",
        describe(&output)
    );
    assert!(github.requests().is_empty());
}

#[test]
fn a_plan_that_cannot_be_made_is_commented_too() {
    let github = FakeGithub::start(Fake::default());
    let temp = project_copy("parse-error");
    let output = github.plan(temp.path(), &["--format", "github", "--github-comment"]);
    assert_eq!(code(&output), 1, "{}", describe(&output));
    let comments = github.comments();
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0].1.contains("### tokenplan: no plan for `.`"),
        "{}",
        comments[0].1
    );
}
