//! The routes of one module, as the runtime serves them (`aegis/src/crud.rs`,
//! `bulk.rs`, `import/`, `query.rs`), with every answer each can give.

use aegis_model::{Field, StorageKind};
use aegis_protocol::query::{FilterOp, MAX_IN_VALUES};
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, Parameter, ParameterBuilder, ParameterIn, ParameterStyle,
    PathItem, PathItemBuilder,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{
    AdditionalProperties, AllOfBuilder, ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type,
};
use utoipa::openapi::{ContentBuilder, RefOr, Required, ResponseBuilder};

use super::entity::create_example;
use super::responses::{CSV, Failure, csv_response, json_body, json_response, operation};
use super::schema::{self, component, typed};
use crate::collect::Unit;

/// Rows one bulk delete deletes at most, by default (`aegis::Limits`).
const BULK_DELETE_ROWS: usize = 1_000;

fn query(name: &str, description: String, schema: impl Into<RefOr<Schema>>) -> ParameterBuilder {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
}

/// A field the view filters by: what `query.rs` calls viewable.
fn filterable<'a>(unit: &'a Unit, sortable: &'a [String]) -> impl Iterator<Item = &'a Field> {
    unit.module.fields.iter().filter(|f| {
        !f.is_transient()
            && !f.hidden
            && (f.storage != StorageKind::Json
                || f.many.is_some()
                || f.is_file()
                || sortable.contains(&f.wire_name))
    })
}

/// `sort`: a field that sorts, ascending or `-field` descending, or
/// nothing (the default order, by id).
fn sort_parameter(sortable: &[String]) -> ParameterBuilder {
    let orders = std::iter::once(String::new()).chain(
        sortable
            .iter()
            .flat_map(|name| [name.clone(), format!("-{name}")]),
    );
    query(
        "sort",
        "The order: a field, ascending, or `-field`, descending; ties by id.".into(),
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(orders))
            .build(),
    )
}

/// The parameters of a view, as the list and the export read it: `q`,
/// `sort` over the fields that sort, and one parameter per filter.
fn view_parameters(unit: &Unit) -> Vec<Parameter> {
    let sortable = crate::context::sortable_fields(unit);
    let mut parameters = vec![query(
        "q",
        "Text to find in the text fields, ignoring case (at most `Limits::max_search_chars`, \
         200 by default)."
            .into(),
        typed(Type::String),
    )];
    if !sortable.is_empty() {
        parameters.push(sort_parameter(&sortable));
    }
    for field in filterable(unit, &sortable) {
        let name = &field.wire_name;
        let value = schema::filter_value(field);
        for op in crate::context::filter_ops(field) {
            let description = format!("Rows whose `{name}` is {}.", op.meaning());
            let parameter = match op {
                FilterOp::In | FilterOp::HasAny => query(
                    &format!("{name}.{}", op.as_str()),
                    description,
                    ArrayBuilder::new()
                        .items(value.clone())
                        .min_items(Some(1))
                        .max_items(Some(MAX_IN_VALUES))
                        .build(),
                )
                .style(Some(ParameterStyle::Form))
                .explode(Some(false)),
                FilterOp::Contains => query(
                    &format!("{name}.contains"),
                    description,
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1))
                        .build(),
                ),
                FilterOp::Empty => {
                    query(&format!("{name}.empty"), description, typed(Type::Boolean))
                }
                _ => query(
                    &format!("{name}.{}", op.as_str()),
                    description,
                    value.clone(),
                ),
            };
            parameters.push(parameter);
        }
    }
    parameters
        .into_iter()
        .map(ParameterBuilder::build)
        .collect()
}

fn with_parameters(
    operation: OperationBuilder,
    parameters: impl IntoIterator<Item = Parameter>,
) -> OperationBuilder {
    parameters
        .into_iter()
        .fold(operation, |operation, p| operation.parameter(p))
}

pub(super) fn path_parameter(name: &str, schema: RefOr<Schema>) -> ParameterBuilder {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .schema(Some(schema))
}

/// `page` and `pageSize`, of a page of `what` (`Rows`, `Entries`).
pub(super) fn page_parameters(what: &str) -> [Parameter; 2] {
    let number = || {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(0))
            .maximum(Some(u32::MAX))
            .build()
    };
    [
        query("page", "The page, from 1 (0 reads as 1).".into(), number()).build(),
        query(
            "pageSize",
            format!(
                "{what} a page: 1 to `Limits::max_page_size` (200 by default); 0 reads as 1, \
                 and more as the most."
            ),
            number(),
        )
        .build(),
    ]
}

