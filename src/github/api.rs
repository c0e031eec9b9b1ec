//! The few GitHub REST calls a pull-request comment needs: list an issue's comments page by
//! page, create and edit one, add and remove labels. Statuses become [`GithubError`]s that say
//! what to do; the token goes in a header and never into a message.

use std::time::Duration;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{GithubError, PullRequest};
use crate::workspace::secret::Secret;

/// Pages of 100 comments; a pull request with more than this many pages is not searched further.
const MAX_PAGES: usize = 100;
/// Larger answers are refused rather than read into memory.
const MAX_BODY: u64 = 16 * 1024 * 1024;

/// A comment on an issue or pull request.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Comment {
    pub(crate) id: u64,
    #[serde(default)]
    pub(crate) body: Option<String>,
    #[serde(default)]
    pub(crate) html_url: Option<String>,
}

/// A client for one repository's pull request.
pub(crate) struct Client {
    agent: ureq::Agent,
    api_url: String,
    repository: String,
    number: u64,
    token: Secret,
}

/// A success: the body, and the `Link` header's next page.
struct Answer {
    body: String,
    next: Option<String>,
}

impl Client {
    /// A client for `pull`; refuses plain http to a host off this machine.
    pub(crate) fn new(pull: &PullRequest) -> Result<Client, GithubError> {
        if crate::workspace::remote::check_transport(&pull.api_url, false).is_err() {
            return Err(GithubError::InsecureUrl {
                url: pull.api_url.clone(),
            });
        }
        let agent =
            crate::workspace::remote::token_agent(Duration::from_secs(30), Duration::from_secs(10));
        Ok(Client {
            agent,
            api_url: pull.api_url.clone(),
            repository: pull.repository.clone(),
            number: pull.number,
            token: Secret::new(pull.token.expose()),
        })
    }

    /// Every comment of the pull request, oldest first.
    pub(crate) fn comments(&self) -> Result<Vec<Comment>, GithubError> {
        let action = "list the pull request's comments";
        let mut comments = Vec::new();
        let mut url = format!(
            "{}/repos/{}/issues/{}/comments?per_page=100&page=1",
            self.api_url, self.repository, self.number
        );
        for page in 1..=MAX_PAGES {
            let answer = self.send("GET", &url, None, action)?;
            let batch: Vec<Comment> = parse(&answer.body, action)?;
            let full = batch.len() >= 100;
            comments.extend(batch);
            url = match answer.next {
                Some(next) => next,
                // Without a Link header, a full page may have a next one.
                None if full => format!(
                    "{}/repos/{}/issues/{}/comments?per_page=100&page={}",
                    self.api_url,
                    self.repository,
                    self.number,
                    page + 1
                ),
                None => break,
            };
        }
        Ok(comments)
    }

    /// Posts a new comment.
    pub(crate) fn create_comment(&self, body: &str) -> Result<Comment, GithubError> {
        let action = "comment on the pull request";
        let url = format!(
            "{}/repos/{}/issues/{}/comments",
            self.api_url, self.repository, self.number
        );
        let payload = serde_json::json!({ "body": body });
        parse(
            &self.send("POST", &url, Some(&payload), action)?.body,
            action,
        )
    }

    /// Replaces the body of comment `id`.
    pub(crate) fn update_comment(&self, id: u64, body: &str) -> Result<Comment, GithubError> {
        let action = "edit tokenplan's comment on the pull request";
        let url = format!(
            "{}/repos/{}/issues/comments/{id}",
            self.api_url, self.repository
        );
        let payload = serde_json::json!({ "body": body });
        parse(
            &self.send("PATCH", &url, Some(&payload), action)?.body,
            action,
        )
    }

    /// Adds labels to the pull request (GitHub creates labels it does not know yet).
    pub(crate) fn add_labels(&self, labels: &[&str]) -> Result<(), GithubError> {
        let url = format!(
            "{}/repos/{}/issues/{}/labels",
            self.api_url, self.repository, self.number
        );
        let payload = serde_json::json!({ "labels": labels });
        self.send("POST", &url, Some(&payload), "label the pull request")?;
        Ok(())
    }

