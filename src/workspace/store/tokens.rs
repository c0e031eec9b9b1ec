//! Reading and writing the workspace's identity and tokens. Each write touches the rows of one
//! token, so its cost does not depend on how many tokens the workspace has.

use rusqlite::{OptionalExtension, Row, params};
use sha2::{Digest, Sha256};

use super::Store;
use crate::scope::{Scope, Scopes};
use crate::workspace::secret::same_secret;
use crate::workspace::state::{STATE_FORMAT_VERSION, State, WorkspaceMeta};
use crate::workspace::{Token, TokenKind, WorkspaceError};

/// The workspace's identity and write counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Meta {
    /// Random id of this state's history.
    pub(crate) lineage: String,
    /// Grows by one with every change.
    pub(crate) serial: u64,
    pub(crate) workspace: WorkspaceMeta,
}

/// The token columns every query reads, scopes as one JSON array so that a token is one row of
/// one statement (and so of one snapshot).
const TOKEN_COLUMNS: &str = "t.id, t.name, t.value, t.kind, t.description, t.created_at, \
     t.updated_at, (SELECT json_group_array(scope) FROM \
     (SELECT scope FROM scopes WHERE token = t.token ORDER BY scope))";

fn kind_from(text: &str) -> Option<TokenKind> {
    match text {
        "default" => Some(TokenKind::Default),
        "resource" => Some(TokenKind::Resource),
        "workspace" => Some(TokenKind::Workspace),
        _ => None,
    }
}

fn conversion(column: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, message.into())
}

fn token_from(row: &Row<'_>) -> rusqlite::Result<Token> {
    let kind: String = row.get(3)?;
    let kind = kind_from(&kind).ok_or_else(|| conversion(3, format!("unknown kind `{kind}`")))?;
    let scopes: String = row.get(7)?;
    let scopes: Vec<String> =
        serde_json::from_str(&scopes).map_err(|e| conversion(7, e.to_string()))?;
    Ok(Token {
        id: row.get(0)?,
        name: row.get(1)?,
        value: row.get(2)?,
        scopes: scopes.into_iter().map(Scope::new).collect::<Scopes>(),
        kind,
        description: row.get(4)?,
        created_at: row.get(5)?,
        updated_at: row.get(6)?,
    })
}

/// SHA-256 of a token value: the key that finds a presented token.
fn value_hash(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

fn serial_from(serial: i64) -> rusqlite::Result<u64> {
    u64::try_from(serial).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(1, serial))
}

impl Store {
    /// The identity of the workspace in use and the database's serial.
    pub(crate) fn meta(&self) -> Result<Meta, WorkspaceError> {
        let mut meta = self.database_meta()?;
        if self.current_workspace() != super::DEFAULT_WORKSPACE {
            meta.workspace = self.workspace_identity(self.current_workspace())?;
        }
        Ok(meta)
    }

    /// The database's lineage and serial, with the first workspace's identity.
    fn database_meta(&self) -> Result<Meta, WorkspaceError> {
        self.conn
            .prepare_cached(
                "SELECT lineage, serial, id, name, owner, admin_email, signing_key FROM workspace",
            )
            .and_then(|mut statement| {
                statement
                    .query_row([], |row| {
                        Ok(Meta {
                            lineage: row.get(0)?,
                            serial: serial_from(row.get(1)?)?,
                            workspace: WorkspaceMeta {
                                id: row.get(2)?,
                                name: row.get(3)?,
                                owner: row.get(4)?,
                                admin_email: row.get(5)?,
                                signing_key: row.get(6)?,
                            },
                        })
                    })
                    .optional()
            })
            .map_err(|e| self.error("cannot read", e))?
            .ok_or_else(|| {
                self.invalid(crate::workspace::state::InvalidStateReason::Damaged {
                    detail: "it has no workspace row".into(),
                })
            })
    }

