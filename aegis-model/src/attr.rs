//! The `#[crud_module(...)]` grammar and the `#[crud(...)]` field
//! attributes. The macro and the generator both read attributes through
//! here, so they cannot disagree.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, ExprLit, Lit, Meta, Token};

use crate::diagnostic::{Diagnostics, Location};

/// The flags `#[crud_module]` accepts.
pub const MODULE_FLAGS: [&str; 2] = ["with_events", "with_import"];
/// The options `#[crud_module]` accepts, each `key = "value"`.
pub const MODULE_OPTIONS: [&str; 3] = ["name", "singular", "label"];
/// The switches `#[crud_module]` accepts, each `key = false` (all on by
/// default): the front end's, and the rows' history.
pub const MODULE_SWITCHES: [&str; 4] = [
    "optimistic_updates",
    "conflict_detection",
    "cache",
    "history",
];
/// The flags `#[crud]` accepts on a field.
pub const FIELD_FLAGS: [&str; 4] = ["id", "version", "skip", "readonly"];
/// The switches `#[crud]` accepts on a field, each `key = false` (on by
/// default).
pub const FIELD_SWITCHES: [&str; 2] = ["sortable", "children"];
/// The options `#[crud]` accepts on a field, each `key = "value"`.
pub const FIELD_OPTIONS: [&str; 8] = [
    "ts_type",
    "label",
    "default",
    "renamed_from",
    "references",
    "on_delete",
    "children_label",
    "many",
];

/// A string option and where it was written.
#[derive(Clone, Debug)]
pub struct StringOption {
    pub value: String,
    pub location: Location,
}

/// What `#[crud_module(...)]` said; each present flag keeps its location.
#[derive(Clone, Debug, Default)]
pub struct ModuleArgs {
    pub with_events: Option<Location>,
    pub with_import: Option<Location>,
    pub name: Option<StringOption>,
    pub singular: Option<StringOption>,
    /// `label = "field"`: what shows a row where it is referenced.
    pub label: Option<StringOption>,
    /// `optimistic_updates = false`: the list shows a change once saved.
    pub optimistic_updates: Option<(bool, Location)>,
    /// `conflict_detection = false`: the last save wins.
    pub conflict_detection: Option<(bool, Location)>,
    /// `cache = false`: every visit reads the page again.
    pub cache: Option<(bool, Location)>,
    /// `history = false`: no history is kept of the rows' changes.
    pub history: Option<(bool, Location)>,
}

/// What `#[crud(...)]` said on one field.
#[derive(Clone, Debug, Default)]
pub struct FieldArgs {
    pub id: Option<Location>,
    pub version: Option<Location>,
    pub skip: Option<Location>,
    pub readonly: Option<Location>,
    /// `sortable = false`: the list and the API do not sort by the field
    /// (by default, every field whose values order sorts).
    pub sortable: Option<(bool, Location)>,
    pub ts_type: Option<StringOption>,
    pub label: Option<StringOption>,
    /// `default = "..."`: the value rows stored before the field existed
    /// get, as text (checked against the field's type by the lowering).
    pub default: Option<StringOption>,
    /// `renamed_from = "old"`: the column this field was stored in before.
    pub renamed_from: Option<StringOption>,
    /// `references = "authors"`: the module whose id the field holds.
    pub references: Option<StringOption>,
    /// `on_delete = "restrict" | "cascade" | "set_null"`.
    pub on_delete: Option<StringOption>,
    /// `children = false`: the referenced module's rows show no panel of
    /// the rows that reference them through this field.
    pub children: Option<(bool, Location)>,
    /// `children_label = "Budgets"`: the title of that panel.
    pub children_label: Option<StringOption>,
    /// `many = "tags"`: the module whose ids the field lists, linked
    /// many-to-many.
    pub many: Option<StringOption>,
    /// `file(max_bytes = .., types = [..])`: what a file field's uploads
    /// may be.
    pub file: Option<crate::file::FileArgs>,
    /// `min`, `max`, `length(..)`, `pattern`, `email`, `url`, `one_of`.
    pub rules: crate::rules::RuleArgs,
    /// `created_at`, `updated_at`, `created_by` or `updated_by`.
    pub stamp: Option<(crate::stamp::Stamp, Location)>,
}

