//! The serde attributes that change what crosses the wire, read exactly as
//! serde_derive reads them, so the TypeScript matches what serde produces.
//!
//! Attributes that do not change the JSON shape (`bound`, `borrow`, `alias`,
//! `crate`, ...) are accepted and ignored.

use syn::meta::ParseNestedMeta;
use syn::{Attribute, LitStr, Token};

use crate::diagnostic::{Diagnostics, Location};

/// serde's `rename_all` rules, applied as serde_derive applies them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RenameRule {
    Lower,
    Upper,
    Pascal,
    Camel,
    Snake,
    ScreamingSnake,
    Kebab,
    ScreamingKebab,
}

impl RenameRule {
    pub const ALL: [(&'static str, RenameRule); 8] = [
        ("lowercase", RenameRule::Lower),
        ("UPPERCASE", RenameRule::Upper),
        ("PascalCase", RenameRule::Pascal),
        ("camelCase", RenameRule::Camel),
        ("snake_case", RenameRule::Snake),
        ("SCREAMING_SNAKE_CASE", RenameRule::ScreamingSnake),
        ("kebab-case", RenameRule::Kebab),
        ("SCREAMING-KEBAB-CASE", RenameRule::ScreamingKebab),
    ];

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(spelling, _)| *spelling == name)
            .map(|(_, rule)| *rule)
    }

    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, rule)| *rule == self)
            .map(|(spelling, _)| *spelling)
            .unwrap_or_default()
    }

    /// Renames a struct field, which Rust spells in snake_case.
    pub fn apply_to_field(self, field: &str) -> String {
        match self {
            RenameRule::Lower | RenameRule::Snake => field.to_owned(),
            RenameRule::Upper | RenameRule::ScreamingSnake => field.to_ascii_uppercase(),
            RenameRule::Pascal => {
                let mut pascal = String::new();
                let mut capitalize = true;
                for ch in field.chars() {
                    if ch == '_' {
                        capitalize = true;
                    } else if capitalize {
                        pascal.push(ch.to_ascii_uppercase());
                        capitalize = false;
                    } else {
                        pascal.push(ch);
                    }
                }
                pascal
            }
            RenameRule::Camel => {
                let pascal = RenameRule::Pascal.apply_to_field(field);
                lower_first(&pascal)
            }
            RenameRule::Kebab => field.replace('_', "-"),
            RenameRule::ScreamingKebab => field.to_ascii_uppercase().replace('_', "-"),
        }
    }

    /// Renames an enum variant, which Rust spells in PascalCase.
    pub fn apply_to_variant(self, variant: &str) -> String {
        match self {
            RenameRule::Pascal => variant.to_owned(),
            RenameRule::Lower => variant.to_ascii_lowercase(),
            RenameRule::Upper => variant.to_ascii_uppercase(),
            RenameRule::Camel => lower_first(variant),
            RenameRule::Snake => {
                let mut snake = String::new();
                for (i, ch) in variant.char_indices() {
                    if i > 0 && ch.is_uppercase() {
                        snake.push('_');
                    }
                    snake.push(ch.to_ascii_lowercase());
                }
                snake
            }
            RenameRule::ScreamingSnake => RenameRule::Snake
                .apply_to_variant(variant)
                .to_ascii_uppercase(),
            RenameRule::Kebab => RenameRule::Snake
                .apply_to_variant(variant)
                .replace('_', "-"),
            RenameRule::ScreamingKebab => RenameRule::ScreamingSnake
                .apply_to_variant(variant)
                .replace('_', "-"),
        }
    }
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// serde attributes on a struct or enum.
#[derive(Clone, Debug, Default)]
pub struct ContainerAttrs {
    pub rename_all: Option<RenameRule>,
    /// `rename_all_fields`: the rule for the fields of every struct variant.
    pub rename_all_fields: Option<RenameRule>,
    /// `tag = "..."`: an internally tagged enum (on a struct, a reshaping).
    pub tag: Option<(String, Location)>,
    /// `content`, `untagged`, `transparent` or `from`/`into`: any of them
    /// changes the shape away from a plain object or string.
    pub reshaped_by: Option<(String, Location)>,
}

/// serde attributes on a field.
#[derive(Clone, Debug, Default)]
pub struct FieldAttrs {
    pub rename: Option<String>,
    /// `skip` or `skip_serializing`: the key is never serialised.
    pub skip_serializing: bool,
    /// `skip` or `skip_deserializing`: the key is never read.
    pub skip_deserializing: bool,
    /// `skip_serializing_if`: the key may be missing from serialised output.
    pub skip_serializing_if: bool,
    /// `default`: the key may be missing from deserialised input.
    pub default: bool,
    /// `default = "path"`: the function serde calls for a missing key.
    pub default_path: Option<String>,
    pub flatten: Option<Location>,
    /// `with`, `serialize_with` or `deserialize_with`: the JSON shape is
    /// whatever that code makes, which only a `ts_type` can describe.
    pub custom_with: Option<Location>,
}

