//! `cargo aegis add`: a module appended to modules.toml as text (the
//! file's comments and order kept), checked with the model's own code
//! before anything is written.

use std::path::Path;

use aegis_model::diagnostic::Location;
use aegis_model::ir::Module;
use aegis_model::manifest::Manifest;

use crate::collect::line_column;
use crate::error::{Error, Problem};

/// A module to add: its name, its fields as `name:type` (`name:type?`
/// for a nullable one), and its flags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewModule {
    pub name: String,
    pub fields: Vec<String>,
    pub with_events: bool,
    pub with_import: bool,
}

/// A field of the command line, as modules.toml writes it.
struct FieldArg<'a> {
    name: &'a str,
    ty: &'a str,
    nullable: bool,
}

fn field_arg(text: &str) -> Result<FieldArg<'_>, String> {
    let (name, ty) = text.split_once(':').ok_or_else(|| {
        format!("`{text}`: expected `<field>:<type>`, as in `price:f64` or `note:string?`")
    })?;
    let (ty, nullable) = match ty.strip_suffix('?') {
        Some(ty) => (ty, true),
        None => (ty, false),
    };
    if !is_key(name) || ty.is_empty() {
        return Err(format!(
            "`{text}`: expected `<field>:<type>`, the field in lowercase letters, digits and `_`"
        ));
    }
    Ok(FieldArg { name, ty, nullable })
}

/// Whether `text` is a bare TOML key the model could accept as a name.
fn is_key(text: &str) -> bool {
    text.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn quoted(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// The `[modules.<name>]` entry's text: an `id` (`i64` unless given)
/// first and a `version` last unless given.
fn entry(module: &NewModule) -> Result<String, String> {
    if !is_key(&module.name) {
        return Err(format!(
            "`{}` cannot name a module: use lowercase letters, digits and `_`, as in `orders` or \
             `order_lines`",
            module.name
        ));
    }
    let fields = module
        .fields
        .iter()
        .map(|text| field_arg(text))
        .collect::<Result<Vec<_>, _>>()?;
    let mut written: Vec<String> = Vec::new();
    let has = |name: &str| fields.iter().any(|field| field.name == name);
    if !has("id") {
        written.push("id = \"i64\"".to_owned());
    }
    for field in &fields {
        let spec = if field.nullable {
            format!("{{ type = {}, nullable = true }}", quoted(field.ty))
        } else {
            quoted(field.ty)
        };
        written.push(format!("{} = {spec}", field.name));
    }
    if !has("version") {
        written.push("version = \"i64\"".to_owned());
    }
    let mut text = format!("[modules.{}]\n", module.name);
    if module.with_events {
        text.push_str("with_events = true\n");
    }
    if module.with_import {
        text.push_str("with_import = true\n");
    }
    text.push_str(&format!("fields = {{ {} }}\n", written.join(", ")));
    Ok(text)
}

/// modules.toml's text with `module` appended, or every problem with it,
/// by line and column of the text it would have been (`file` names it).
/// A module of that name in the file is refused; the new module is
/// checked by the model as the build would check it.
pub fn add_module(file: &Path, text: &str, module: &NewModule) -> Result<String, Error> {
    let problem = |at: usize, message: String, in_text: &str| {
        let (line, column) = line_column(in_text, at);
        Problem {
            file: file.to_path_buf(),
            line,
            column,
            message,
        }
    };
    let manifest: Manifest = toml::from_str(text).map_err(|e| {
        let at = e.span().map_or(0, |span| span.start);
        Error::Invalid(vec![problem(at, e.message().to_owned(), text)])
    })?;
    if let Some(existing) = manifest.modules.get(&module.name) {
        return Err(Error::Invalid(vec![problem(
            existing.span().start,
            format!("module `{}` is already in modules.toml", module.name),
            text,
        )]));
    }
    let entry = entry(module).map_err(Error::Config)?;
    let mut updated = text.to_owned();
    if !updated.is_empty() && !updated.ends_with('\n') {
        updated.push('\n');
    }
    if !updated.is_empty() {
        updated.push('\n');
    }
    updated.push_str(&entry);
    let manifest: Manifest = toml::from_str(&updated).map_err(|e| {
        let at = e.span().map_or(0, |span| span.start);
        Error::Invalid(vec![problem(at, e.message().to_owned(), &updated)])
    })?;
    let added = &manifest.modules[&module.name];
    Module::from_manifest_entry(&module.name, added).map_err(|diagnostics| {
        Error::Invalid(
            diagnostics
                .into_iter()
                .map(|diagnostic| {
                    let at = match &diagnostic.location {
                        Location::Manifest(range) => range.start,
                        Location::Tokens { .. } => added.span().start,
                    };
                    problem(at, diagnostic.message, &updated)
                })
                .collect(),
        )
    })?;
    Ok(updated)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "# the app's modules\n[generator]\nweb_root = \"web/src/app\"\n\n\
                            [modules.products]\nwith_events = true\nfields = { id = \"i64\", name = \"string\", version = \"i64\" }";

    fn orders(fields: &[&str]) -> NewModule {
        NewModule {
            name: "orders".into(),
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            with_events: true,
            with_import: false,
        }
    }

    fn added(module: &NewModule) -> Result<String, String> {
        add_module(Path::new("modules.toml"), MANIFEST, module).map_err(|e| e.to_string())
    }

    #[test]
    fn appends_the_module_keeping_the_file() {
        let text = added(&orders(&["customer:string", "total:f64", "note:string?"])).unwrap();
        assert_eq!(
            text,
            format!(
                "{MANIFEST}\n\n[modules.orders]\nwith_events = true\nfields = {{ id = \"i64\", \
                 customer = \"string\", total = \"f64\", note = {{ type = \"string\", nullable = \
                 true }}, version = \"i64\" }}\n"
            )
        );
        // An id of the user's own type; no events, with import.
        let module = NewModule {
            name: "tags".into(),
            fields: vec!["id:uuid".into(), "label:string".into()],
            with_events: false,
            with_import: true,
        };
        let text = added(&module).unwrap();
        assert!(text.ends_with(
            "[modules.tags]\nwith_import = true\nfields = { id = \"uuid\", label = \"string\", \
             version = \"i64\" }\n"
        ));
    }

    #[test]
    fn refuses_an_existing_module_at_its_line() {
        let error = added(&NewModule {
            name: "products".into(),
            ..orders(&["x:string"])
        })
        .unwrap_err();
        assert!(
            error.ends_with("\n  modules.toml:5:1: module `products` is already in modules.toml"),
            "{error}"
        );
    }

    #[test]
    fn the_model_checks_the_new_fields() {
        let error = added(&orders(&["total:money"])).unwrap_err();
        assert!(
            error.contains("modules.toml:11:32: unknown field type `money` for `total`"),
            "{error}"
        );
        let error = added(&orders(&["total"])).unwrap_err();
        assert_eq!(
            error,
            "`total`: expected `<field>:<type>`, as in `price:f64` or `note:string?`"
        );
        let error = added(&orders(&["Total:f64"])).unwrap_err();
        assert!(error.contains("the field in lowercase letters"), "{error}");
        let error = added(&NewModule {
            name: "Orders".into(),
            ..orders(&[])
        })
        .unwrap_err();
        assert!(
            error.starts_with("`Orders` cannot name a module"),
            "{error}"
        );
    }
}