    /// Every token, sorted by name. One statement (so one snapshot), a row per scope: walking
    /// the name index and each token's scopes needs no sort and no JSON, as the list of a large
    /// workspace is read often (every plan, `GET /v0/tokens`).
    pub(crate) fn tokens(&self) -> Result<Vec<Token>, WorkspaceError> {
        let read = || -> rusqlite::Result<Vec<Token>> {
            let mut statement = self.conn.prepare_cached(
                "SELECT t.token, t.id, t.name, t.value, t.kind, t.description, t.created_at, \
                 t.updated_at, s.scope FROM tokens t LEFT JOIN scopes s ON s.token = t.token \
                 WHERE t.workspace = ?1 ORDER BY t.name, s.scope",
            )?;
            let mut rows = statement.query([self.current_workspace()])?;
            let mut tokens: Vec<Token> = Vec::new();
            let mut scopes: Vec<Scope> = Vec::new();
            let mut current = None;
            while let Some(row) = rows.next()? {
                let key: i64 = row.get(0)?;
                if current != Some(key) {
                    if let Some(last) = tokens.last_mut() {
                        last.scopes = std::mem::take(&mut scopes).into_iter().collect();
                    }
                    let kind: String = row.get(4)?;
                    let kind = kind_from(&kind)
                        .ok_or_else(|| conversion(4, format!("unknown kind `{kind}`")))?;
                    tokens.push(Token {
                        id: row.get(1)?,
                        name: row.get(2)?,
                        value: row.get(3)?,
                        scopes: Scopes::new(),
                        kind,
                        description: row.get(5)?,
                        created_at: row.get(6)?,
                        updated_at: row.get(7)?,
                    });
                    current = Some(key);
                }
                if let Some(scope) = row.get::<_, Option<String>>(8)? {
                    scopes.push(Scope::new(scope));
                }
            }
            if let Some(last) = tokens.last_mut() {
                last.scopes = scopes.into_iter().collect();
            }
            Ok(tokens)
        };
        read().map_err(|e| self.error("cannot read", e))
    }

    /// The token with this name.
    pub(crate) fn token(&self, name: &str) -> Result<Option<Token>, WorkspaceError> {
        self.token_where("t.name = ?1", name)
    }

    /// The token with this name, else the one with this id (as the Tokens API looks them up).
    pub(crate) fn token_by_name_or_id(
        &self,
        name_or_id: &str,
    ) -> Result<Option<Token>, WorkspaceError> {
        match self.token(name_or_id)? {
            Some(token) => Ok(Some(token)),
            None => self.token_where("t.id = ?1", name_or_id),
        }
    }