/// The closest known word to a misspelt one, if any is close.
pub fn suggest<'a>(unknown: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(unknown, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn one_of(words: impl IntoIterator<Item = &'static str>) -> String {
    words
        .into_iter()
        .map(|w| format!("`{w}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn unknown_message(what: &str, unknown: &str, known: &[&'static str]) -> String {
    match suggest(unknown, known.iter().copied()) {
        Some(close) => format!("unknown {what} `{unknown}`, did you mean `{close}`?"),
        None => format!(
            "unknown {what} `{unknown}`, expected one of {}",
            one_of(known.iter().copied())
        ),
    }
}

/// Reads the arguments of `#[crud_module(...)]`, reporting every mistake.
pub fn parse_module_args(tokens: TokenStream, diags: &mut Diagnostics) -> ModuleArgs {
    let mut args = ModuleArgs::default();
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(tokens) {
        Ok(metas) => metas,
        Err(error) => {
            diags.syn_error(error);
            return args;
        }
    };
    let known: Vec<&'static str> = MODULE_FLAGS
        .into_iter()
        .chain(MODULE_OPTIONS)
        .chain(MODULE_SWITCHES)
        .collect();
    for meta in metas {
        let path = meta.path();
        let key = path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_else(|| crate::path_to_string(path));
        let key_location = Location::of(path);
        if MODULE_FLAGS.contains(&key.as_str()) {
            module_flag(&meta, &key, key_location, &mut args, diags);
        } else if MODULE_SWITCHES.contains(&key.as_str()) {
            module_switch(&meta, &key, key_location, &mut args, diags);
        } else if MODULE_OPTIONS.contains(&key.as_str()) {
            module_option(&meta, &key, key_location, &mut args, diags);
        } else {
            diags.error(
                key_location,
                unknown_message("crud_module option", &key, &known),
            );
        }
    }
    args
}

/// A flag of `#[crud_module]` (`with_events`): alone, once.
fn module_flag(
    meta: &Meta,
    key: &str,
    key_location: Location,
    args: &mut ModuleArgs,
    diags: &mut Diagnostics,
) {
    let slot = match key {
        "with_events" => &mut args.with_events,
        _ => &mut args.with_import,
    };
    match meta {
        Meta::Path(_) => {}
        Meta::NameValue(value) => {
            diags.error(
                Location::of(&value.value),
                format_args!("crud_module flag `{key}` takes no value, write `{key}` alone"),
            );
            return;
        }
        Meta::List(list) => {
            diags.error(
                Location::span(list.delimiter.span().join()),
                format_args!("crud_module flag `{key}` takes no arguments, write `{key}` alone"),
            );
            return;
        }
    }
    if slot.is_some() {
        diags.error(
            key_location,
            format_args!("duplicate crud_module flag `{key}`"),
        );
    } else {
        *slot = Some(key_location);
    }
}

/// A switch of `#[crud_module]` (`cache = false`): a boolean, once.
fn module_switch(
    meta: &Meta,
    key: &str,
    key_location: Location,
    args: &mut ModuleArgs,
    diags: &mut Diagnostics,
) {
    let wrong = |location: Location, diags: &mut Diagnostics| {
        diags.error(
            location,
            format_args!(
                "crud_module switch `{key}` takes `true` or `false`, write `{key} = false` to \
                 turn it off"
            ),
        );
    };
    let value = match meta {
        Meta::NameValue(pair) => match &pair.value {
            Expr::Lit(ExprLit {
                lit: Lit::Bool(value),
                ..
            }) => value.value,
            other => return wrong(Location::of(other), diags),
        },
        _ => return wrong(key_location, diags),
    };
    let slot = match key {
        "optimistic_updates" => &mut args.optimistic_updates,
        "conflict_detection" => &mut args.conflict_detection,
        "cache" => &mut args.cache,
        _ => &mut args.history,
    };
    if slot.is_some() {
        diags.error(
            key_location,
            format_args!("duplicate crud_module switch `{key}`"),
        );
    } else {
        *slot = Some((value, key_location));
    }
}

/// An option of `#[crud_module]` (`name = "..."`): a string, once.
fn module_option(
    meta: &Meta,
    key: &str,
    key_location: Location,
    args: &mut ModuleArgs,
    diags: &mut Diagnostics,
) {
    let Some(option) = string_option(meta, "crud_module", key, diags) else {
        return;
    };
    let slot = match key {
        "name" => &mut args.name,
        "singular" => &mut args.singular,
        _ => &mut args.label,
    };
    if slot.is_some() {
        diags.error(
            key_location,
            format_args!("duplicate crud_module option `{key}`"),
        );
    } else {
        *slot = Some(option);
    }
}

/// Reads `key = "value"` from a top-level meta item.
fn string_option(
    meta: &Meta,
    attribute: &str,
    key: &str,
    diags: &mut Diagnostics,
) -> Option<StringOption> {
    match meta {
        Meta::NameValue(name_value) => match &name_value.value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(lit), ..
            }) => Some(StringOption {
                value: lit.value(),
                location: Location::of(lit),
            }),
            other => {
                diags.error(
                    Location::of(other),
                    format_args!(
                        "{attribute} option `{key}` expects a string literal, as in \
                         `{key} = \"...\"`"
                    ),
                );
                None
            }
        },
        _ => {
            diags.error(
                Location::of(meta),
                format_args!("{attribute} option `{key}` needs a value, as in `{key} = \"...\"`"),
            );
            None
        }
    }
}

