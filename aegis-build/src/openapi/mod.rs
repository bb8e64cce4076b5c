//! `openapi.json`: the REST API of an app's modules as an OpenAPI 3.1
//! document, from the same model the TypeScript comes from. Written beside
//! the generated web files (so a change shows in review) and into
//! `OUT_DIR`, where `aegis_modules::api()` takes it to serve at
//! `GET /api/openapi.json`.
//!
//! The document is built with utoipa's OpenAPI types, so its shape is the
//! specification's by construction; every schema and parameter comes from
//! the model (`schema.rs`, `paths.rs`).

mod entity;
mod files;
mod history;
mod paths;
mod responses;
mod schema;

use std::collections::BTreeMap;

use aegis_model::decl::{TsDecl, TsDeclBody};
use utoipa::openapi::schema::{AdditionalProperties, Schema};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, RefOr,
    SecurityRequirement,
};

use crate::collect::Unit;
use crate::context::MARKER;
use crate::error::Error;

/// The name of the bearer scheme every module route requires.
const BEARER: &str = "bearer";

/// What the document says of the app itself.
#[derive(Clone, Debug)]
pub(crate) struct AppInfo {
    /// The package name.
    pub name: String,
    /// The package version.
    pub version: String,
}

/// A protocol type: its declaration, its properties of integer type, and
/// whether it refuses other properties (serde's `deny_unknown_fields`).
struct ProtocolType {
    decl: TsDecl,
    integers: Vec<String>,
    closed: bool,
}

/// Whether serde refuses keys `item` does not declare.
fn denies_unknown_fields(item: &syn::ItemStruct) -> bool {
    item.attrs
        .iter()
        .filter(|a| a.path().is_ident("serde"))
        .any(|attr| {
            let mut denies = false;
            let _ = attr.parse_nested_meta(|meta| {
                denies |= meta.path.is_ident("deny_unknown_fields");
                if meta.input.peek(syn::Token![=]) {
                    meta.value()?.parse::<syn::Expr>()?;
                }
                Ok(())
            });
            denies
        })
}

/// The properties of `item` whose Rust type is an integer, by JSON name.
fn integer_properties(item: &syn::ItemStruct, decl: &TsDecl) -> Vec<String> {
    let TsDeclBody::Interface(properties) = &decl.body else {
        return Vec::new();
    };
    let fields: Vec<&syn::Field> = item.fields.iter().collect();
    if fields.len() != properties.len() {
        return Vec::new();
    }
    fields
        .iter()
        .zip(properties)
        .filter(|(field, _)| {
            aegis_model::mapping::map_type(&field.ty, "")
                .is_ok_and(|mapped| mapped.storage == aegis_model::StorageKind::Integer)
        })
        .map(|(_, property)| property.name.clone())
        .collect()
}

/// aegis-protocol's types, by name.
fn protocol_types() -> Result<BTreeMap<String, ProtocolType>, Error> {
    Ok(crate::render::protocol_types()?
        .into_iter()
        .map(|(decl, item)| {
            let integers = item
                .as_ref()
                .map_or_else(Vec::new, |item| integer_properties(item, &decl));
            let closed = item.as_ref().is_some_and(denies_unknown_fields);
            let ty = ProtocolType {
                decl,
                integers,
                closed,
            };
            (ty.decl.name.clone(), ty)
        })
        .collect())
}

/// The protocol types the REST API sends or takes, and the ones they name.
const PROTOCOL_BODIES: &[&str] = &[
    "ApiError",
    "BulkDelete",
    "BulkDeleted",
    "HistoryPage",
    "ImportAccepted",
    "ImportJob",
    "Restore",
    "StoredFile",
];

/// The document, as the text written to `openapi.json`.
pub(crate) fn document(units: &[Unit], app: &AppInfo) -> Result<String, Error> {
    let text = openapi(units, app)?
        .to_pretty_json()
        .map_err(|e| Error::Config(format!("the OpenAPI document does not serialise: {e}")))?;
    // JSON has no comments: the generated marker is the first key, on the
    // first line, where the writer looks for it.
    let body = text
        .strip_prefix("{\n")
        .expect("a JSON object starts with `{`");
    Ok(format!(
        "{{ \"x-generated\": \"{MARKER} from the modules; do not edit\",\n{body}\n"
    ))
}

/// A generic protocol type over one module's entity.
fn protocol_instance(ty: &ProtocolType, entity: &str) -> RefOr<Schema> {
    schema::of_decl(&ty.decl, &[entity.to_owned()], &ty.integers)
}