/// serde attributes on an enum variant.
#[derive(Clone, Debug, Default)]
pub struct VariantAttrs {
    pub rename: Option<String>,
    /// `rename_all` on a struct variant: the rule for its fields.
    pub rename_all: Option<RenameRule>,
    pub skip: bool,
}

fn is_serde(attr: &Attribute) -> bool {
    attr.path().is_ident("serde")
}

/// Reads `#[serde(...)]` on a container.
pub fn container_attrs(attrs: &[Attribute], diags: &mut Diagnostics) -> ContainerAttrs {
    let mut out = ContainerAttrs::default();
    for attr in attrs.iter().filter(|a| is_serde(a)) {
        let result = attr.parse_nested_meta(|meta| {
            let key = meta_key(&meta);
            match key.as_str() {
                "rename_all" | "rename_all_fields" => {
                    let (lit, name) = symmetric_string(&meta, &key)?;
                    match RenameRule::from_name(&name) {
                        Some(rule) if key == "rename_all" => out.rename_all = Some(rule),
                        Some(rule) => out.rename_all_fields = Some(rule),
                        None => diags.error(
                            Location::of(&lit),
                            format_args!(
                                "unknown serde rename_all rule `{name}`, expected one of {}",
                                RenameRule::ALL
                                    .iter()
                                    .map(|(s, _)| format!("`{s}`"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        ),
                    }
                    Ok(())
                }
                "tag" => {
                    let lit: LitStr = meta.value()?.parse()?;
                    out.tag = Some((lit.value(), Location::of(&meta.path)));
                    Ok(())
                }
                "content" | "untagged" | "transparent" | "from" | "try_from" | "into"
                | "remote" => {
                    out.reshaped_by = Some((key, Location::of(&meta.path)));
                    skip_value(&meta)
                }
                _ => skip_value(&meta),
            }
        });
        if let Err(error) = result {
            diags.syn_error(error);
        }
    }
    out
}

/// Reads `#[serde(...)]` on a field.
pub fn field_attrs(attrs: &[Attribute], diags: &mut Diagnostics) -> FieldAttrs {
    let mut out = FieldAttrs::default();
    for attr in attrs.iter().filter(|a| is_serde(a)) {
        let result = attr.parse_nested_meta(|meta| {
            match meta_key(&meta).as_str() {
                "rename" => out.rename = Some(symmetric_string(&meta, "rename")?.1),
                "skip" => {
                    out.skip_serializing = true;
                    out.skip_deserializing = true;
                }
                "skip_serializing" => out.skip_serializing = true,
                "skip_deserializing" => out.skip_deserializing = true,
                "skip_serializing_if" => {
                    out.skip_serializing_if = true;
                    return skip_value(&meta);
                }
                "default" => {
                    out.default = true;
                    if meta.input.peek(Token![=]) {
                        out.default_path = Some(symmetric_string(&meta, "default")?.1);
                        return Ok(());
                    }
                    return skip_value(&meta);
                }
                "flatten" => out.flatten = Some(Location::of(&meta.path)),
                "with" | "serialize_with" | "deserialize_with" => {
                    out.custom_with = Some(Location::of(&meta.path));
                    return skip_value(&meta);
                }
                _ => return skip_value(&meta),
            }
            Ok(())
        });
        if let Err(error) = result {
            diags.syn_error(error);
        }
    }
    out
}

/// Reads `#[serde(...)]` on an enum variant.
pub fn variant_attrs(attrs: &[Attribute], diags: &mut Diagnostics) -> VariantAttrs {
    let mut out = VariantAttrs::default();
    for attr in attrs.iter().filter(|a| is_serde(a)) {
        let result = attr.parse_nested_meta(|meta| {
            match meta_key(&meta).as_str() {
                "rename" => out.rename = Some(symmetric_string(&meta, "rename")?.1),
                "rename_all" => {
                    let (lit, name) = symmetric_string(&meta, "rename_all")?;
                    out.rename_all = RenameRule::from_name(&name);
                    if out.rename_all.is_none() {
                        return Err(syn::Error::new_spanned(
                            lit,
                            format_args!("unknown serde rename_all rule `{name}`"),
                        ));
                    }
                }
                "skip" | "skip_serializing" => out.skip = true,
                _ => return skip_value(&meta),
            }
            Ok(())
        });
        if let Err(error) = result {
            diags.syn_error(error);
        }
    }
    out
}

fn meta_key(meta: &ParseNestedMeta<'_>) -> String {
    meta.path
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_default()
}

/// Reads `key = "value"`, or `key(serialize = "a", deserialize = "b")` when
/// both sides agree. Different names for the two directions would need two
/// TypeScript types for one Rust type, so they are refused.
fn symmetric_string(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<(LitStr, String)> {
    if meta.input.peek(Token![=]) {
        let lit: LitStr = meta.value()?.parse()?;
        let value = lit.value();
        return Ok((lit, value));
    }
    let mut serialize: Option<LitStr> = None;
    let mut deserialize: Option<LitStr> = None;
    meta.parse_nested_meta(|inner| {
        let lit: LitStr = inner.value()?.parse()?;
        if inner.path.is_ident("serialize") {
            serialize = Some(lit);
        } else if inner.path.is_ident("deserialize") {
            deserialize = Some(lit);
        } else {
            return Err(inner.error("expected `serialize` or `deserialize`"));
        }
        Ok(())
    })?;
    match (serialize, deserialize) {
        (Some(ser), Some(de)) if ser.value() == de.value() => {
            let value = ser.value();
            Ok((ser, value))
        }
        _ => Err(meta.error(format_args!(
            "serde `{key}` must name the same thing for serialize and deserialize on a type \
             shared with TypeScript"
        ))),
    }
}

/// Consumes whatever follows a serde key we do not interpret.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.parse_nested_meta(|inner| skip_value(&inner))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_rules_match_serde() {
        let cases = [
            (RenameRule::Lower, "fiscal_year"),
            (RenameRule::Upper, "FISCAL_YEAR"),
            (RenameRule::Pascal, "FiscalYear"),
            (RenameRule::Camel, "fiscalYear"),
            (RenameRule::Snake, "fiscal_year"),
            (RenameRule::ScreamingSnake, "FISCAL_YEAR"),
            (RenameRule::Kebab, "fiscal-year"),
            (RenameRule::ScreamingKebab, "FISCAL-YEAR"),
        ];
        for (rule, expected) in cases {
            assert_eq!(rule.apply_to_field("fiscal_year"), expected, "{rule:?}");
        }
    }

    #[test]
    fn variant_rules_match_serde() {
        let cases = [
            (RenameRule::Lower, "veryactive"),
            (RenameRule::Upper, "VERYACTIVE"),
            (RenameRule::Pascal, "VeryActive"),
            (RenameRule::Camel, "veryActive"),
            (RenameRule::Snake, "very_active"),
            (RenameRule::ScreamingSnake, "VERY_ACTIVE"),
            (RenameRule::Kebab, "very-active"),
            (RenameRule::ScreamingKebab, "VERY-ACTIVE"),
        ];
        for (rule, expected) in cases {
            assert_eq!(rule.apply_to_variant("VeryActive"), expected, "{rule:?}");
        }
    }

    #[test]
    fn rule_names_round_trip() {
        for (name, rule) in RenameRule::ALL {
            assert_eq!(RenameRule::from_name(name), Some(rule));
            assert_eq!(rule.as_str(), name);
        }
        assert_eq!(RenameRule::from_name("camelcase"), None);
    }

    #[test]
    fn reads_field_attributes() {
        let field: syn::Field = syn::parse_quote! {
            #[serde(rename = "total", skip_serializing_if = "Option::is_none", default)]
            pub amount: Option<f64>
        };
        let mut diags = Diagnostics::new();
        let attrs = field_attrs(&field.attrs, &mut diags);
        assert!(diags.is_empty());
        assert_eq!(attrs.rename.as_deref(), Some("total"));
        assert!(attrs.skip_serializing_if);
        assert!(attrs.default);
        assert!(!attrs.skip_serializing);
    }

    #[test]
    fn refuses_asymmetric_rename() {
        let field: syn::Field = syn::parse_quote! {
            #[serde(rename(serialize = "a", deserialize = "b"))]
            pub amount: f64
        };
        let mut diags = Diagnostics::new();
        field_attrs(&field.attrs, &mut diags);
        let errors = diags.into_vec();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0]
                .message
                .contains("same thing for serialize and deserialize")
        );
    }

    #[test]
    fn ignores_attributes_that_keep_the_shape() {
        let field: syn::Field = syn::parse_quote! {
            #[serde(alias = "old", bound(serialize = "T: Serialize"), borrow)]
            pub amount: f64
        };
        let mut diags = Diagnostics::new();
        let attrs = field_attrs(&field.attrs, &mut diags);
        assert!(diags.is_empty(), "{:?}", diags.into_vec());
        assert!(attrs.rename.is_none());
    }
}
