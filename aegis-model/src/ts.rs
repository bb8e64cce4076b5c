//! The TypeScript type tree, and how it is printed.

use std::fmt;

/// The name of the generated JSON value type that stands for
/// `serde_json::Value` (declared once, beside the protocol types).
pub const JSON_VALUE: &str = "JsonValue";

/// A TypeScript type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TsType {
    Number,
    String,
    Boolean,
    Null,
    /// Any JSON value ([`JSON_VALUE`]), never `any`.
    Json,
    Array(Box<TsType>),
    Tuple(Vec<TsType>),
    /// `Record<string, V>`: JSON object keys are always strings.
    Record(Box<TsType>),
    Union(Vec<TsType>),
    /// A string literal type, as in `'active'`.
    Literal(String),
    /// Another declared type, by its Rust name; the generator resolves it
    /// to the enum or struct of that name in the scanned sources.
    Named(String),
    /// Written by the user with `#[crud(ts_type = "...")]`, printed as is.
    Raw(String),
}

impl TsType {
    /// `T | null`, without doubling the `null` of an already nullable type.
    pub fn nullable(self) -> TsType {
        match self {
            TsType::Union(mut members) => {
                if !members.contains(&TsType::Null) {
                    members.push(TsType::Null);
                }
                TsType::Union(members)
            }
            TsType::Null => TsType::Null,
            other => TsType::Union(vec![other, TsType::Null]),
        }
    }

    /// Every [`TsType::Named`] reference inside this type, in order.
    pub fn named_references(&self) -> Vec<&str> {
        let mut names = Vec::new();
        self.visit_named(&mut |name| names.push(name));
        names
    }

    fn visit_named<'a>(&'a self, visit: &mut impl FnMut(&'a str)) {
        match self {
            TsType::Named(name) => visit(name),
            TsType::Array(inner) | TsType::Record(inner) => inner.visit_named(visit),
            TsType::Tuple(members) | TsType::Union(members) => {
                for member in members {
                    member.visit_named(visit);
                }
            }
            _ => {}
        }
    }

    fn needs_parens_in_array(&self) -> bool {
        matches!(self, TsType::Union(members) if members.len() > 1)
            || matches!(self, TsType::Raw(raw) if raw.contains(['|', '&', ' ']))
    }
}

impl fmt::Display for TsType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TsType::Number => f.write_str("number"),
            TsType::String => f.write_str("string"),
            TsType::Boolean => f.write_str("boolean"),
            TsType::Null => f.write_str("null"),
            TsType::Json => f.write_str(JSON_VALUE),
            TsType::Array(inner) if inner.needs_parens_in_array() => write!(f, "({inner})[]"),
            TsType::Array(inner) => write!(f, "{inner}[]"),
            TsType::Tuple(members) => {
                f.write_str("[")?;
                write_joined(f, members, ", ")?;
                f.write_str("]")
            }
            TsType::Record(value) => write!(f, "Record<string, {value}>"),
            TsType::Union(members) => write_joined(f, members, " | "),
            TsType::Literal(text) => write!(f, "'{}'", escape_single_quoted(text)),
            TsType::Named(name) | TsType::Raw(name) => f.write_str(name),
        }
    }
}

fn write_joined(f: &mut fmt::Formatter<'_>, members: &[TsType], separator: &str) -> fmt::Result {
    for (i, member) in members.iter().enumerate() {
        if i > 0 {
            f.write_str(separator)?;
        }
        write!(f, "{member}")?;
    }
    Ok(())
}

/// Escapes text for a single-quoted TypeScript string literal.
pub fn escape_single_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_types() {
        let cases = [
            (TsType::Number, "number"),
            (TsType::Json, "JsonValue"),
            (TsType::Array(Box::new(TsType::String)), "string[]"),
            (
                TsType::Array(Box::new(TsType::String.nullable())),
                "(string | null)[]",
            ),
            (
                TsType::Record(Box::new(TsType::Number)),
                "Record<string, number>",
            ),
            (
                TsType::Tuple(vec![TsType::Number, TsType::Boolean]),
                "[number, boolean]",
            ),
            (
                TsType::Union(vec![
                    TsType::Literal("a".into()),
                    TsType::Literal("it's".into()),
                ]),
                "'a' | 'it\\'s'",
            ),
        ];
        for (ty, expected) in cases {
            assert_eq!(ty.to_string(), expected);
        }
    }

    #[test]
    fn nullable_does_not_double_null() {
        let once = TsType::Number.nullable();
        assert_eq!(once.clone().nullable(), once);
        assert_eq!(once.to_string(), "number | null");
    }

    #[test]
    fn finds_named_references() {
        let ty = TsType::Record(Box::new(TsType::Union(vec![
            TsType::Named("Status".into()),
            TsType::Array(Box::new(TsType::Named("Address".into()))),
        ])));
        assert_eq!(ty.named_references(), ["Status", "Address"]);
    }
}