fn openapi(units: &[Unit], app: &AppInfo) -> Result<OpenApi, Error> {
    let protocol = protocol_types()?;
    let mut schemas = Schemas::default();
    schemas.add_protocol(&protocol)?;
    let mut paths = PathsBuilder::new();
    let mut tags = Vec::new();
    for unit in units {
        schemas.add_module(unit, &protocol)?;
        for (path, item) in paths::module_paths(unit) {
            paths = paths.path(path, item);
        }
        let names = &unit.module.names;
        tags.push(
            TagBuilder::new()
                .name(names.feature())
                .description(Some(format!(
                    "{} (`{}`)",
                    names.title_plural(),
                    names.module()
                )))
                .build(),
        );
    }
    for (path, item) in paths::probe_paths() {
        paths = paths.path(path, item);
    }
    Ok(OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title(format!("{} API", app.name))
                .version(&app.version)
                .description(Some(
                    "The REST API of the app's Aegis modules. Every error is an `ApiError`. \
                     Live changes arrive over the WebSocket at `/ws` (Aegis protocol v1), \
                     which OpenAPI does not describe.",
                ))
                .build(),
        )
        .paths(paths.build())
        .components(Some(schemas.components().build()))
        .security(Some([SecurityRequirement::new(
            BEARER,
            Vec::<String>::new(),
        )]))
        .tags(Some(tags))
        .build())
}

/// The document's schemas by name, each with who declared it.
#[derive(Default)]
struct Schemas(BTreeMap<String, (String, RefOr<Schema>)>);

impl Schemas {
    /// Adds `schema` as `name`; the same name for another schema is an
    /// error naming both owners.
    fn add(&mut self, name: String, owner: &str, schema: RefOr<Schema>) -> Result<(), Error> {
        match self.0.get(&name) {
            Some((other, existing)) if *existing != schema => Err(Error::Config(format!(
                "the OpenAPI document cannot name two types `{name}`: {other} and {owner} declare \
                 different ones; rename one"
            ))),
            Some(_) => Ok(()),
            None => {
                self.0.insert(name, (owner.to_owned(), schema));
                Ok(())
            }
        }
    }

    /// The protocol's bodies and every type they name.
    fn add_protocol(&mut self, protocol: &BTreeMap<String, ProtocolType>) -> Result<(), Error> {
        let mut pending: Vec<String> = PROTOCOL_BODIES.iter().map(|n| (*n).to_owned()).collect();
        while let Some(name) = pending.pop() {
            let ty = &protocol[&name];
            pending.extend(
                ty.decl
                    .named_references()
                    .into_iter()
                    .filter(|n| !PROTOCOL_BODIES.contains(n))
                    .map(str::to_owned),
            );
            let mut schema = schema::of_decl(&ty.decl, &[], &ty.integers);
            if let (true, RefOr::T(Schema::Object(object))) = (ty.closed, &mut schema) {
                object.additional_properties =
                    Some(Box::new(AdditionalProperties::FreeForm(false)));
            }
            self.add(name, "aegis-protocol", schema)?;
        }
        Ok(())
    }

    /// A module's types, its entity's schemas, its list and its conflict.
    fn add_module(
        &mut self,
        unit: &Unit,
        protocol: &BTreeMap<String, ProtocolType>,
    ) -> Result<(), Error> {
        let module = &unit.module;
        let names = &module.names;
        let owner = format!("module `{}`", names.module());
        for (name, decl) in &unit.decls {
            self.add(name.clone(), &owner, schema::of_decl(decl, &[], &[]))?;
        }
        let entity = names.entity_type();
        for (name, schema) in entity::entity_schemas(unit) {
            self.add(name, &owner, schema)?;
        }
        self.add(
            format!("{entity}List"),
            &owner,
            protocol_instance(&protocol["ListResponse"], &entity),
        )?;
        if module.version.is_some() {
            self.add(
                format!("{entity}Conflict"),
                &owner,
                protocol_instance(&protocol["Conflict"], &entity),
            )?;
        }
        Ok(())
    }

    /// The components: the bearer scheme, the failures' answers and the
    /// schemas.
    fn components(self) -> ComponentsBuilder {
        let mut components = ComponentsBuilder::new().security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        for failure in responses::Failure::ALL {
            components = components.response(failure.name(), failure.response());
        }
        for (name, (_, schema)) in self.0 {
            components = components.schema(name, schema);
        }
        components
    }
}
