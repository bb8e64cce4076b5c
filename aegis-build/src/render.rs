//! Render: the IR to file contents, with handlebars. Pure: nothing here
//! touches the disk except reading template overrides.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aegis_model::decl::{TsDecl, enum_decl, struct_decl};
use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderErrorReason,
    Renderable, StringOutput,
};
use serde::Serialize;
use syn::Item;

use crate::collect::Unit;
use crate::context::{HEADER, feature_context, shared_context};
use crate::error::Error;

/// A template: its name (also its override's path in a template folder,
/// plus `.hbs`) and its embedded text.
struct Template {
    name: &'static str,
    text: &'static str,
}

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(Template { name: $name, text: include_str!(concat!("../templates/", $name, ".hbs")) }),*]
    };
}

const TEMPLATES: &[Template] = templates![
    "shared/protocol.types.ts",
    "shared/aegis.routes.ts",
    "feature/types.ts",
    "feature/service.ts",
    "feature/state-manager.ts",
    "feature/list.component.ts",
    "feature/list.component.html",
    "feature/form.dialog.ts",
    "feature/routes.ts",
];

/// A runtime file the same for every app: a real TypeScript file under
/// `aegis-build/runtime/` (type-checked there, in place), written out with
/// the generated header. Its name is also its override's, as for templates.
struct RuntimeFile {
    name: &'static str,
    /// Where it is written, under the web root; also its path under
    /// `aegis-build/runtime/`.
    path: &'static str,
    text: &'static str,
}

macro_rules! runtime_files {
    ($($name:literal => $path:literal),* $(,)?) => {
        &[$(RuntimeFile { name: $name, path: $path, text: include_str!(concat!("../runtime/", $path)) }),*]
    };
}

const RUNTIME_FILES: &[RuntimeFile] = runtime_files![
    "shared/aegis-api.ts" => "shared/business/services/aegis-api.ts",
    "shared/list-query.ts" => "shared/business/services/list-query.ts",
    "shared/list-location.ts" => "shared/business/services/list-location.ts",
    "shared/mutations.ts" => "shared/business/services/mutations.ts",
    "shared/websocket.service.ts" => "shared/business/services/websocket.service.ts",
    "shared/base-realtime-state.manager.ts" => "shared/business/services/base-realtime-state.manager.ts",
    "shared/base-polled-state.manager.ts" => "shared/business/services/base-polled-state.manager.ts",
    "shared/import-tracker.ts" => "shared/business/services/import-tracker.ts",
    "shared/list-view.ts" => "shared/business/services/list-view.ts",
    "shared/item-events.ts" => "shared/business/services/item-events.ts",
    "shared/sign-in.ts" => "shared/business/services/sign-in.ts",
    "shared/view-filters.ts" => "shared/ui/view-filters.ts",
    "shared/reference-labels.ts" => "shared/business/services/reference-labels.ts",
    "shared/reference-input.ts" => "shared/ui/reference-input.ts",
    "shared/form-values.ts" => "shared/business/forms/form-values.ts",
    "shared/rules.ts" => "shared/business/forms/rules.ts",
    "shared/confirm.dialog.ts" => "shared/ui/confirm.dialog.ts",
    "shared/feature-state.ts" => "shared/business/services/feature-state.ts",
    "shared/page-cache.ts" => "shared/business/services/page-cache.ts",
    "shared/list-selection.ts" => "shared/business/services/list-selection.ts",
    "shared/downloads.ts" => "shared/business/services/downloads.ts",
    "shared/import.dialog.ts" => "shared/ui/import.dialog.ts",
    "shared/selection-bar.ts" => "shared/ui/selection-bar.ts",
    "shared/conflict-banner.ts" => "shared/ui/conflict-banner.ts",
    "shared/change-note.ts" => "shared/ui/change-note.ts",
    "shared/remote-change.ts" => "shared/ui/remote-change.ts",
    "shared/running-imports.ts" => "shared/ui/running-imports.ts",
    "shared/reference-label.pipe.ts" => "shared/ui/reference-label.pipe.ts",
    "shared/typed-rows.ts" => "shared/ui/typed-rows.ts",
    "shared/child-panels.ts" => "shared/ui/child-panels.ts",
    "shared/link-chips.ts" => "shared/ui/link-chips.ts",
    "shared/reference-list-input.ts" => "shared/ui/reference-list-input.ts",
    "shared/file-transfer.ts" => "shared/business/services/file-transfer.ts",
    "shared/file-input.ts" => "shared/ui/file-input.ts",
    "shared/file-cell.ts" => "shared/ui/file-cell.ts",
    "shared/row-history.ts" => "shared/ui/row-history.ts",
    "shared/feature-list.scss" => "shared/ui/feature-list.scss",
];

