//! A row's history (`aegis/src/history_routes.rs`): its entries a page at
//! a time, and the restore of one entry's version as a new change.

use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Required};

use super::paths::{page_parameters, path_parameter};
use super::responses::{Failure, json_response, operation};
use super::schema::{self, component};
use crate::collect::Unit;

/// `{base}/{id}/history` and `{base}/{id}/history/{entry}/restore`.
pub(super) fn history_paths(unit: &Unit, base: &str) -> Vec<(String, PathItem)> {
    vec![
        (
            format!("{base}/{{id}}/history"),
            PathItem::new(HttpMethod::Get, read(unit)),
        ),
        (
            format!("{base}/{{id}}/history/{{entry}}/restore"),
            PathItem::new(HttpMethod::Post, restore(unit)),
        ),
    ]
}

fn read(unit: &Unit) -> OperationBuilder {
    use Failure::*;
    let names = &unit.module.names;
    let id = path_parameter("id", schema::value(unit.module.id_field())).build();
    let mut operation = operation(
        unit,
        format!("get{}History", names.entity_type()),
        format!("{}: a row's history, newest first", names.title_plural()),
        &[BadRequest, NotFound],
    )
    .parameter(id);
    for parameter in page_parameters("Entries") {
        operation = operation.parameter(parameter);
    }
    operation.response(
        "200",
        json_response(
            "A page of the row's history, to whoever may read the row (a deleted row's, to \
             whoever could read it last).",
            component("HistoryPage"),
        ),
    )
}

fn restore(unit: &Unit) -> OperationBuilder {
    use Failure::*;
    let module = &unit.module;
    let names = &module.names;
    let entity = names.entity_type();
    let id = path_parameter("id", schema::value(module.id_field())).build();
    let entry = path_parameter(
        "entry",
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .into(),
    )
    .description(Some(
        "The id of the row's history entry whose version is written back.",
    ))
    .build();
    let body = RequestBodyBuilder::new()
        .required(Some(Required::False))
        .description(Some(if module.version.is_some() {
            "The version of the row the client saw: a restore based on another is a 409. \
             Without it, the row's own."
        } else {
            "Empty, or `{}`: the module has no versions."
        }))
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(component("Restore")))
                .build(),
        )
        .build();
    let mut operation = operation(
        unit,
        format!("restore{entity}Version"),
        format!(
            "{}: write an older version back, as a save",
            names.title_plural()
        ),
        &[BadRequest, NotFound, TooLarge, Unprocessable],
    )
    .parameter(id)
    .parameter(entry)
    .request_body(Some(body))
    .response(
        "200",
        json_response(
            "The row as now saved: a new change, with its history entry and event.",
            component(&entity),
        ),
    );
    if module.version.is_some() {
        operation = operation.response(
            "409",
            json_response(
                "The restore was based on an old version: `current` is the row as it is now.",
                component(&format!("{entity}Conflict")),
            ),
        );
    }
    operation
}