    /// Removes a label from the pull request; one it does not have is no error.
    pub(crate) fn remove_label(&self, label: &str) -> Result<(), GithubError> {
        let url = format!(
            "{}/repos/{}/issues/{}/labels/{}",
            self.api_url,
            self.repository,
            self.number,
            utf8_percent_encode(label, NON_ALPHANUMERIC)
        );
        match self.send("DELETE", &url, None, "remove a label from the pull request") {
            // 404: the pull request does not have the label.
            Err(GithubError::Forbidden { status: 404, .. }) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    fn send(
        &self,
        method: &str,
        url: &str,
        payload: Option<&serde_json::Value>,
        action: &str,
    ) -> Result<Answer, GithubError> {
        let unreachable = |reason: String| GithubError::Unreachable {
            url: self.api_url.clone(),
            action: action.to_owned(),
            reason,
        };
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(url)
            .header("Authorization", format!("Bearer {}", self.token.expose()))
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28");
        let result = match payload {
            Some(payload) => {
                let body = serde_json::to_vec(payload).expect("JSON values serialize");
                request
                    .header("Content-Type", "application/json")
                    .body(body)
                    .map_err(|e| unreachable(e.to_string()))
                    .and_then(|r| self.agent.run(r).map_err(|e| unreachable(e.to_string())))
            }
            None => request
                .body(())
                .map_err(|e| unreachable(e.to_string()))
                .and_then(|r| self.agent.run(r).map_err(|e| unreachable(e.to_string()))),
        };
        let mut response = result?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_string()
            .map_err(|e| unreachable(e.to_string()))?;
        if (200..300).contains(&status) {
            let next = headers
                .get("link")
                .and_then(|v| v.to_str().ok())
                .and_then(next_link)
                .filter(|next| self.same_api(next));
            return Ok(Answer { body, next });
        }
        let action = action.to_owned();
        let detail = self.detail(&body);
        let exhausted = headers
            .get("x-ratelimit-remaining")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == "0");
        Err(match status {
            401 => GithubError::Unauthorized { action, detail },
            403 | 429 if exhausted || status == 429 => GithubError::RateLimited { action },
            // GitHub answers 404 for what a token may not see, as for what does not exist.
            403 | 404 => GithubError::Forbidden {
                action,
                status,
                detail,
            },
            _ => GithubError::Status {
                action,
                status,
                detail,
            },
        })
    }

    /// True when `url` is on the API this client talks to: a Link header elsewhere would be
    /// sent the token.
    fn same_api(&self, url: &str) -> bool {
        url.strip_prefix(&self.api_url)
            .is_some_and(|rest| rest.starts_with('/'))
    }

    /// `: message` from GitHub's error document (or the body), one line, short, never the token.
    fn detail(&self, body: &str) -> String {
        #[derive(Deserialize)]
        struct ErrorDocument {
            message: String,
        }
        let message = serde_json::from_str::<ErrorDocument>(body)
            .map(|e| e.message)
            .unwrap_or_else(|_| body.to_owned());
        let message = message.replace(self.token.expose(), "****");
        let message: String = message
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .filter(|c| !c.is_control())
            .take(300)
            .collect();
        if message.is_empty() {
            String::new()
        } else {
            format!(": {message}")
        }
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("api_url", &self.api_url)
            .field("repository", &self.repository)
            .field("number", &self.number)
            .finish_non_exhaustive()
    }
}

fn parse<T: DeserializeOwned>(body: &str, action: &str) -> Result<T, GithubError> {
    serde_json::from_str(body).map_err(|e| GithubError::InvalidAnswer {
        action: action.to_owned(),
        reason: e.to_string(),
    })
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim().replace(' ', "");
            p == "rel=\"next\"" || p == "rel=next"
        });
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| target.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_link_is_found_among_others() {
        let header = r#"<https://api.github.com/repositories/1/issues/7/comments?per_page=100&page=1>; rel="prev", <https://api.github.com/repositories/1/issues/7/comments?per_page=100&page=3>; rel="next", <https://api.github.com/x?page=9>; rel="last""#;
        assert_eq!(
            next_link(header).as_deref(),
            Some("https://api.github.com/repositories/1/issues/7/comments?per_page=100&page=3")
        );
        assert_eq!(next_link(r#"<https://a/x>; rel="last""#), None);
    }

    fn client_for(api_url: &str) -> Result<Client, GithubError> {
        Client::new(&PullRequest {
            api_url: api_url.to_owned(),
            repository: "acme/app".into(),
            number: 7,
            token: Secret::new("ghs_secret"),
        })
    }

    #[test]
    fn the_token_stays_on_its_api() {
        let client = client_for("https://ghe.example.com/api/v3").unwrap();
        assert!(client.same_api("https://ghe.example.com/api/v3/repos/acme/app?page=2"));
        assert!(!client.same_api("https://ghe.example.com/api/v3.evil.com/x"));
        assert!(!client.same_api("https://elsewhere.example/api/v3/repos"));
        assert!(!format!("{client:?}").contains("ghs_secret"));
        assert!(
            client
                .detail(r#"{"message":"bad ghs_secret"}"#)
                .contains("****")
        );
        assert!(matches!(
            client_for("http://api.example.com"),
            Err(GithubError::InsecureUrl { .. })
        ));
        assert!(client_for("http://127.0.0.1:8080").is_ok());
    }
}