/// The embedded templates: name and text.
#[cfg(test)]
pub(crate) fn embedded_templates() -> impl Iterator<Item = (&'static str, &'static str)> {
    TEMPLATES.iter().map(|t| (t.name, t.text))
}

/// Where a shared file (by template name) is written, under the web root.
pub(crate) fn shared_path(name: &str) -> &'static str {
    RUNTIME_FILES
        .iter()
        .map(|f| (f.name, f.path))
        .chain(SHARED_TEMPLATES.iter().copied())
        .find(|(n, _)| *n == name)
        .map(|(_, path)| path)
        .unwrap_or_else(|| panic!("no shared file is named {name}"))
}

/// The names a template folder may override (with `.hbs` added): the
/// templates, and the runtime files (whose override is then a template).
pub fn template_names() -> impl Iterator<Item = &'static str> {
    RUNTIME_FILES
        .iter()
        .map(|f| f.name)
        .chain(TEMPLATES.iter().map(|t| t.name))
}

/// Shared templates: name and output path under the web root.
pub(crate) const SHARED_TEMPLATES: &[(&str, &str)] = &[
    (
        "shared/protocol.types.ts",
        "shared/business/models/aegis-protocol.types.ts",
    ),
    ("shared/aegis.routes.ts", "features/aegis.routes.ts"),
];

/// The folders, under the web root, whose generated files aegis-build owns.
pub const MANAGED_DIRS: &[&str] = &["features", "shared/business", "shared/ui"];

pub(crate) struct Renderer {
    registry: Handlebars<'static>,
}

/// Reads `<dir>/<name>.hbs` when the override folder has it.
fn read_override(overrides: Option<&Path>, name: &str) -> Result<Option<String>, Error> {
    let Some(path) = overrides
        .map(|dir| dir.join(format!("{name}.hbs")))
        .filter(|path| path.is_file())
    else {
        return Ok(None);
    };
    std::fs::read_to_string(&path)
        .map(Some)
        .map_err(|e| Error::io("read", &path, e))
}

/// `{{#ts-import path}}A, B{{/ts-import}}`: `import { A, B } from 'path';`,
/// the names its block renders (comma separated; empty ones dropped),
/// laid out as Prettier would ([`crate::layout::import`]). No names, no
/// import.
struct TsImport;

impl HelperDef for TsImport {
    fn call<'reg: 'rc, 'rc>(
        &self,
        helper: &Helper<'rc>,
        registry: &'reg Handlebars<'reg>,
        context: &'rc Context,
        render: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let path = helper
            .param(0)
            .and_then(|p| p.value().as_str())
            .ok_or(RenderErrorReason::ParamNotFoundForIndex("ts-import", 0))?;
        let mut block = StringOutput::new();
        if let Some(template) = helper.template() {
            template.render(registry, context, render, &mut block)?;
        }
        let block = block.into_string()?;
        let names: Vec<String> = block
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect();
        if !names.is_empty() {
            out.write(&crate::layout::import(&names, path))?;
        }
        Ok(())
    }
}

/// `{{#html-element 8}}<td ...>text</td>{{/html-element}}`: the element its
/// block renders, at that indent, laid out as Prettier would
/// ([`crate::layout::element`]).
struct HtmlElement;

impl HelperDef for HtmlElement {
    fn call<'reg: 'rc, 'rc>(
        &self,
        helper: &Helper<'rc>,
        registry: &'reg Handlebars<'reg>,
        context: &'rc Context,
        render: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let indent = helper
            .param(0)
            .and_then(|p| p.value().as_u64())
            .ok_or(RenderErrorReason::ParamNotFoundForIndex("html-element", 0))?;
        let mut block = StringOutput::new();
        if let Some(template) = helper.template() {
            template.render(registry, context, render, &mut block)?;
        }
        let indent = usize::try_from(indent).unwrap_or(0);
        out.write(&crate::layout::element(indent, &block.into_string()?))?;
        Ok(())
    }
}

