//! The one error type of the REST surface. Clients get a status and an
//! [`ApiError`] body with a clear message; internal details go to the log.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::protocol::{ApiError, Conflict, ErrorCode, FieldError};

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
    #[error("{0}")]
    TooLarge(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The tables do not match the modules in ways not changed automatically.
    #[error("{0}")]
    Schema(crate::schema::SchemaError),
    #[error("{0}")]
    Internal(String),
}

impl Error {
    fn code(&self) -> (StatusCode, ErrorCode) {
        match self {
            Error::Unauthorized(_) => (StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized),
            Error::Forbidden(_) => (StatusCode::FORBIDDEN, ErrorCode::Forbidden),
            Error::BadRequest(_) => (StatusCode::BAD_REQUEST, ErrorCode::BadRequest),
            Error::NotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            Error::Unprocessable { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::Unprocessable)
            }
            Error::Conflict { .. } => (StatusCode::CONFLICT, ErrorCode::Conflict),
            Error::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::TooLarge),
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
                let message = "internal error; the server log has the details".to_owned();
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

/// Deserialises JSON, turning a failure into a 422 naming the field.
pub fn deserialize_input<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let field = error.path().to_string();
        let message = error.inner().to_string();
        Error::Unprocessable {
            message: format!("invalid input: {message}"),
            fields: vec![FieldError {
                field: if field == "." { String::new() } else { field },
                message,
            }],
        }
    })
}

/// The same as [`deserialize_input`], from a JSON value.
pub fn deserialize_value<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let field = error.path().to_string();
        (
            if field == "." { String::new() } else { field },
            error.inner().to_string(),
        )
    })
}
