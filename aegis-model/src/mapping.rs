//! Rust types to TypeScript types, as serde_json serialises them.
//!
//! The macro sees one struct, so a type it does not know by name becomes a
//! [`TsType::Named`] reference for the generator to resolve against all the
//! scanned sources. Types that cannot cross JSON are errors that name the
//! field and the `#[crud(ts_type = "...")]` escape hatch.

use syn::{GenericArgument, PathArguments, Type, TypePath};

use crate::diagnostic::{Diagnostic, Location};
use crate::ir::{StorageKind, ValueFormat};
use crate::ts::TsType;

/// What a Rust type becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapped {
    pub ts: TsType,
    /// How the runtime stores a value of this type.
    pub storage: StorageKind,
    /// The outermost type is an `Option`, so the value may be `null`.
    pub nullable: bool,
    /// What the text of a string-valued type holds (a date, a point in
    /// time, a uuid...), for the types this mapping knows.
    pub format: Option<ValueFormat>,
    /// The least and the greatest value of an integer type, within what
    /// its column stores (`i64`): what serde reads into it.
    pub range: Option<(i64, i64)>,
}

/// Maps the type of field `field`.
pub fn map_type(ty: &Type, field: &str) -> Result<Mapped, Diagnostic> {
    let ts = to_ts(ty, field)?;
    let (storage, nullable) = match option_inner(ty) {
        Some(inner) => (storage_of(inner), true),
        None => (storage_of(ty), false),
    };
    Ok(Mapped {
        ts,
        storage,
        nullable,
        format: format_of(option_inner(ty).unwrap_or(ty)),
        range: range_of(option_inner(ty).unwrap_or(ty)),
    })
}

/// The values an integer type holds, clamped to the column's `i64`.
fn range_of(ty: &Type) -> Option<(i64, i64)> {
    let Type::Path(path) = ty else {
        return None;
    };
    let name = last_segment_name(path)?;
    let (least, most): (i128, i128) = match name.as_str() {
        "i8" => (i8::MIN.into(), i8::MAX.into()),
        "i16" => (i16::MIN.into(), i16::MAX.into()),
        "i32" => (i32::MIN.into(), i32::MAX.into()),
        "u8" => (0, u8::MAX.into()),
        "u16" => (0, u16::MAX.into()),
        "u32" => (0, u32::MAX.into()),
        "u64" | "u128" | "usize" => (0, i64::MAX.into()),
        "i64" | "i128" | "isize" => (i64::MIN.into(), i64::MAX.into()),
        _ => return None,
    };
    let clamp = |n: i128| n.clamp(i64::MIN.into(), i64::MAX.into()) as i64;
    Some((clamp(least), clamp(most)))
}

