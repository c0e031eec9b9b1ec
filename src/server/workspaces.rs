//! The workspace routes `tb --local` needs, as Tinybird Local answers them: list the user's
//! workspaces (`GET /v1/user/workspaces`, user or admin token), create one (`POST
//! /v1/workspaces?name=`, user token) and delete one (`DELETE
//! /v1/workspaces/{id}?hard_delete_confirmation=yes`, user token). Each new workspace gets its own
//! default tokens.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::auth::{authorize_user, presented_token};
use super::database::internal;
use super::handlers::App;
use super::http::{ApiError, body_or_error, name_or_error, param, params};
use crate::workspace::WORKSPACE_ADMIN_TOKEN;
use crate::workspace::state::State;
use crate::workspace::store::{DEFAULT_WORKSPACE, Store, WorkspaceRow};
use crate::workspace::wire::{WireWorkspace, WireWorkspaceList};

type Shared = Arc<App>;

/// A workspace as listed: its workspace admin token is its `token`.
fn wire(store: &Store, row: &WorkspaceRow) -> Result<WireWorkspace, ApiError> {
    store.use_workspace(row.key);
    let token = store
        .token(WORKSPACE_ADMIN_TOKEN)
        .map_err(|e| internal(&e))?
        .map(|t| t.value)
        .unwrap_or_default();
    store.use_workspace(DEFAULT_WORKSPACE);
    Ok(WireWorkspace {
        id: row.meta.id.clone(),
        name: row.meta.name.clone(),
        token,
        role: "admin".into(),
    })
}

/// The organization every workspace here belongs to: the first workspace's owner.
fn organization(store: &Store) -> Result<String, ApiError> {
    store.use_workspace(DEFAULT_WORKSPACE);
    Ok(store.meta().map_err(|e| internal(&e))?.workspace.owner)
}

pub(super) async fn list_workspaces(
    AxumState(app): AxumState<Shared>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let pairs = params(&uri, &headers, &[]);
    let presented = presented_token(&headers, &pairs);
    app.readers
        .run(move |store| {
            authorize_user(store, presented.as_deref(), true)?;
            let rows = store.workspaces().map_err(|e| internal(&e))?;
            let workspaces = rows
                .iter()
                .map(|row| wire(store, row))
                .collect::<Result<_, _>>()?;
            Ok(axum::Json(WireWorkspaceList {
                organization_id: Some(organization(store)?),
                workspaces,
            })
            .into_response())
        })
        .await
}

/// Tinybird's rule for workspace names: a letter, then letters, digits and underscores.
fn valid_name(name: &str, max: usize) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= max
}

pub(super) async fn create_workspace(
    AxumState(app): AxumState<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body_or_error(body)?;
    let pairs = params(&uri, &headers, &body);
    let presented = presented_token(&headers, &pairs);
    let max = app.limits.name_chars;
    app.writer
        .run(move |store| {
            authorize_user(store, presented.as_deref(), false)?;
            let name = param(&pairs, "name").unwrap_or_default().to_owned();
            if !valid_name(&name, max) {
                return Err(ApiError::bad_request(format!(
                    "a `name` of at most {max} letters, digits and underscores, starting with a letter, is required"
                )));
            }
            if let Some(organization_id) = param(&pairs, "assign_to_organization_id")
                && organization_id != organization(store)?
            {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "no organization with that id",
                ));
            }
            if store
                .workspace_named(&name)
                .map_err(|e| internal(&e))?
                .is_some()
            {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    format!("a workspace named `{name}` already exists"),
                ));
            }
            let first = store.meta().map_err(|e| internal(&e))?.workspace;
            let mut state = State::new(&first.admin_email);
            state.workspace.name = name;
            state.workspace.owner = first.owner;
            let key = store.insert_workspace(&state).map_err(|e| internal(&e))?;
            store.advance_serial().map_err(|e| internal(&e))?;
            let row = WorkspaceRow {
                key,
                meta: state.workspace,
            };
            Ok(axum::Json(wire(store, &row)?).into_response())
        })
        .await
}

pub(super) async fn delete_workspace(
    AxumState(app): AxumState<Shared>,
    id: Result<axum::extract::Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = name_or_error(id)?;
    let pairs = params(&uri, &headers, &[]);
    let presented = presented_token(&headers, &pairs);
    app.writer
        .run(move |store| {
            authorize_user(store, presented.as_deref(), false)?;
            if param(&pairs, "hard_delete_confirmation") != Some("yes") {
                return Err(ApiError::bad_request(
                    "deleting a workspace needs `hard_delete_confirmation=yes`",
                ));
            }
            let row = store
                .workspace_named(&id)
                .map_err(|e| internal(&e))?
                .filter(|row| row.meta.id == id)
                .ok_or_else(|| {
                    ApiError::new(StatusCode::NOT_FOUND, format!("workspace `{id}` not found"))
                })?;
            if row.key == DEFAULT_WORKSPACE {
                return Err(ApiError::bad_request(
                    "the first workspace holds the user token and cannot be deleted",
                ));
            }
            store.delete_workspace(row.key).map_err(|e| internal(&e))?;
            store.advance_serial().map_err(|e| internal(&e))?;
            Ok(StatusCode::NO_CONTENT.into_response())
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::valid_name;

    #[test]
    fn workspace_names_are_letters_digits_and_underscores() {
        assert!(valid_name("Tinybird_Local_Build_0af3", 256));
        assert!(!valid_name("", 256));
        assert!(!valid_name("_x", 256));
        assert!(!valid_name("a b", 256));
        assert!(!valid_name("abc", 2));
    }
}
