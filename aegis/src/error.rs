//! The one error type of the REST surface. Clients get a status and an
//! [`ApiError`] body with a clear message; internal details go to the log.

use std::fmt;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::protocol::{ApiError, Conflict, ErrorCode, FieldError};

/// When a client told "not now" (503) may try again, in seconds.
const RETRY_AFTER_SECONDS: &str = "1";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    Unprocessable {
        message: String,
        fields: Vec<FieldError>,
    },
    /// A stale version: the body carries the entity as it is now.
    #[error("{message}")]
    Conflict {
        message: String,
        current: serde_json::Value,
    },
    /// Still referenced by other rows: not deleted.
    #[error("{0}")]
    InUse(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    TooManyRequests(String),
    /// Not now (the database took longer than a statement may, the server
    /// is stopping): a 503 whose `Retry-After` says when to try again.
    #[error("{0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// The tables do not match the modules in ways not changed automatically.
    #[error("{0}")]
    Schema(SchemaError),
    #[error("{0}")]
    Internal(String),
}

/// PostgreSQL's code for a statement its `statement_timeout` cancelled.
const QUERY_CANCELED: &str = "57014";
/// SQLite's code for a statement its progress handler stopped.
const SQLITE_INTERRUPT: &str = "9";

impl From<sqlx::Error> for Error {
    /// A database's error; a statement stopped at its time
    /// ([`crate::Limits::statement_timeout`]) is a 503 that says so.
    fn from(error: sqlx::Error) -> Self {
        let code = error.as_database_error().and_then(|e| e.code());
        if matches!(code.as_deref(), Some(QUERY_CANCELED | SQLITE_INTERRUPT)) {
            return Error::Unavailable(
                "the database took longer than a statement may; try again, or narrow the request"
                    .to_owned(),
            );
        }
        Error::Database(error)
    }
}

impl Error {
    /// A 422 naming one field: how a hook refuses a value.
    pub fn field(field: &str, message: impl Into<String>) -> Error {
        Error::fields(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }])
    }

    /// A 422 naming each of `fields`, its message saying them all.
    pub fn fields(fields: Vec<FieldError>) -> Error {
        let names: Vec<String> = fields
            .iter()
            .map(|f| format!("`{}` {}", f.field, f.message))
            .collect();
        Error::Unprocessable {
            message: format!("invalid input: {}", names.join("; ")),
            fields,
        }
    }

    /// What a client may be told: the message, but for a failure inside
    /// the server (the database's, say), whose details are for the log
    /// alone; a REST answer, an import job and its events say this.
    pub(crate) fn public_message(&self) -> String {
        match self {
            Error::Database(_) | Error::Internal(_) | Error::Schema(_) => {
                "internal error; the server log has the details".to_owned()
            }
            other => other.to_string(),
        }
    }

    fn code(&self) -> (StatusCode, ErrorCode) {
        match self {
            Error::Unauthorized(_) => (StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized),
            Error::Forbidden(_) => (StatusCode::FORBIDDEN, ErrorCode::Forbidden),
            Error::BadRequest(_) => (StatusCode::BAD_REQUEST, ErrorCode::BadRequest),
            Error::NotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            Error::Unprocessable { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::Unprocessable)
            }
            Error::Conflict { .. } | Error::InUse(_) => (StatusCode::CONFLICT, ErrorCode::Conflict),
            Error::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::TooLarge),
            Error::MethodNotAllowed(_) => {
                (StatusCode::METHOD_NOT_ALLOWED, ErrorCode::MethodNotAllowed)
            }
            Error::TooManyRequests(_) => {
                (StatusCode::TOO_MANY_REQUESTS, ErrorCode::TooManyRequests)
            }
            Error::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable),
            Error::Database(_) | Error::Internal(_) | Error::Schema(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal)
            }
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, code) = self.code();
        match self {
            Error::Conflict { message, current } => (
                status,
                Json(Conflict {
                    code,
                    message,
                    current,
                }),
            )
                .into_response(),
            Error::Unprocessable { message, fields } => (
                status,
                Json(ApiError {
                    code,
                    message,
                    fields,
                }),
            )
                .into_response(),
            Error::Database(_) | Error::Internal(_) | Error::Schema(_) => {
                tracing::error!(error = %self, "request failed");
                let message = self.public_message();
                (
                    status,
                    Json(ApiError {
                        code,
                        message,
                        fields: Vec::new(),
                    }),
                )
                    .into_response()
            }
            Error::Unavailable(message) => (
                status,
                [(axum::http::header::RETRY_AFTER, RETRY_AFTER_SECONDS)],
                Json(ApiError {
                    code,
                    message,
                    fields: Vec::new(),
                }),
            )
                .into_response(),
            other => {
                let message = other.to_string();
                (
                    status,
                    Json(ApiError {
                        code,
                        message,
                        fields: Vec::new(),
                    }),
                )
                    .into_response()
            }
        }
    }
}