impl Renderer {
    /// The embedded templates, each replaced by `<dir>/<name>.hbs` when it exists.
    pub fn new(overrides: Option<&Path>) -> Result<Self, Error> {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        registry.register_escape_fn(handlebars::no_escape);
        registry.register_helper("ts-import", Box::new(TsImport));
        registry.register_helper("html-element", Box::new(HtmlElement));
        // A runtime file becomes a template only when overridden.
        let runtime = RUNTIME_FILES.iter().map(|file| (file.name, None));
        let templates = TEMPLATES.iter().map(|t| (t.name, Some(t.text)));
        for (name, embedded) in runtime.chain(templates) {
            let text = match read_override(overrides, name)? {
                Some(text) => text,
                None => match embedded {
                    Some(text) => text.to_owned(),
                    None => continue,
                },
            };
            registry
                .register_template_string(name, text)
                .map_err(|e| Error::Template {
                    name: name.to_owned(),
                    message: e.to_string(),
                })?;
        }
        Ok(Renderer { registry })
    }

    /// Serialises a context once, for all the templates that render it.
    fn context(&self, context: &impl Serialize) -> Result<Context, Error> {
        Context::wraps(context).map_err(|e| Error::Template {
            name: "(context)".to_owned(),
            message: e.to_string(),
        })
    }

    fn render(&self, name: &str, context: &Context) -> Result<String, Error> {
        self.registry
            .render_with_context(name, context)
            .map_err(|e| Error::Template {
                name: name.to_owned(),
                message: e.to_string(),
            })
    }

    /// Every web file, by path relative to the web root.
    pub fn web_files(&self, units: &[Unit]) -> Result<BTreeMap<PathBuf, String>, Error> {
        let mut files = BTreeMap::new();
        let shared = self.context(&shared_context(
            units,
            protocol_declarations()?,
            protocol_constants(),
        ))?;
        for file in RUNTIME_FILES {
            let text = if self.registry.has_template(file.name) {
                self.render(file.name, &shared)?
            } else {
                format!("{HEADER}\n{}", file.text)
            };
            files.insert(PathBuf::from(file.path), text);
        }
        for (template, path) in SHARED_TEMPLATES {
            files.insert(PathBuf::from(path), self.render(template, &shared)?);
        }
        for unit in units {
            let context = self.context(&feature_context(unit))?;
            let module = &unit.module;
            let folder = PathBuf::from("features").join(module.names.feature());
            let paths = module.names.files();
            let outputs = [
                ("feature/types.ts", paths.types),
                ("feature/service.ts", paths.service),
                ("feature/list.component.ts", paths.list_component),
                ("feature/list.component.html", paths.list_template),
                ("feature/state-manager.ts", paths.state_manager),
                ("feature/form.dialog.ts", paths.form_dialog),
                ("feature/routes.ts", paths.routes),
            ];
            for (template, path) in outputs {
                files.insert(folder.join(path), self.render(template, &context)?);
            }
        }
        Ok(files)
    }
}

/// aegis-protocol's types, in source order: each one's declaration, with
/// the struct it was made from (the OpenAPI document reads its fields'
/// Rust types).
pub(crate) fn protocol_types() -> Result<Vec<(TsDecl, Option<syn::ItemStruct>)>, Error> {
    let file = syn::parse_file(aegis_protocol::SOURCE)
        .map_err(|e| Error::Config(format!("aegis-protocol's source does not parse: {e}")))?;
    let mut types = Vec::new();
    for item in file.items {
        let (declared, item) = match item {
            Item::Struct(item) => (struct_decl(&item), Some(item)),
            Item::Enum(item) => (enum_decl(&item), None),
            _ => continue,
        };
        match declared {
            Ok(decl) => types.push((decl, item)),
            Err(diagnostics) => {
                let messages: Vec<String> = diagnostics.into_iter().map(|d| d.message).collect();
                return Err(Error::Config(format!(
                    "aegis-protocol's types do not map to TypeScript: {}",
                    messages.join("; ")
                )));
            }
        }
    }
    Ok(types)
}

