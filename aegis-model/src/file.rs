//! File fields: a field of type `aegis::File` (modules.toml `file` or
//! `image`) holds one uploaded file; `#[crud(file(max_bytes = 5_000_000,
//! types = ["application/pdf"]))]` (modules.toml `max_bytes`, `types`)
//! says what its uploads may be. The server checks both on the bytes.

use syn::meta::ParseNestedMeta;
use syn::{Expr, ExprArray, ExprLit, Lit};

use crate::diagnostic::{Diagnostics, Location};
use crate::ir::ValueFormat;
use crate::lower::FieldInput;

/// What a file field takes when its attribute does not say: 10 MB.
pub const DEFAULT_MAX_BYTES: u64 = 10_000_000;

/// What modules.toml's `image` takes when it does not say: the raster
/// images a browser shows.
pub const IMAGE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// What a file field's uploads may be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSpec {
    /// The largest file, in bytes.
    pub max_bytes: u64,
    /// The content types it takes (any, when empty), as the server reads
    /// them in the bytes.
    pub types: Vec<String>,
}

impl FileSpec {
    /// Whether every type it takes is an image (a list shows a thumbnail).
    pub fn images_only(&self) -> bool {
        !self.types.is_empty() && self.types.iter().all(|t| t.starts_with("image/"))
    }
}

/// What `file(...)` said, each part with where it was written.
#[derive(Clone, Debug)]
pub struct FileArgs {
    pub location: Location,
    pub max_bytes: Option<(u64, Location)>,
    pub types: Option<(Vec<String>, Location)>,
}

const USAGE: &str = "`file` takes `max_bytes` and `types`, as in \
    `file(max_bytes = 5_000_000, types = [\"application/pdf\"])`";

/// Reads `file(max_bytes = ..., types = [...])`, once.
pub(crate) fn parse(
    meta: &ParseNestedMeta<'_>,
    slot: &mut Option<FileArgs>,
    diags: &mut Diagnostics,
) -> syn::Result<()> {
    let location = Location::of(&meta.path);
    if !meta.input.peek(syn::token::Paren) {
        diags.error(location, USAGE);
        return crate::attr::skip_value(meta);
    }
    if slot.is_some() {
        diags.error(location.clone(), "duplicate crud option `file`");
    }
    let mut args = FileArgs {
        location,
        max_bytes: None,
        types: None,
    };
    meta.parse_nested_meta(|inner| {
        let key = inner.path.get_ident().map(ToString::to_string);
        let value: Expr = inner.value()?.parse()?;
        let at = Location::of(&value);
        match key.as_deref() {
            Some("max_bytes") => match &value {
                Expr::Lit(ExprLit {
                    lit: Lit::Int(int), ..
                }) if int.base10_parse::<u64>().is_ok_and(|n| n > 0) => {
                    args.max_bytes = Some((int.base10_parse().unwrap_or_default(), at));
                }
                _ => diags.error(at, "`max_bytes` is a whole number of bytes, more than 0"),
            },
            Some("types") => match types_of(&value) {
                Some(types) => args.types = Some((types, at)),
                None => diags.error(
                    at,
                    "`types` lists content types, as in `types = [\"image/png\", \"application/pdf\"]`",
                ),
            },
            _ => diags.error(Location::of(&inner.path), USAGE),
        }
        Ok(())
    })?;
    *slot = Some(args);
    Ok(())
}

/// A list of `type/subtype` strings, at least one.
fn types_of(value: &Expr) -> Option<Vec<String>> {
    let Expr::Array(ExprArray { elems, .. }) = value else {
        return None;
    };
    let types = elems
        .iter()
        .map(|e| match e {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) if is_content_type(&s.value()) => Some(s.value()),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    (!types.is_empty()).then_some(types)
}

/// `type/subtype`, lower case, no parameters.
pub fn is_content_type(text: &str) -> bool {
    let mut parts = text.split('/');
    let ok = |part: Option<&str>| {
        part.is_some_and(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c))
        })
    };
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

/// The field's file spec: for a field of type `aegis::File` (or an
/// `Option` of it), what `file(...)` says or the defaults; `file(...)` on
/// any other type is an error at it, and so is a list of files.
pub(crate) fn check(
    field: &FieldInput,
    format: Option<ValueFormat>,
    diags: &mut Diagnostics,
) -> Option<FileSpec> {
    let args = field.crud.file.as_ref();
    let listed = crate::mapping::vec_inner(&field.ty)
        .and_then(|inner| crate::mapping::map_type(inner, &field.ident).ok())
        .is_some_and(|mapped| mapped.format == Some(ValueFormat::File));
    if listed {
        diags.error(
            field.ty_location.clone(),
            format_args!(
                "`{}` holds one file: use `aegis::File`, or `Option<aegis::File>` for a file \
                 that may be missing",
                field.ident
            ),
        );
        return None;
    }
    if format != Some(ValueFormat::File) {
        if let Some(args) = args {
            diags.error(
                args.location.clone(),
                format_args!(
                    "`file(...)` is for a field of type `aegis::File`, and `{}` is not one",
                    field.ident
                ),
            );
        }
        return None;
    }
    Some(FileSpec {
        max_bytes: args
            .and_then(|a| a.max_bytes.as_ref())
            .map_or(DEFAULT_MAX_BYTES, |(n, _)| *n),
        types: args
            .and_then(|a| a.types.as_ref())
            .map_or_else(Vec::new, |(types, _)| types.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert!(is_content_type("application/pdf"));
        assert!(is_content_type("image/svg+xml"));
        assert!(!is_content_type("image"));
        assert!(!is_content_type("Image/PNG"));
        assert!(!is_content_type("text/plain; charset=utf-8"));
        assert!(!is_content_type("a/b/c"));
    }
}