/// Whether an attribute is a `#[crud(...)]` field attribute.
pub fn is_crud_attr(attr: &Attribute) -> bool {
    attr.path().is_ident("crud")
}

/// Reads every `#[crud(...)]` on one field, reporting every mistake.
pub fn parse_field_args(attrs: &[Attribute], diags: &mut Diagnostics) -> FieldArgs {
    let mut args = FieldArgs::default();
    let known: Vec<&'static str> = FIELD_FLAGS
        .into_iter()
        .chain(crate::stamp::STAMP_FLAGS)
        .chain(FIELD_SWITCHES)
        .chain(FIELD_OPTIONS)
        .chain(["file"])
        .chain(crate::rules::RULE_KEYS)
        .collect();
    for attr in attrs.iter().filter(|a| is_crud_attr(a)) {
        if let Meta::Path(path) = &attr.meta {
            diags.error(
                Location::of(path),
                format_args!(
                    "`#[crud]` needs arguments, one or more of {}",
                    one_of(known.iter().copied())
                ),
            );
            continue;
        }
        let result = attr.parse_nested_meta(|meta| {
            let key = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_else(|| crate::path_to_string(&meta.path));
            let key_location = Location::of(&meta.path);
            if let Some(stamp) = crate::stamp::Stamp::from_flag(&key) {
                field_stamp(&meta, stamp, &key, key_location, &mut args, diags)
            } else if FIELD_FLAGS.contains(&key.as_str()) {
                field_flag(&meta, &key, key_location, &mut args, diags)
            } else if FIELD_SWITCHES.contains(&key.as_str()) {
                field_switch(&meta, &key, key_location, &mut args, diags)
            } else if FIELD_OPTIONS.contains(&key.as_str()) {
                field_option(&meta, &key, key_location, &mut args, diags)
            } else if key == "file" {
                crate::file::parse(&meta, &mut args.file, diags)
            } else if crate::rules::RULE_KEYS.contains(&key.as_str()) {
                crate::rules::parse_rule(&key, &meta, &mut args.rules, diags)
            } else {
                diags.error(
                    key_location,
                    unknown_message("crud attribute", &key, &known),
                );
                skip_value(&meta)
            }
        });
        if let Err(error) = result {
            diags.syn_error(error);
        }
    }
    check_field_conflicts(&args, diags);
    args
}

/// A stamp flag (`created_at`): alone, and one stamp a field.
fn field_stamp(
    meta: &ParseNestedMeta<'_>,
    stamp: crate::stamp::Stamp,
    key: &str,
    key_location: Location,
    args: &mut FieldArgs,
    diags: &mut Diagnostics,
) -> syn::Result<()> {
    if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
        diags.error(
            key_location,
            format_args!("crud flag `{key}` takes no value, write `{key}` alone"),
        );
        return skip_value(meta);
    }
    match &args.stamp {
        Some((other, _)) => diags.error(
            key_location,
            format_args!(
                "a field holds one stamp; `{}` is already on it",
                other.flag()
            ),
        ),
        None => args.stamp = Some((stamp, key_location)),
    }
    Ok(())
}

/// A flag of `#[crud]` (`id`, `readonly`): alone, once.
fn field_flag(
    meta: &ParseNestedMeta<'_>,
    key: &str,
    key_location: Location,
    args: &mut FieldArgs,
    diags: &mut Diagnostics,
) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        let value: Expr = meta.value()?.parse()?;
        diags.error(
            Location::of(&value),
            format_args!("crud flag `{key}` takes no value, write `{key}` alone"),
        );
        return Ok(());
    }
    if meta.input.peek(syn::token::Paren) {
        diags.error(
            key_location,
            format_args!("crud flag `{key}` takes no arguments, write `{key}` alone"),
        );
        return skip_nested(meta);
    }
    let slot = match key {
        "id" => &mut args.id,
        "version" => &mut args.version,
        "skip" => &mut args.skip,
        _ => &mut args.readonly,
    };
    if slot.is_some() {
        diags.error(key_location, format_args!("duplicate crud flag `{key}`"));
    } else {
        *slot = Some(key_location);
    }
    Ok(())
}