/// Prints a type the way a person writes it (`&'static str`, `Vec<u8>`).
pub fn type_to_string(ty: &Type) -> String {
    let raw = quote::quote!(#ty).to_string();
    let mut out = raw
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" < ", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace("& ", "&")
        .replace("* ", "*")
        .replace(" ;", ";")
        .replace("[ ", "[")
        .replace(" ]", "]")
        .replace("( ", "(")
        .replace(" )", ")");
    if out.starts_with("::") {
        out = out.trim_start_matches("::").to_owned();
    }
    out
}

fn unsupported(ty: &Type, field: &str, why: &str) -> Diagnostic {
    Diagnostic::new(
        Location::of(ty),
        format_args!(
            "field `{field}` has type `{}`, which {why}; use a type serde_json can \
             round-trip, or give its TypeScript type with `#[crud(ts_type = \"...\")]`",
            type_to_string(ty)
        ),
    )
}

fn to_ts(ty: &Type, field: &str) -> Result<TsType, Diagnostic> {
    match ty {
        Type::Paren(inner) => to_ts(&inner.elem, field),
        Type::Group(inner) => to_ts(&inner.elem, field),
        Type::Tuple(tuple) if tuple.elems.is_empty() => Ok(TsType::Null),
        Type::Tuple(tuple) => tuple
            .elems
            .iter()
            .map(|elem| to_ts(elem, field))
            .collect::<Result<_, _>>()
            .map(TsType::Tuple),
        Type::Array(array) => Ok(TsType::Array(Box::new(to_ts(&array.elem, field)?))),
        Type::Slice(slice) => Ok(TsType::Array(Box::new(to_ts(&slice.elem, field)?))),
        Type::Path(path) => path_to_ts(ty, path, field),
        Type::Reference(_) => Err(unsupported(
            ty,
            field,
            "is a reference and cannot be deserialised into an owned entity",
        )),
        Type::Ptr(_) => Err(unsupported(
            ty,
            field,
            "is a raw pointer and cannot cross JSON",
        )),
        Type::TraitObject(_) | Type::ImplTrait(_) => Err(unsupported(
            ty,
            field,
            "is a trait object and has no JSON form",
        )),
        Type::BareFn(_) => Err(unsupported(ty, field, "is a function and has no JSON form")),
        Type::Never(_) => Err(unsupported(ty, field, "has no values")),
        _ => Err(unsupported(ty, field, "has no known JSON form")),
    }
}

fn last_segment_name(path: &TypePath) -> Option<String> {
    path.path.segments.last().map(|s| s.ident.to_string())
}

/// The full path as written, segments joined with `::`.
fn path_string(path: &TypePath) -> String {
    path.path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

/// The type arguments of the last path segment, lifetimes left out.
fn type_args(path: &TypePath) -> Vec<&Type> {
    match path.path.segments.last().map(|s| &s.arguments) {
        Some(PathArguments::AngleBracketed(args)) => args
            .args
            .iter()
            .filter_map(|arg| match arg {
                GenericArgument::Type(ty) => Some(ty),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

const INTEGERS: [&str; 12] = [
    "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize",
];

/// Date and time types: chrono and time serialise them as ISO 8601 strings.
const DATE_TIME_NAMES: [&str; 6] = [
    "DateTime",
    "NaiveDate",
    "NaiveDateTime",
    "NaiveTime",
    "OffsetDateTime",
    "PrimitiveDateTime",
];
/// Names too common to recognise without their crate's path.
const DATE_TIME_PATHS: [&str; 4] = [
    "time::Date",
    "time::Time",
    "chrono::Date",
    "jiff::Timestamp",
];
const STRING_LIKE_NAMES: [&str; 5] = ["String", "str", "char", "Uuid", "Decimal"];
const SEQUENCE_NAMES: [&str; 7] = [
    "Vec",
    "VecDeque",
    "LinkedList",
    "HashSet",
    "BTreeSet",
    "IndexSet",
    "BinaryHeap",
];
const MAP_NAMES: [&str; 3] = ["HashMap", "BTreeMap", "IndexMap"];
const WRAPPER_NAMES: [&str; 4] = ["Box", "Rc", "Arc", "Cow"];
const JSON_VALUE_NAMES: [&str; 2] = ["Value", "JsonValue"];

fn path_to_ts(ty: &Type, path: &TypePath, field: &str) -> Result<TsType, Diagnostic> {
    if path.qself.is_some() {
        return Err(unsupported(ty, field, "is an associated type path"));
    }
    let Some(name) = last_segment_name(path) else {
        return Err(unsupported(ty, field, "has no known JSON form"));
    };
    let full = path_string(path);
    let args = type_args(path);
    let arg = |index: usize| -> Result<&Type, Diagnostic> {
        args.get(index)
            .copied()
            .ok_or_else(|| unsupported(ty, field, "is missing its type arguments"))
    };
    let name = name.as_str();

    if is_file(path) {
        return Ok(TsType::Raw(STORED_FILE.to_owned()));
    }
    if INTEGERS.contains(&name) || name == "f32" || name == "f64" {
        return Ok(TsType::Number);
    }
    if name == "bool" {
        return Ok(TsType::Boolean);
    }
    if STRING_LIKE_NAMES.contains(&name)
        || DATE_TIME_NAMES.contains(&name)
        || DATE_TIME_PATHS.iter().any(|p| full.ends_with(p))
    {
        return Ok(TsType::String);
    }
    if name == "Option" {
        return Ok(to_ts(arg(0)?, field)?.nullable());
    }
    if SEQUENCE_NAMES.contains(&name) {
        return Ok(TsType::Array(Box::new(to_ts(arg(0)?, field)?)));
    }
    if MAP_NAMES.contains(&name) || full.ends_with("serde_json::Map") {
        let key = arg(0)?;
        if !is_json_object_key(key) {
            return Err(unsupported(
                ty,
                field,
                "has keys that serde_json cannot write as object keys",
            ));
        }
        return Ok(TsType::Record(Box::new(to_ts(arg(1)?, field)?)));
    }
    if WRAPPER_NAMES.contains(&name) {
        // Cow<'a, B> carries its lifetime first; its type argument is the
        // only one left after lifetimes are dropped.
        return to_ts(arg(0)?, field);
    }
    if JSON_VALUE_NAMES.contains(&name) {
        return Ok(TsType::Json);
    }
    if name == "PhantomData" {
        return Ok(TsType::Null);
    }
    if name == "Self" {
        return Err(unsupported(ty, field, "refers to the entity itself"));
    }
    if !args.is_empty() {
        return Err(unsupported(
            ty,
            field,
            "is a generic type whose JSON form depends on code Aegis cannot see",
        ));
    }
    Ok(TsType::Named(name.to_owned()))
}

/// serde_json writes strings, chars and integers as object keys.
fn is_json_object_key(key: &Type) -> bool {
    match key {
        Type::Path(path) => last_segment_name(path).is_some_and(|name| {
            INTEGERS.contains(&name.as_str())
                || STRING_LIKE_NAMES.contains(&name.as_str())
                || WRAPPER_NAMES.contains(&name.as_str())
                    && type_args(path)
                        .first()
                        .is_some_and(|t| is_json_object_key(t))
        }),
        Type::Reference(reference) => is_json_object_key(&reference.elem),
        Type::Paren(inner) => is_json_object_key(&inner.elem),
        Type::Group(inner) => is_json_object_key(&inner.elem),
        _ => false,
    }
}

/// `T` when `ty` is `Vec<T>`.
pub fn vec_inner(ty: &Type) -> Option<&Type> {
    match ty {
        Type::Paren(inner) => vec_inner(&inner.elem),
        Type::Group(inner) => vec_inner(&inner.elem),
        Type::Path(path) if path.qself.is_none() => {
            if last_segment_name(path).as_deref() == Some("Vec") {
                type_args(path).first().copied()
            } else {
                None
            }
        }
        _ => None,
    }
}

/// `T` when `ty` is `Option<T>`.
pub fn option_inner(ty: &Type) -> Option<&Type> {
    match ty {
        Type::Paren(inner) => option_inner(&inner.elem),
        Type::Group(inner) => option_inner(&inner.elem),
        Type::Path(path) if path.qself.is_none() => {
            if last_segment_name(path).as_deref() == Some("Option") {
                type_args(path).first().copied()
            } else {
                None
            }
        }
        _ => None,
    }
}

/// How the runtime stores a (non-optional) value of this type.
/// The formats of the string-valued types this mapping knows, by last
/// path segment; names too common to take alone need their crate's path.
const FORMAT_NAMES: [(&str, ValueFormat); 9] = [
    ("DateTime", ValueFormat::Instant),
    ("OffsetDateTime", ValueFormat::Instant),
    ("NaiveDateTime", ValueFormat::LocalDateTime),
    ("PrimitiveDateTime", ValueFormat::LocalDateTime),
    ("NaiveDate", ValueFormat::Date),
    ("NaiveTime", ValueFormat::Time),
    ("Uuid", ValueFormat::Uuid),
    ("Decimal", ValueFormat::Decimal),
    ("char", ValueFormat::Char),
];
const FORMAT_PATHS: [(&str, ValueFormat); 4] = [
    ("jiff::Timestamp", ValueFormat::Instant),
    ("time::Date", ValueFormat::Date),
    ("chrono::Date", ValueFormat::Date),
    ("time::Time", ValueFormat::Time),
];

/// `aegis::File`, written with its path (a bare `File` is a type of the
/// app's own, as a bare `Date` is): a file a row holds, sent as the
/// protocol's `StoredFile`.
fn is_file(path: &TypePath) -> bool {
    path.qself.is_none() && path_string(path).ends_with("aegis::File")
}

/// The TypeScript name of a file value (declared with the protocol types).
pub const STORED_FILE: &str = "StoredFile";

fn format_of(ty: &Type) -> Option<ValueFormat> {
    match ty {
        Type::Paren(inner) => format_of(&inner.elem),
        Type::Group(inner) => format_of(&inner.elem),
        Type::Path(path) if is_file(path) => Some(ValueFormat::File),
        Type::Path(path) if path.qself.is_none() => {
            let name = last_segment_name(path)?;
            let full = path_string(path);
            FORMAT_NAMES
                .iter()
                .find(|(known, _)| *known == name)
                .or_else(|| FORMAT_PATHS.iter().find(|(known, _)| full.ends_with(known)))
                .map(|(_, format)| *format)
        }
        _ => None,
    }
}

fn storage_of(ty: &Type) -> StorageKind {
    match ty {
        Type::Paren(inner) => storage_of(&inner.elem),
        Type::Group(inner) => storage_of(&inner.elem),
        Type::Path(path) if path.qself.is_none() => {
            let Some(name) = last_segment_name(path) else {
                return StorageKind::Json;
            };
            let name = name.as_str();
            if INTEGERS.contains(&name) {
                StorageKind::Integer
            } else if name == "f32" || name == "f64" {
                StorageKind::Float
            } else if name == "bool" {
                StorageKind::Boolean
            } else if STRING_LIKE_NAMES.contains(&name)
                || DATE_TIME_NAMES.contains(&name)
                || DATE_TIME_PATHS
                    .iter()
                    .any(|p| path_string(path).ends_with(p))
            {
                StorageKind::Text
            } else if WRAPPER_NAMES.contains(&name) {
                type_args(path)
                    .first()
                    .map_or(StorageKind::Json, |inner| storage_of(inner))
            } else {
                StorageKind::Json
            }
        }
        _ => StorageKind::Json,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn ts(ty: Type) -> String {
        map_type(&ty, "f").expect("maps").ts.to_string()
    }

    fn error(ty: Type) -> String {
        map_type(&ty, "f").expect_err("refused").message
    }

    #[test]
    fn integer_ranges_are_the_types_within_the_column() {
        let range = |ty: &str| {
            let ty: syn::Type = syn::parse_str(ty).unwrap();
            map_type(&ty, "f").unwrap().range
        };
        assert_eq!(range("i8"), Some((-128, 127)));
        assert_eq!(range("Option<u16>"), Some((0, 65_535)));
        assert_eq!(range("i32"), Some((i32::MIN.into(), i32::MAX.into())));
        assert_eq!(range("u64"), Some((0, i64::MAX)), "within the column's i64");
        assert_eq!(range("i128"), Some((i64::MIN, i64::MAX)));
        assert_eq!(range("f64"), None);
        assert_eq!(range("String"), None);
    }

    #[test]
    fn value_formats_are_decided_here() {
        let format = |ty: Type| map_type(&ty, "f").expect("maps").format;
        let cases: [(Type, Option<ValueFormat>); 17] = [
            (
                parse_quote!(chrono::DateTime<chrono::Utc>),
                Some(ValueFormat::Instant),
            ),
            (
                parse_quote!(Option<DateTime<FixedOffset>>),
                Some(ValueFormat::Instant),
            ),
            (
                parse_quote!(time::OffsetDateTime),
                Some(ValueFormat::Instant),
            ),
            (parse_quote!(jiff::Timestamp), Some(ValueFormat::Instant)),
            (
                parse_quote!(NaiveDateTime),
                Some(ValueFormat::LocalDateTime),
            ),
            (parse_quote!(NaiveDate), Some(ValueFormat::Date)),
            (parse_quote!(time::Date), Some(ValueFormat::Date)),
            (parse_quote!(NaiveTime), Some(ValueFormat::Time)),
            (parse_quote!(uuid::Uuid), Some(ValueFormat::Uuid)),
            (parse_quote!(Decimal), Some(ValueFormat::Decimal)),
            // A bare `Date` is a type of the user's own.
            (parse_quote!(Date), None),
            (parse_quote!(aegis::File), Some(ValueFormat::File)),
            (parse_quote!(Option<::aegis::File>), Some(ValueFormat::File)),
            // So is a bare `File`.
            (parse_quote!(File), None),
            (parse_quote!(String), None),
            (parse_quote!(Vec<DateTime<Utc>>), None),
            (parse_quote!(Option<char>), Some(ValueFormat::Char)),
        ];
        for (ty, expected) in cases {
            let written = type_to_string(&ty);
            assert_eq!(format(ty), expected, "{written}");
        }
    }

    #[test]
    fn numbers() {
        for ty in INTEGERS.iter().chain(&["f32", "f64"]) {
            let ty: Type = syn::parse_str(ty).unwrap();
            assert_eq!(ts(ty), "number");
        }
    }

    #[test]
    fn strings_and_booleans() {
        assert_eq!(ts(parse_quote!(String)), "string");
        assert_eq!(ts(parse_quote!(std::string::String)), "string");
        assert_eq!(ts(parse_quote!(char)), "string");
        assert_eq!(ts(parse_quote!(bool)), "boolean");
        assert_eq!(ts(parse_quote!(Box<str>)), "string");
        assert_eq!(ts(parse_quote!(Cow<'static, str>)), "string");
        assert_eq!(ts(parse_quote!(std::sync::Arc<String>)), "string");
    }

    #[test]
    fn option_is_nullable() {
        let mapped = map_type(&parse_quote!(Option<i32>), "f").unwrap();
        assert_eq!(mapped.ts.to_string(), "number | null");
        assert!(mapped.nullable);
        assert_eq!(mapped.storage, StorageKind::Integer);
        assert_eq!(ts(parse_quote!(Option<Option<i32>>)), "number | null");
        assert_eq!(ts(parse_quote!(Vec<Option<i32>>)), "(number | null)[]");
    }

    #[test]
    fn sequences_are_arrays() {
        assert_eq!(ts(parse_quote!(Vec<String>)), "string[]");
        assert_eq!(ts(parse_quote!(VecDeque<u8>)), "number[]");
        assert_eq!(ts(parse_quote!(BTreeSet<String>)), "string[]");
        assert_eq!(ts(parse_quote!(std::collections::HashSet<i64>)), "number[]");
        assert_eq!(ts(parse_quote!([f64; 3])), "number[]");
        assert_eq!(ts(parse_quote!(Box<[bool]>)), "boolean[]");
        assert_eq!(ts(parse_quote!(Vec<Vec<u8>>)), "number[][]");
    }

    #[test]
    fn maps_are_records() {
        assert_eq!(
            ts(parse_quote!(HashMap<String, i64>)),
            "Record<string, number>"
        );
        assert_eq!(
            ts(parse_quote!(BTreeMap<String, Vec<String>>)),
            "Record<string, string[]>"
        );
        assert_eq!(
            ts(parse_quote!(BTreeMap<u32, bool>)),
            "Record<string, boolean>"
        );
        assert_eq!(
            ts(parse_quote!(serde_json::Map<String, serde_json::Value>)),
            "Record<string, JsonValue>"
        );
        assert!(error(parse_quote!(HashMap<(i32, i32), String>)).contains("object keys"));
    }

    #[test]
    fn dates_uuids_and_decimals_are_strings() {
        for ty in [
            quote::quote!(chrono::DateTime<chrono::Utc>),
            quote::quote!(DateTime<Utc>),
            quote::quote!(NaiveDate),
            quote::quote!(chrono::NaiveDateTime),
            quote::quote!(NaiveTime),
            quote::quote!(time::OffsetDateTime),
            quote::quote!(time::PrimitiveDateTime),
            quote::quote!(time::Date),
            quote::quote!(uuid::Uuid),
            quote::quote!(Uuid),
            quote::quote!(rust_decimal::Decimal),
        ] {
            let ty: Type = syn::parse2(ty).unwrap();
            let mapped = map_type(&ty, "f").unwrap();
            assert_eq!(mapped.ts, TsType::String, "{}", type_to_string(&ty));
            assert_eq!(mapped.storage, StorageKind::Text);
        }
    }

    #[test]
    fn json_values() {
        assert_eq!(ts(parse_quote!(serde_json::Value)), "JsonValue");
        assert_eq!(ts(parse_quote!(Value)), "JsonValue");
        let mapped = map_type(&parse_quote!(Option<serde_json::Value>), "f").unwrap();
        assert_eq!(mapped.ts.to_string(), "JsonValue | null");
        assert_eq!(mapped.storage, StorageKind::Json);
    }

    #[test]
    fn tuples_and_unit() {
        assert_eq!(ts(parse_quote!((i32, String))), "[number, string]");
        assert_eq!(ts(parse_quote!(())), "null");
    }

    #[test]
    fn unknown_names_are_left_for_the_generator() {
        let mapped = map_type(&parse_quote!(Option<crate::model::Status>), "f").unwrap();
        assert_eq!(mapped.ts, TsType::Named("Status".into()).nullable());
        assert_eq!(mapped.storage, StorageKind::Json);
        assert_eq!(ts(parse_quote!(Vec<Address>)), "Address[]");
        // Too common a name to assume `time::Date` without the path.
        assert_eq!(ts(parse_quote!(Date)), "Date");
    }

    #[test]
    fn refuses_what_cannot_cross_json() {
        let cases: [(Type, &str); 7] = [
            (parse_quote!(&'static str), "is a reference"),
            (parse_quote!(*const u8), "raw pointer"),
            (parse_quote!(Box<dyn std::fmt::Debug>), "trait object"),
            (parse_quote!(fn(i32) -> i32), "is a function"),
            (parse_quote!(<T as Trait>::Output), "associated type"),
            (parse_quote!(Wrapper<i32>), "generic type"),
            (parse_quote!(Vec<&str>), "is a reference"),
        ];
        for (ty, why) in cases {
            let message = error(ty);
            assert!(message.contains(why), "{message}");
            assert!(message.contains("field `f`"), "{message}");
            assert!(message.contains("#[crud(ts_type = \"...\")]"), "{message}");
        }
    }

    #[test]
    fn error_names_the_type_as_written() {
        let message = error(parse_quote!(&'static str));
        assert!(message.contains("`&'static str`"), "{message}");
    }

    #[test]
    fn storage_kinds() {
        let kind = |ty: Type| map_type(&ty, "f").unwrap().storage;
        assert_eq!(kind(parse_quote!(i64)), StorageKind::Integer);
        assert_eq!(kind(parse_quote!(f64)), StorageKind::Float);
        assert_eq!(kind(parse_quote!(bool)), StorageKind::Boolean);
        assert_eq!(kind(parse_quote!(String)), StorageKind::Text);
        assert_eq!(kind(parse_quote!(Vec<String>)), StorageKind::Json);
        assert_eq!(kind(parse_quote!(Box<i64>)), StorageKind::Integer);
    }
}
