// The protocol types. aegis-build declares every type in this file in
// TypeScript, so keep to what its mapping understands: structs, unit-only
// enums, enums with a serde `tag`, generic structs, and the field types of
// the README's "Types" table.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A frame the client sends.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// First, within 5 seconds of connecting; again later to refresh.
    Auth {
        token: String,
    },
    /// Start receiving features' events; `since` asks for what was missed
    /// after a seq the client already has.
    Subscribe {
        features: Vec<String>,
        #[serde(default)]
        since: BTreeMap<String, u64>,
    },
    Unsubscribe {
        features: Vec<String>,
    },
    Ping,
}

/// A frame the server sends.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum ServerMessage {
    /// Auth succeeded.
    Ready {
        user_id: String,
    },
    /// A subscription is live from `seq`; `recovered` tells whether every
    /// event after the client's `since` was replayed.
    Subscribed {
        feature: String,
        seq: u64,
        recovered: bool,
    },
    Event(EventMessage),
    /// The client must reload the feature: events were lost to it.
    Resync {
        feature: String,
        reason: ResyncReason,
    },
    Error {
        code: ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        feature: Option<String>,
    },
    Pong,
}

/// One committed change, or one step of an import.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct EventMessage {
    pub feature: String,
    pub entity: String,
    pub action: EventAction,
    /// The entity (created, updated), `{ id }` (deleted), or the import
    /// payload of the action.
    pub data: serde_json::Value,
    pub meta: EventMeta,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EventMeta {
    pub timestamp: DateTime<Utc>,
    pub feature_version: String,
    /// Per feature: gap-free and increasing.
    pub seq: u64,
    pub user_id: String,
    /// The client mutation id of the request that made the change.
    pub origin: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum EventAction {
    Created,
    Updated,
    Deleted,
    ImportStarted,
    ImportProgress,
    ImportCompleted,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ResyncReason {
    /// The events after the client's `since` are no longer kept.
    Gap,
    /// The client read too slowly and its queue overflowed.
    Lagging,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Unauthorized,
    Forbidden,
    BadRequest,
    NotFound,
    Conflict,
    Unprocessable,
    TooLarge,
    /// The path exists, the method does not.
    MethodNotAllowed,
    /// A limit on what one user may run at once (import jobs).
    TooManyRequests,
    /// Not now, but soon: the database took too long, or the server is
    /// stopping (HTTP 503, with `Retry-After`).
    Unavailable,
    Internal,
}

/// `data` of a `deleted` event.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Deleted {
    pub id: serde_json::Value,
}

/// `data` of an `import_started` event.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ImportStarted {
    pub job_id: String,
    pub total_rows: u64,
    /// The job only validates: it writes nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// `data` of an `import_progress` event.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ImportProgress {
    pub job_id: String,
    /// Percent, 0 to 100.
    pub progress: u8,
    pub processed_rows: u64,
    pub total_rows: u64,
    pub successful_rows: u64,
    pub failed_rows: u64,
    #[serde(default)]
    pub dry_run: bool,
}

/// `data` of an `import_completed` event.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ImportCompleted {
    pub job_id: String,
    /// `false` when the job stopped on an error that is not one row's (the
    /// last of `errors` says which); rows imported before it stay.
    pub success: bool,
    #[serde(default)]
    pub dry_run: bool,
    pub total_rows: u64,
    pub successful_rows: u64,
    pub failed_rows: u64,
    /// The first errors found (a bounded number).
    pub errors: Vec<ImportRowError>,
}

/// One problem with one CSV row.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ImportRowError {
    /// The 1-based data row (the header is row 0).
    pub row: u64,
    pub field: Option<String>,
    pub message: String,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ImportState {
    Running,
    Completed,
    Failed,
}

/// `POST /api/<feature>/import` answers 202 with the job's id.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ImportAccepted {
    pub job_id: String,
}