/// A switch of `#[crud]` (`sortable = false`): a boolean, once.
fn field_switch(
    meta: &ParseNestedMeta<'_>,
    key: &str,
    key_location: Location,
    args: &mut FieldArgs,
    diags: &mut Diagnostics,
) -> syn::Result<()> {
    let wrong = |location: Location, diags: &mut Diagnostics| {
        diags.error(
            location,
            format_args!(
                "crud switch `{key}` takes `true` or `false`, write `{key} = false` to turn it off"
            ),
        );
    };
    if !meta.input.peek(Token![=]) {
        wrong(key_location, diags);
        return skip_nested(meta);
    }
    let value: Expr = meta.value()?.parse()?;
    let Expr::Lit(ExprLit {
        lit: Lit::Bool(on), ..
    }) = &value
    else {
        wrong(Location::of(&value), diags);
        return Ok(());
    };
    let slot = match key {
        "children" => &mut args.children,
        _ => &mut args.sortable,
    };
    if slot.is_some() {
        diags.error(key_location, format_args!("duplicate crud switch `{key}`"));
    } else {
        *slot = Some((on.value, key_location));
    }
    Ok(())
}

/// An option of `#[crud]` (`label = "..."`): a string literal, not empty
/// (but a `default`), once.
fn field_option(
    meta: &ParseNestedMeta<'_>,
    key: &str,
    key_location: Location,
    args: &mut FieldArgs,
    diags: &mut Diagnostics,
) -> syn::Result<()> {
    if !meta.input.peek(Token![=]) {
        diags.error(
            key_location,
            format_args!("crud option `{key}` needs a value, as in `{key} = \"...\"`"),
        );
        return skip_nested(meta);
    }
    let value: Expr = meta.value()?.parse()?;
    let Expr::Lit(ExprLit {
        lit: Lit::Str(lit), ..
    }) = &value
    else {
        diags.error(
            Location::of(&value),
            format_args!("crud option `{key}` expects a string literal, as in `{key} = \"...\"`"),
        );
        return Ok(());
    };
    // An empty text is a fine default for a string field.
    if key != "default" && lit.value().trim().is_empty() {
        diags.error(
            Location::of(lit),
            format_args!("crud option `{key}` cannot be empty"),
        );
        return Ok(());
    }
    let option = StringOption {
        value: lit.value(),
        location: Location::of(lit),
    };
    let slot = match key {
        "ts_type" => &mut args.ts_type,
        "label" => &mut args.label,
        "default" => &mut args.default,
        "references" => &mut args.references,
        "on_delete" => &mut args.on_delete,
        "children_label" => &mut args.children_label,
        "many" => &mut args.many,
        _ => &mut args.renamed_from,
    };
    if slot.is_some() {
        diags.error(key_location, format_args!("duplicate crud option `{key}`"));
    } else {
        *slot = Some(option);
    }
    Ok(())
}

/// Skips what follows a key: `= value` or `(...)`.
pub(crate) fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
        Ok(())
    } else {
        skip_nested(meta)
    }
}

fn skip_nested(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::token::Paren) {
        let _ignored: TokenStream = {
            let content;
            syn::parenthesized!(content in meta.input);
            content.parse()?
        };
    }
    Ok(())
}

/// Pairs of `#[crud]` arguments that contradict each other.
pub(crate) fn check_field_conflicts(args: &FieldArgs, diags: &mut Diagnostics) {
    if let Some((stamp, location)) = &args.stamp {
        for (other, present) in [
            ("id", args.id.is_some()),
            ("version", args.version.is_some()),
        ] {
            if present {
                diags.error(
                    location.clone(),
                    format_args!(
                        "conflicting crud attributes `{other}` and `{}`, the server fills a \
                         stamped field",
                        stamp.flag()
                    ),
                );
            }
        }
    }
    if let (Some(_), Some(version)) = (&args.id, &args.version) {
        diags.error(
            version.clone(),
            "conflicting crud attributes `id` and `version`, a field cannot be both",
        );
    }
    if let Some(skip) = &args.skip {
        let others = [
            ("id", args.id.is_some()),
            ("version", args.version.is_some()),
            ("readonly", args.readonly.is_some()),
            (
                args.stamp.as_ref().map_or("created_at", |(s, _)| s.flag()),
                args.stamp.is_some(),
            ),
            ("ts_type", args.ts_type.is_some()),
            ("label", args.label.is_some()),
            ("sortable", args.sortable.is_some()),
            ("children_label", args.children_label.is_some()),
        ];
        for (other, present) in others {
            if present {
                diags.error(
                    skip.clone(),
                    format_args!(
                        "conflicting crud attributes `skip` and `{other}`, a skipped field is \
                         not sent to the front end"
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
#[path = "attr_tests.rs"]
mod tests;