/// aegis-protocol's constants and filter operators as TypeScript, each
/// with its doc comment: the web runtime imports them, so a change in
/// Rust changes the TypeScript.
pub(crate) fn protocol_constants() -> Vec<String> {
    use aegis_protocol::query::{FilterOp, MAX_IN_VALUES};
    let quoted = |text: &str| format!("'{text}'");
    let ops: Vec<String> = FilterOp::ALL.iter().map(|op| quoted(op.as_str())).collect();
    vec![
        format!(
            "/** The version every event's `meta.featureVersion` carries. */\n\
             export const FEATURE_VERSION = {};\n",
            quoted(aegis_protocol::FEATURE_VERSION)
        ),
        format!(
            "/** The WebSocket close code for missing, bad or expired auth. */\n\
             export const CLOSE_UNAUTHORIZED = {};\n",
            aegis_protocol::CLOSE_UNAUTHORIZED
        ),
        format!(
            "/** The WebSocket close code of an instance that is stopping: reconnect at once, to any instance, with `since`. */\n\
             export const CLOSE_RESTARTING = {};\n",
            aegis_protocol::CLOSE_RESTARTING
        ),
        format!(
            "/** The request header carrying a client's mutation id, echoed as the event's `meta.origin`. */\n\
             export const MUTATION_ID_HEADER = {};\n",
            quoted(aegis_protocol::MUTATION_ID_HEADER)
        ),
        format!(
            "/** Rows a list's page has when its query does not say (`pageSize`). */\n\
             export const DEFAULT_PAGE_SIZE = {};\n",
            aegis_protocol::DEFAULT_PAGE_SIZE
        ),
        format!(
            "/** A filter's operator: `<field>.<op>=<value>` in a list's query string. */\n{}\n",
            crate::layout::union("export type FilterOp =", &ops, ";")
        ),
        format!(
            "/** Every filter operator, in the order documents list them. */\n{}\n",
            crate::layout::list(
                0,
                "export const FILTER_OPS: readonly FilterOp[] = ",
                ("[", "]"),
                &ops,
                false,
                ";"
            )
        ),
        format!(
            "/** Values one `in` filter may list, at most. */\n\
             export const MAX_IN_VALUES = {MAX_IN_VALUES};\n"
        ),
    ]
}

/// The TypeScript declarations of aegis-protocol's types, in source order.
pub(crate) fn protocol_declarations() -> Result<Vec<String>, Error> {
    Ok(protocol_types()?
        .iter()
        .map(|(decl, _)| decl.render())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_types_declare() {
        let declarations = protocol_declarations().unwrap();
        let all = declarations.join("");
        assert!(all.contains("export type ServerMessage =\n  | { type: 'ready'; userId: string }"));
        assert!(all.contains("  | ({ type: 'event' } & EventMessage)\n"));
        assert!(all.contains(
            "export interface ListResponse<T> {\n  data: T[];\n  total: number;\n  page: number;\n  \
             pageSize: number;\n  seq: number;\n}\n"
        ));
        assert!(all.contains("export type ResyncReason = 'gap' | 'lagging';\n"));
        assert!(all.contains("  data: JsonValue;\n"));
    }

    /// The runtime's own copy of the protocol types, so that it
    /// type-checks and its specs run where it lives: what the generator
    /// writes into every app, kept current (`AEGIS_BLESS=1` rewrites it).
    #[test]
    fn the_runtime_holds_the_protocol_types_the_generator_writes() {
        let path = "shared/business/models/aegis-protocol.types.ts";
        let files = Renderer::new(None).unwrap().web_files(&[]).unwrap();
        let generated = &files[&PathBuf::from(path)];
        let kept = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("runtime")
            .join(path);
        if std::env::var_os("AEGIS_BLESS").is_some() {
            std::fs::write(&kept, generated).unwrap();
        }
        let text = std::fs::read_to_string(&kept).unwrap_or_default();
        assert!(
            text == *generated,
            "{} is not what aegis-protocol declares (AEGIS_BLESS=1 to rewrite it)",
            kept.display()
        );
    }

    #[test]
    fn every_template_is_valid() {
        Renderer::new(None).unwrap();
        assert_eq!(
            template_names().count(),
            TEMPLATES.len() + RUNTIME_FILES.len()
        );
    }
}
