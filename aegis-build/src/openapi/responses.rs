//! What operations answer: JSON and CSV bodies, and the errors, each an
//! `ApiError` declared once in `components.responses`.

use serde_json::Value;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::OperationBuilder;
use utoipa::openapi::request_body::{RequestBody, RequestBodyBuilder};
use utoipa::openapi::schema::{Schema, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, Response, ResponseBuilder};

use super::schema::{component, typed};
use crate::collect::Unit;

pub(super) const JSON: &str = "application/json";
pub(super) const CSV: &str = "text/csv";

pub(super) fn json_response(description: &str, schema: RefOr<Schema>) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(JSON, ContentBuilder::new().schema(Some(schema)).build())
        .build()
}

pub(super) fn csv_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            CSV,
            ContentBuilder::new()
                .schema(Some(typed(Type::String)))
                .build(),
        )
        .build()
}

/// The errors operations answer, each an `ApiError` under its status,
/// declared once in the document's `components.responses`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Failure {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    InUse,
    TooLarge,
    Unprocessable,
    TooMany,
    Unavailable,
}

impl Failure {
    pub(super) const ALL: [Failure; 9] = [
        Failure::BadRequest,
        Failure::Unauthorized,
        Failure::Forbidden,
        Failure::NotFound,
        Failure::InUse,
        Failure::TooLarge,
        Failure::Unprocessable,
        Failure::TooMany,
        Failure::Unavailable,
    ];

    /// Its name in `components.responses`.
    pub(super) fn name(self) -> &'static str {
        match self {
            Failure::BadRequest => "BadRequest",
            Failure::Unauthorized => "Unauthorized",
            Failure::Forbidden => "Forbidden",
            Failure::NotFound => "NotFound",
            Failure::InUse => "InUse",
            Failure::TooLarge => "TooLarge",
            Failure::Unprocessable => "Unprocessable",
            Failure::TooMany => "TooMany",
            Failure::Unavailable => "Unavailable",
        }
    }

    /// The response, for `components.responses`.
    pub(super) fn response(self) -> Response {
        let response = json_response(self.description(), component("ApiError"));
        if self != Failure::Unavailable {
            return response;
        }
        let retry_after = HeaderBuilder::new()
            .schema(typed(Type::Integer))
            .description(Some("Seconds to wait before trying again."))
            .build();
        let mut response = response;
        response
            .headers
            .insert("Retry-After".to_owned(), retry_after);
        response
    }

    fn status(self) -> &'static str {
        match self {
            Failure::BadRequest => "400",
            Failure::Unauthorized => "401",
            Failure::Forbidden => "403",
            Failure::NotFound => "404",
            Failure::InUse => "409",
            Failure::TooLarge => "413",
            Failure::Unprocessable => "422",
            Failure::TooMany => "429",
            Failure::Unavailable => "503",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Failure::BadRequest => {
                "A parameter or the body is not understood; `message` names what and why."
            }
            Failure::Unauthorized => "No bearer token, or one that does not verify.",
            Failure::Forbidden => {
                "The token does not grant this feature (read or write), or a hook refuses."
            }
            Failure::NotFound => "No such row or job.",
            Failure::InUse => {
                "Other rows still reference it; `message` names their module and field."
            }
            Failure::TooLarge => "The body is over its limit.",
            Failure::Unprocessable => {
                "A value does not fit its field (its type, a rule, a reference, a hook): every \
                 failing field in `fields`."
            }
            Failure::TooMany => "Too many at once from this user or on this instance; try later.",
            Failure::Unavailable => {
                "Not now: the database took longer than a statement may, or the server is \
                 stopping; `Retry-After` says when to try again."
            }
        }
    }
}

/// An operation of `unit`'s feature, answering `failures` as `ApiError`s
/// (and every operation 401, 403 and 503) and anything else (500) as the
/// default.
pub(super) fn operation(
    unit: &Unit,
    id: String,
    summary: String,
    failures: &[Failure],
) -> OperationBuilder {
    let mut failures = failures.to_vec();
    failures.extend([
        Failure::Unauthorized,
        Failure::Forbidden,
        Failure::Unavailable,
    ]);
    failures.sort_by_key(|f| f.status());
    failures.dedup();
    failures
        .into_iter()
        .fold(
            OperationBuilder::new()
                .operation_id(Some(id))
                .tag(unit.module.names.feature())
                .summary(Some(summary)),
            |operation, failure| {
                operation.response(
                    failure.status(),
                    RefOr::Ref(Ref::from_response_name(failure.name())),
                )
            },
        )
        .response(
            "default",
            json_response("Any other failure (500 `internal`).", component("ApiError")),
        )
}

pub(super) fn json_body(schema: RefOr<Schema>, example: Option<Value>) -> RequestBody {
    RequestBodyBuilder::new()
        .required(Some(Required::True))
        .content(
            JSON,
            ContentBuilder::new()
                .schema(Some(schema))
                .example(example)
                .build(),
        )
        .build()
}
