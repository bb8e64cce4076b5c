//! The TypeScript type tree, and how it is printed.

use std::fmt;

/// The name of the generated JSON value type that stands for
/// `serde_json::Value` (declared once, beside the protocol types).
pub const JSON_VALUE: &str = "JsonValue";

/// The column generated TypeScript is laid out for: the web app's
/// Prettier `printWidth`.
pub const PRINT_WIDTH: usize = 100;

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
    /// An object type written inline, `{ type: 'auth'; token: string }`.
    Object(Vec<TsProperty>),
    /// `A & B`
    Intersection(Vec<TsType>),
}

/// One property of an interface or object type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TsProperty {
    pub name: String,
    pub ty: TsType,
    /// `name?:` — serde may leave the key out.
    pub optional: bool,
}

impl fmt::Display for TsProperty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let optional = if self.optional { "?" } else { "" };
        write!(f, "{}{optional}: {}", self.name, self.ty)
    }
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

    /// Whether this type, or any type inside it, satisfies `test`.
    pub fn any(&self, test: &impl Fn(&TsType) -> bool) -> bool {
        if test(self) {
            return true;
        }
        match self {
            TsType::Array(inner) | TsType::Record(inner) => inner.any(test),
            TsType::Tuple(members) | TsType::Union(members) | TsType::Intersection(members) => {
                members.iter().any(|m| m.any(test))
            }
            TsType::Object(properties) => properties.iter().any(|p| p.ty.any(test)),
            _ => false,
        }
    }

    /// This type with every [`TsType::Named`] reference passed through `rename`.
    pub fn rename_named(&self, rename: &impl Fn(&str) -> Option<String>) -> TsType {
        let all = |members: &[TsType]| members.iter().map(|m| m.rename_named(rename)).collect();
        match self {
            TsType::Named(name) => TsType::Named(rename(name).unwrap_or_else(|| name.clone())),
            TsType::Array(inner) => TsType::Array(Box::new(inner.rename_named(rename))),
            TsType::Record(inner) => TsType::Record(Box::new(inner.rename_named(rename))),
            TsType::Tuple(members) => TsType::Tuple(all(members)),
            TsType::Union(members) => TsType::Union(all(members)),
            TsType::Intersection(members) => TsType::Intersection(all(members)),
            TsType::Object(properties) => TsType::Object(
                properties
                    .iter()
                    .map(|p| TsProperty {
                        name: p.name.clone(),
                        ty: p.ty.rename_named(rename),
                        optional: p.optional,
                    })
                    .collect(),
            ),
            other => other.clone(),
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
            TsType::Tuple(members) | TsType::Union(members) | TsType::Intersection(members) => {
                for member in members {
                    member.visit_named(visit);
                }
            }
            TsType::Object(properties) => {
                for property in properties {
                    property.ty.visit_named(visit);
                }
            }
            _ => {}
        }
    }

    /// A member of a union as it is written there: an intersection in
    /// parentheses, as Prettier writes it.
    pub fn union_member(member: &TsType) -> String {
        match member {
            TsType::Intersection(parts) if parts.len() > 1 => format!("({member})"),
            _ => member.to_string(),
        }
    }

    fn needs_parens_in_array(&self) -> bool {
        matches!(self, TsType::Union(members) | TsType::Intersection(members) if members.len() > 1)
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
            TsType::Union(members) => {
                let written: Vec<String> = members.iter().map(TsType::union_member).collect();
                f.write_str(&written.join(" | "))
            }
            TsType::Intersection(members) => write_joined(f, members, " & "),
            TsType::Object(properties) => {
                f.write_str("{ ")?;
                for (i, property) in properties.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{property}")?;
                }
                f.write_str(" }")
            }
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
    fn prints_objects_and_intersections() {
        let object = TsType::Object(vec![
            TsProperty {
                name: "type".into(),
                ty: TsType::Literal("auth".into()),
                optional: false,
            },
            TsProperty {
                name: "feature".into(),
                ty: TsType::String,
                optional: true,
            },
        ]);
        assert_eq!(object.to_string(), "{ type: 'auth'; feature?: string }");
        let both = TsType::Intersection(vec![object, TsType::Named("EventMessage".into())]);
        assert_eq!(
            both.to_string(),
            "{ type: 'auth'; feature?: string } & EventMessage"
        );
        assert_eq!(both.named_references(), ["EventMessage"]);
    }

    #[test]
    fn nullable_does_not_double_null() {
        let once = TsType::Number.nullable();
        assert_eq!(once.clone().nullable(), once);
        assert_eq!(once.to_string(), "number | null");
    }

    #[test]
    fn renames_and_searches() {
        let ty = TsType::Array(Box::new(TsType::Named("Human".into()).nullable()));
        let renamed = ty.rename_named(&|name| (name == "Human").then(|| "Person".to_owned()));
        assert_eq!(renamed.to_string(), "(Person | null)[]");
        assert!(renamed.any(&|t| *t == TsType::Null));
        assert!(!renamed.any(&|t| *t == TsType::Json));
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