/// Every path of `unit`'s feature, with its operations.
pub(super) fn module_paths(unit: &Unit) -> Vec<(String, PathItem)> {
    let base = format!("/api/{}", unit.module.names.feature());
    // The list and the export read one view: its parameters, made once.
    let view = view_parameters(unit);
    let mut paths = vec![
        (
            base.clone(),
            PathItemBuilder::new()
                .operation(HttpMethod::Get, list_operation(unit, view.clone()))
                .operation(HttpMethod::Post, create_operation(unit))
                .build(),
        ),
        (format!("{base}/{{id}}"), row_path(unit)),
        (
            format!("{base}/export"),
            PathItem::new(HttpMethod::Get, export_operation(unit, view)),
        ),
        (
            format!("{base}/bulk-delete"),
            PathItem::new(HttpMethod::Post, bulk_delete_operation(unit)),
        ),
    ];
    paths.extend(super::files::file_paths(unit, &base));
    if unit.module.with_history {
        paths.extend(super::history::history_paths(unit, &base));
    }
    if unit.module.with_import {
        paths.extend(import_paths(unit, &base));
    }
    paths
}

/// An operation of `unit`'s named `id`, with its failures' answers.
fn op(unit: &Unit, id: &str, summary: String, failures: &[Failure]) -> OperationBuilder {
    operation(unit, id.to_owned(), summary, failures)
}

/// `GET /api/<feature>`: a page of the view.
fn list_operation(unit: &Unit, view: Vec<Parameter>) -> OperationBuilder {
    use Failure::*;
    let names = &unit.module.names;
    let (entity, plural, titles) = (
        names.entity_type(),
        names.collection_type(),
        names.title_plural(),
    );
    with_parameters(
        op(
            unit,
            &format!("list{plural}"),
            format!("{titles}: a page of the view"),
            &[BadRequest],
        ),
        page_parameters("Rows").into_iter().chain(view),
    )
    .response(
        "200",
        json_response(
            "The page, the view's `total`, and the feature's `seq` when it was read.",
            component(&format!("{entity}List")),
        ),
    )
}

/// `POST /api/<feature>`: create one.
fn create_operation(unit: &Unit) -> OperationBuilder {
    use Failure::*;
    let names = &unit.module.names;
    let (entity, titles) = (names.entity_type(), names.title_plural());
    op(
        unit,
        &format!("create{entity}"),
        format!("{titles}: create one"),
        &[BadRequest, TooLarge, Unprocessable],
    )
    .request_body(Some(json_body(
        component(&names.create_type()),
        Some(create_example(unit)),
    )))
    .response(
        "201",
        json_response("The row, as stored.", component(&entity)),
    )
}

/// `/api/<feature>/{id}`: get, save and delete one.
fn row_path(unit: &Unit) -> PathItem {
    use Failure::*;
    let module = &unit.module;
    let names = &module.names;
    let (entity, titles) = (names.entity_type(), names.title_plural());
    let id = path_parameter("id", schema::value(module.id_field())).build();
    let get = op(
        unit,
        &format!("get{entity}"),
        format!("{titles}: one by id"),
        &[NotFound],
    )
    .parameter(id.clone())
    .response("200", json_response("The row.", component(&entity)));
    let mut update = op(
        unit,
        &format!("update{entity}"),
        format!("{titles}: save one"),
        &[BadRequest, NotFound, TooLarge, Unprocessable],
    )
    .parameter(id.clone())
    .request_body(Some(json_body(component(&names.update_type()), None)))
    .response(
        "200",
        json_response("The row, as stored.", component(&entity)),
    );
    if module.version.is_some() {
        update = update.response(
            "409",
            json_response(
                "The change was based on an old version: `current` is the row as it is now.",
                component(&format!("{entity}Conflict")),
            ),
        );
    }
    let delete = op(
        unit,
        &format!("delete{entity}"),
        format!("{titles}: delete one"),
        &[NotFound, InUse],
    )
    .parameter(id)
    .response(
        "204",
        ResponseBuilder::new().description("Deleted.").build(),
    );
    PathItemBuilder::new()
        .operation(HttpMethod::Get, get)
        .operation(HttpMethod::Put, update)
        .operation(HttpMethod::Delete, delete)
        .build()
}

/// `GET /api/<feature>/export`: the view as CSV.
fn export_operation(unit: &Unit, view: Vec<Parameter>) -> OperationBuilder {
    use Failure::*;
    let names = &unit.module.names;
    let (plural, titles) = (names.collection_type(), names.title_plural());
    with_parameters(
        op(
            unit,
            &format!("export{plural}"),
            format!("{titles}: the view as CSV"),
            &[BadRequest, TooMany],
        ),
        view,
    )
    .response(
        "200",
        csv_response("Every row of the view, in the import template's columns, streamed."),
    )
}

/// `POST /api/<feature>/bulk-delete`: delete many at once.
fn bulk_delete_operation(unit: &Unit) -> OperationBuilder {
    use Failure::*;
    let names = &unit.module.names;
    let (plural, titles) = (names.collection_type(), names.title_plural());
    op(
        unit,
        &format!("bulkDelete{plural}"),
        format!("{titles}: delete many at once"),
        &[BadRequest, NotFound, InUse, TooLarge, Unprocessable],
    )
    .request_body(Some(json_body(bulk_delete_body(unit), None)))
    .response(
        "200",
        json_response(
            "How many rows were deleted, in one transaction.",
            component("BulkDeleted"),
        ),
    )
}