/// The field an input error is about: the path serde stopped at, and for a
/// missing field (which serde reports at its parent) the field itself.
fn field_of(path: &str, message: &str) -> String {
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name);
    match (path, missing) {
        (".", Some(name)) => name.to_owned(),
        (".", None) => String::new(),
        (path, Some(name)) => format!("{path}.{name}"),
        (path, None) => path.to_owned(),
    }
}

/// Deserialises JSON, turning a failure into a 422 naming the field.
///
/// JSON Schema, which the OpenAPI document speaks, and JavaScript count
/// `5.0` a whole number; serde refuses it for an integer. A body that
/// failed is read once more with its whole floats written as integers, so
/// the API takes what its document allows (a float field takes `5` as
/// well as `5.0`).
pub fn deserialize_input<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    let error = match serde_path_to_error::deserialize(deserializer) {
        Ok(input) => return Ok(input),
        Err(error) => error,
    };
    if let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(body)
        && whole_floats_to_integers(&mut value)
        && let Ok(input) = serde_path_to_error::deserialize(value)
    {
        return Ok(input);
    }
    let message = error.inner().to_string();
    Err(Error::Unprocessable {
        message: format!("invalid input: {message}"),
        fields: vec![FieldError {
            field: field_of(&error.path().to_string(), &message),
            message,
        }],
    })
}

/// [`whole_floats_to_integers`] of each of `values`, every one visited.
fn every<'a>(values: impl Iterator<Item = &'a mut serde_json::Value>) -> bool {
    let mut any = false;
    for value in values {
        any |= whole_floats_to_integers(value);
    }
    any
}

/// Writes every float of `value` with no fraction, within `i64`, as an
/// integer; whether there was one.
pub(crate) fn whole_floats_to_integers(value: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::Number(number) if number.is_f64() => {
            let float = number.as_f64().unwrap_or(f64::NAN);
            let whole = float.fract() == 0.0 && float.abs() < 9.2e18;
            if whole {
                *value = Value::from(float as i64);
            }
            whole
        }
        Value::Array(items) => every(items.iter_mut()),
        Value::Object(map) => every(map.values_mut()),
        _ => false,
    }
}

/// The same as [`deserialize_input`], from a JSON value.
pub fn deserialize_value<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let message = error.inner().to_string();
        (field_of(&error.path().to_string(), &message), message)
    })
}

/// The query string as `T`, refused with a JSON 400 that names the
/// problem (an unknown parameter, say: `T` should deny unknown fields, so
/// that a typo such as `dryrun` never goes unnoticed).
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Error> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(value)| ApiQuery(value))
            .map_err(|rejection| Error::BadRequest(rejection.body_text()))
    }
}

/// The query of a route that takes no parameters.
#[derive(serde::Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// Any error response of the API that is not JSON yet (what axum's own
/// extractors and routing answer: a bad query string, a body over its
/// limit, a method the path does not have) as an [`ApiError`] with the
/// same status and its text as the message.
pub(crate) async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body).trim().to_owned();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_lowercase()
    } else {
        text
    };
    let error = match status {
        StatusCode::UNAUTHORIZED => Error::Unauthorized(message),
        StatusCode::FORBIDDEN => Error::Forbidden(message),
        StatusCode::NOT_FOUND => Error::NotFound(message),
        StatusCode::METHOD_NOT_ALLOWED => Error::MethodNotAllowed(message),
        StatusCode::PAYLOAD_TOO_LARGE => Error::TooLarge(message),
        StatusCode::TOO_MANY_REQUESTS => Error::TooManyRequests(message),
        StatusCode::UNPROCESSABLE_ENTITY => Error::Unprocessable {
            message,
            fields: Vec::new(),
        },
        StatusCode::SERVICE_UNAVAILABLE => Error::Unavailable(message),
        status if status.is_server_error() => Error::Internal(message),
        _ => Error::BadRequest(message),
    };
    let mut response = error.into_response();
    // The status stays what it was (415, say, which has no code of its own).
    *response.status_mut() = status;
    response
}

/// A change the schema check will not make: the module, the column, what
/// changed, and the way out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub module: String,
    pub column: String,
    pub change: String,
    pub way_out: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "module `{}`, column `{}`: {}; {}",
            self.module, self.column, self.change, self.way_out
        )
    }
}

/// The refused changes, as the error [`crate::Api::install`] returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaError {
    pub refusals: Vec<Refusal>,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the database does not match the modules, and {} change(s) cannot be made \
             automatically:",
            self.refusals.len()
        )?;
        for refusal in &self.refusals {
            write!(f, "\n  - {refusal}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SchemaError {}