/// `GET /api/<feature>/import/{jobId}`: the same figures as the events.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ImportJob {
    pub job_id: String,
    pub state: ImportState,
    pub dry_run: bool,
    pub progress: u8,
    pub processed_rows: u64,
    pub total_rows: u64,
    pub successful_rows: u64,
    pub failed_rows: u64,
    pub errors: Vec<ImportRowError>,
}

/// `GET /api/<feature>`: one page, and the feature's seq when it was read.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<T> {
    pub data: Vec<T>,
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
    pub seq: u64,
}

/// `POST /api/<feature>/bulk-delete`: which rows to delete, in one
/// transaction: these ids, or every row of a list's view (its query
/// string: `q` and filters, as `GET /api/<feature>` takes them).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkDelete {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

/// What a bulk delete did.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BulkDeleted {
    pub deleted: u64,
}

/// How the web app signs in: `GET /api/auth/config`, read without a
/// token before anything else. An identity provider when one is
/// configured, else dev mode's token.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SignIn {
    /// Dev mode: `GET /api/dev/token` hands out a token for every feature.
    pub dev_token: bool,
    /// The OpenID Connect provider to sign in with (authorization code
    /// with PKCE), and the public client the web app is.
    pub oidc: Option<OidcClient>,
}

/// An OpenID Connect public client of the web app.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OidcClient {
    pub issuer: String,
    pub client_id: String,
    /// Space-separated scopes to ask for.
    pub scope: String,
}

/// Dev mode's token: `GET /api/dev/token`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DevToken {
    pub token: String,
    /// Seconds since the epoch.
    pub expires_at: u64,
}

/// A file a row holds (a field of type `aegis::File`): what
/// `POST /api/<feature>/files/<field>` answers for the bytes it took, and
/// what the row then keeps. The bytes are stored once per content, under
/// their hash, and read back through `GET /api/<feature>/<id>/files/<field>`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct StoredFile {
    /// The content's SHA-256, 64 lower-case hex digits.
    pub id: String,
    /// The name it was uploaded with, without any folder.
    pub name: String,
    /// Its length in bytes.
    pub size: u64,
    /// The type the server found in its first bytes (never the client's
    /// word), `application/octet-stream` when it knows none.
    pub content_type: String,
}

/// `GET /api/<feature>/{id}/history`: one page of a row's history,
/// newest first.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPage {
    pub data: Vec<HistoryEntry>,
    /// How many entries the row's history holds.
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
}

/// One change to a row, as its history keeps it: written in the change's
/// own transaction, so it is there exactly when the change is.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// The entry's id, increasing with time: what
    /// `POST /api/<feature>/{id}/history/{entry}/restore` names.
    pub id: u64,
    pub action: HistoryAction,
    /// The row's version after the change (before it, for a delete), when
    /// its module has a version field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// Who made the change: the token's subject.
    pub user_id: String,
    pub at: DateTime<Utc>,
    /// The fields the change set, in the module's order, each with what
    /// it held before and after (`null` before a create, after a delete).
    /// The id, the version and the update stamps are the entry's own.
    pub changes: Vec<FieldChange>,
    /// The entry whose version this change wrote back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restores: Option<u64>,
    /// The row, before the change or after it, is one the reader may not
    /// read (it belonged to someone else then): the entry lists no
    /// changes, and cannot be restored.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withheld: bool,
}

/// What changed a row.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum HistoryAction {
    Created,
    Updated,
    Deleted,
}

/// One field a change set.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct FieldChange {
    /// The field's JSON name.
    pub field: String,
    pub old: serde_json::Value,
    pub new: serde_json::Value,
}

/// `POST /api/<feature>/{id}/history/{entry}/restore`: the version of the
/// row the client saw, when its module has versions; a restore based on
/// another is a 409, as a save is.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Restore {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}

/// The body of every REST error.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// Per-field problems, for 422.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The body of a 409: the entity as it is now.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Conflict<T> {
    pub code: ErrorCode,
    pub message: String,
    pub current: T,
}