/// What a bulk delete of `unit` takes (`BulkDelete`, as the server reads
/// it): exactly one of `ids` (the module's ids, at most
/// `Limits::bulk_delete_rows` by default) and `query` (a list's query
/// string), the other absent or `null`, and no other key.
fn bulk_delete_body(unit: &Unit) -> RefOr<Schema> {
    let ids = ArrayBuilder::new()
        .items(schema::value(unit.module.id_field()))
        .max_items(Some(BULK_DELETE_ROWS))
        .description(Some("These rows."))
        .build();
    let query = ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(
            "Every row of this view: a list's query string, `q` and filters.",
        ))
        .build();
    let given = |name: &str, schema: RefOr<Schema>| {
        ObjectBuilder::new()
            .property(name, schema)
            .required(name)
            .build()
    };
    let mut body = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "ids",
            schema::nullable(RefOr::T(Schema::Array(ids.clone()))),
        )
        .property(
            "query",
            schema::nullable(RefOr::T(Schema::Object(query.clone()))),
        )
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .description(Some("Either `ids` or `query`."))
        .build();
    body.title = Some("BulkDelete".to_owned());
    let one_of = OneOfBuilder::new()
        .item(given("ids", RefOr::T(Schema::Array(ids))))
        .item(given("query", RefOr::T(Schema::Object(query))))
        .build();
    RefOr::T(Schema::AllOf(
        AllOfBuilder::new()
            .item(RefOr::T(Schema::Object(body)))
            .item(RefOr::T(Schema::OneOf(one_of)))
            .build(),
    ))
}

fn import_paths(unit: &Unit, base: &str) -> Vec<(String, PathItem)> {
    use Failure::*;
    let names = &unit.module.names;
    let plural = names.collection_type();
    let titles = names.title_plural();
    let start = operation(
        unit,
        format!("import{plural}"),
        format!("{titles}: import a CSV file"),
        &[BadRequest, TooLarge, TooMany],
    )
    .parameter(query(
        "dryRun",
        "Check every row and report, writing nothing.".into(),
        typed(Type::Boolean),
    ))
    .request_body(Some(csv_upload()))
    .response(
        "202",
        json_response(
            "The job started; follow it at `import/{jobId}` or by its events.",
            component("ImportAccepted"),
        ),
    );
    let template = operation(
        unit,
        format!("import{plural}Template"),
        format!("{titles}: the CSV header row an import reads"),
        &[],
    )
    .response("200", csv_response("The header row."));
    let job = operation(
        unit,
        format!("import{plural}Job"),
        format!("{titles}: an import job's figures and first errors"),
        &[NotFound],
    )
    .parameter(path_parameter("jobId", typed(Type::String).into()))
    .response("200", json_response("The job.", component("ImportJob")));
    vec![
        (
            format!("{base}/import"),
            PathItem::new(HttpMethod::Post, start),
        ),
        (
            format!("{base}/import/template"),
            PathItem::new(HttpMethod::Get, template),
        ),
        (
            format!("{base}/import/{{jobId}}"),
            PathItem::new(HttpMethod::Get, job),
        ),
    ]
}

/// An import's body: the CSV file, alone or as a form's `file` part.
/// An empty file is refused (400): a file has at least a header row.
fn csv_upload() -> utoipa::openapi::request_body::RequestBody {
    let csv_file = ContentBuilder::new()
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .build(),
        ))
        .build();
    let form = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "file",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .content_media_type(CSV)
                .min_length(Some(1))
                .build(),
        )
        .required("file")
        .build();
    RequestBodyBuilder::new()
        .required(Some(Required::True))
        .content(CSV, csv_file)
        .content(
            "multipart/form-data",
            ContentBuilder::new().schema(Some(form)).build(),
        )
        .build()
}

/// The probes every app serves beside its modules, without a token:
/// `{status, checks}` (`aegis/src/lifecycle.rs`).
pub(super) fn probe_paths() -> Vec<(String, PathItem)> {
    let health = || {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property(
                "status",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["ok", "unavailable"])),
            )
            .required("status")
            .property(
                "checks",
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .description(Some("Each part checked: `ok`, or why not."))
                    .additional_properties(Some(AdditionalProperties::RefOr(
                        typed(Type::String).into(),
                    ))),
            )
            .required("checks")
            .build()
    };
    let probe = |id: &str, summary: &str| {
        OperationBuilder::new()
            .operation_id(Some(id))
            .tag("probes")
            .summary(Some(summary))
            .securities(Some(Vec::new()))
            .response(
                "200",
                json_response("Every check is `ok`.", health().into()),
            )
    };
    vec![
        (
            "/healthz".to_owned(),
            PathItem::new(
                HttpMethod::Get,
                probe("alive", "The process is alive").build(),
            ),
        ),
        (
            "/readyz".to_owned(),
            PathItem::new(
                HttpMethod::Get,
                probe(
                    "ready",
                    "The instance takes traffic: database reachable, schema installed, relay \
                     listening, not stopping",
                )
                .response(
                    "503",
                    json_response(
                        "Not ready, or stopping: `checks` says why.",
                        health().into(),
                    ),
                )
                .build(),
            ),
        ),
    ]
}