    fn token_where(&self, condition: &str, key: &str) -> Result<Option<Token>, WorkspaceError> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens t WHERE t.workspace = ?2 AND {condition} \
             ORDER BY t.name"
        );
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut statement| {
                statement
                    .query_row(params![key, self.current_workspace()], token_from)
                    .optional()
            })
            .map_err(|e| self.error("cannot read", e))
    }

    /// The token of the workspace in use whose value is `value` (see [`Store::token_anywhere`]).
    #[cfg(test)]
    pub(crate) fn token_by_value(&self, value: &str) -> Result<Option<Token>, WorkspaceError> {
        Ok(self
            .token_anywhere(value)?
            .filter(|(workspace, _)| *workspace == self.current_workspace())
            .map(|(_, token)| token))
    }

    /// The token of any workspace whose value is `value`, with its workspace, compared in
    /// constant time. The index on the value's SHA-256 picks the candidates: how long that takes
    /// depends on a hash of the guess, which tells nothing about how much of a real value it has
    /// right.
    pub(crate) fn token_anywhere(
        &self,
        value: &str,
    ) -> Result<Option<(i64, Token)>, WorkspaceError> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS}, t.workspace FROM tokens t WHERE t.value_sha256 = ?1 \
             ORDER BY t.name"
        );
        let candidates: Vec<(i64, Token)> = self
            .conn
            .prepare_cached(&sql)
            .and_then(|mut statement| {
                statement
                    .query_map([value_hash(value).as_slice()], |row| {
                        Ok((row.get(8)?, token_from(row)?))
                    })?
                    .collect()
            })
            .map_err(|e| self.error("cannot read", e))?;
        let mut found = None;
        for candidate in candidates {
            if same_secret(&candidate.1.value, value) {
                found = Some(candidate);
            }
        }
        Ok(found)
    }

    /// Adds a token (its name must be free).
    pub(crate) fn insert_token(&self, token: &Token) -> Result<(), WorkspaceError> {
        let write = || -> rusqlite::Result<()> {
            let mut insert = self.conn.prepare_cached(
                "INSERT INTO tokens (name, id, value, value_sha256, kind, description, \
                 created_at, updated_at, workspace) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            insert.execute(params![
                token.name,
                token.id,
                token.value,
                value_hash(&token.value).as_slice(),
                token.kind.as_str(),
                token.description,
                token.created_at,
                token.updated_at,
                self.current_workspace()
            ])?;
            self.insert_scopes(self.conn.last_insert_rowid(), &token.scopes)
        };
        write().map_err(|e| self.error("cannot write", e))
    }

    fn insert_scopes(&self, row: i64, scopes: &Scopes) -> rusqlite::Result<()> {
        let mut insert = self
            .conn
            .prepare_cached("INSERT INTO scopes (token, scope) VALUES (?1, ?2)")?;
        for scope in scopes {
            insert.execute(params![row, scope.as_str()])?;
        }
        Ok(())
    }

    /// Writes everything of the token of this name but its name. Returns false when there is
    /// none.
    pub(crate) fn update_token(&self, token: &Token) -> Result<bool, WorkspaceError> {
        let write = || -> rusqlite::Result<bool> {
            let row: Option<i64> = self
                .conn
                .prepare_cached(
                    "UPDATE tokens SET id = ?2, value = ?3, value_sha256 = ?4, kind = ?5, \
                     description = ?6, created_at = ?7, updated_at = ?8 WHERE name = ?1 \
                     AND workspace = ?9 RETURNING token",
                )?
                .query_row(
                    params![
                        token.name,
                        token.id,
                        token.value,
                        value_hash(&token.value).as_slice(),
                        token.kind.as_str(),
                        token.description,
                        token.created_at,
                        token.updated_at,
                        self.current_workspace()
                    ],
                    |row| row.get(0),
                )
                .optional()?;
            let Some(row) = row else { return Ok(false) };
            self.conn
                .prepare_cached("DELETE FROM scopes WHERE token = ?1")?
                .execute([row])?;
            self.insert_scopes(row, &token.scopes)?;
            Ok(true)
        };
        write().map_err(|e| self.error("cannot write", e))
    }

    /// Removes the token of this name (its scopes go with it). Returns false when there is none.
    pub(crate) fn delete_token(&self, name: &str) -> Result<bool, WorkspaceError> {
        self.conn
            .prepare_cached("DELETE FROM tokens WHERE name = ?1 AND workspace = ?2")
            .and_then(|mut statement| statement.execute(params![name, self.current_workspace()]))
            .map(|deleted| deleted > 0)
            .map_err(|e| self.error("cannot write", e))
    }

    /// Counts one more change.
    pub(crate) fn advance_serial(&self) -> Result<(), WorkspaceError> {
        self.conn
            .prepare_cached("UPDATE workspace SET serial = serial + 1")
            .and_then(|mut statement| statement.execute([]))
            .map(drop)
            .map_err(|e| self.error("cannot write", e))
    }

    /// The whole state, read in one snapshot.
    pub(crate) fn read_state(&self) -> Result<State, WorkspaceError> {
        let own = !self.in_transaction();
        if own {
            self.conn
                .execute_batch("BEGIN")
                .map_err(|e| self.error("cannot read", e))?;
        }
        let read = self.meta().and_then(|meta| Ok((meta, self.tokens()?)));
        if own {
            self.rollback();
        }
        let (meta, tokens) = read?;
        Ok(State {
            format_version: STATE_FORMAT_VERSION,
            lineage: meta.lineage,
            serial: meta.serial,
            workspace: meta.workspace,
            tokens,
        })
    }

    /// Writes `state` into a database with no workspace row and no tokens, as the first
    /// workspace.
    pub(super) fn write_state(&self, state: &State) -> Result<(), WorkspaceError> {
        let serial = i64::try_from(state.serial).map_err(|_| {
            self.invalid(crate::workspace::state::InvalidStateReason::Damaged {
                detail: format!("serial {} is too large", state.serial),
            })
        })?;
        let meta = &state.workspace;
        self.conn
            .execute(
                "INSERT INTO workspace (singleton, lineage, serial, id, name, owner, admin_email, \
                 signing_key) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    state.lineage,
                    serial,
                    meta.id,
                    meta.name,
                    meta.owner,
                    meta.admin_email,
                    meta.signing_key
                ],
            )
            .map_err(|e| self.error("cannot write", e))?;
        for token in &state.tokens {
            self.insert_token(token)?;
        }
        Ok(())
    }

    /// Replaces the workspace in use with `state`, inside the caller's transaction; the other
    /// workspaces are left as they are.
    pub(super) fn replace_state(&self, state: &State) -> Result<(), WorkspaceError> {
        let workspace = self.current_workspace();
        self.conn
            .execute(
                "DELETE FROM scopes WHERE token IN (SELECT token FROM tokens WHERE workspace = ?1)",
                [workspace],
            )
            .and_then(|_| {
                self.conn
                    .execute("DELETE FROM tokens WHERE workspace = ?1", [workspace])
            })
            .map_err(|e| self.error("cannot write", e))?;
        if workspace != super::DEFAULT_WORKSPACE {
            self.set_serial(state.serial)?;
            self.update_identity(workspace, &state.workspace)?;
            for token in &state.tokens {
                self.insert_token(token)?;
            }
            return Ok(());
        }
        self.conn
            .execute_batch("DELETE FROM workspace;")
            .map_err(|e| self.error("cannot write", e))?;
        self.write_state(state)
    }
}
