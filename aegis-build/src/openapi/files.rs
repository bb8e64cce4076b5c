//! The file routes of a module's file fields (`aegis/src/files/routes.rs`):
//! an upload takes the bytes and answers a `StoredFile`; a download gives
//! them back to whoever may read the row.

use aegis_model::Field;
use heck::ToUpperCamelCase;
use utoipa::openapi::path::{HttpMethod, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{ContentBuilder, Required, ResponseBuilder};

use super::responses::{Failure, json_response, operation};
use super::schema::{self, component};
use crate::collect::Unit;

/// The longest name a file keeps (`aegis/src/files/sniff.rs`).
const MAX_NAME_CHARS: usize = 255;

/// A name the server keeps: no folder, no control character, not blank.
const NAME_PATTERN: &str =
    r"^[^/\\\x00-\x1f\x7f-\x9f]*[^/\\\s\x00-\x1f\x7f-\x9f][^/\\\x00-\x1f\x7f-\x9f]*$";

/// Per file field, its upload and its download.
pub(super) fn file_paths(unit: &Unit, base: &str) -> Vec<(String, PathItem)> {
    unit.module
        .sent_fields()
        .filter(|f| f.is_file() && f.is_input())
        .flat_map(|field| {
            [
                (
                    format!("{base}/files/{}", field.wire_name),
                    PathItem::new(HttpMethod::Post, upload(unit, field)),
                ),
                (
                    format!("{base}/{{id}}/files/{}", field.wire_name),
                    PathItem::new(HttpMethod::Get, download(unit, field)),
                ),
            ]
        })
        .collect()
}

fn binary() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::Custom("binary".to_owned())))
}

fn upload(unit: &Unit, field: &Field) -> utoipa::openapi::path::OperationBuilder {
    use Failure::*;
    let spec = field.file.as_ref().expect("a file field");
    let names = &unit.module.names;
    let types = if spec.types.is_empty() {
        "any type".to_owned()
    } else {
        spec.types.join(", ")
    };
    let name = ParameterBuilder::new()
        .name("name")
        .parameter_in(ParameterIn::Query)
        .required(Required::True)
        .description(Some("The file's name, without any folder."))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(MAX_NAME_CHARS))
                .pattern(Some(NAME_PATTERN)),
        ))
        .build();
    let body = RequestBodyBuilder::new()
        .required(Some(Required::True))
        .description(Some(format!(
            "The bytes, at most {} of them; the server reads their type ({types}) from them.",
            spec.max_bytes
        )))
        .content(
            "application/octet-stream",
            ContentBuilder::new()
                .schema(Some(binary().min_length(Some(1))))
                .build(),
        )
        .build();
    operation(
        unit,
        format!(
            "upload{}{}",
            names.entity_type(),
            field.ident.to_upper_camel_case()
        ),
        format!(
            "{}: upload a {}",
            names.title_plural(),
            field.label.to_lowercase()
        ),
        &[BadRequest, TooLarge, Unprocessable, TooMany],
    )
    .parameter(name)
    .request_body(Some(body))
    .response(
        "201",
        json_response(
            "Stored: what a row's field then holds.",
            component("StoredFile"),
        ),
    )
}

fn download(unit: &Unit, field: &Field) -> utoipa::openapi::path::OperationBuilder {
    use Failure::*;
    let names = &unit.module.names;
    let id = ParameterBuilder::new()
        .name("id")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .schema(Some(schema::value(unit.module.id_field())))
        .build();
    operation(
        unit,
        format!(
            "download{}{}",
            names.entity_type(),
            field.ident.to_upper_camel_case()
        ),
        format!(
            "{}: a row's {}",
            names.title_plural(),
            field.label.to_lowercase()
        ),
        &[NotFound],
    )
    .parameter(id)
    .response(
        "200",
        ResponseBuilder::new()
            .description(
                "The file, of the type the server read from it: shown inline when an image, \
                 else an attachment.",
            )
            .content("*/*", ContentBuilder::new().schema(Some(binary())).build())
            .build(),
    )
}
