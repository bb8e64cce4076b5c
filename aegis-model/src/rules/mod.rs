//! Validation rules declared on a field: `#[crud(min = 0, max = 100)]`,
//! `length(min = 1, max = 80)`, `pattern = "..."`, `email`, `url`,
//! `one_of = [...]`, and the same keys in modules.toml. Read here for both
//! declarations, checked against the field's type once, and carried in the
//! IR as [`Rules`]; the runtime and the generated validators enforce them
//! with the same meaning and the same messages.

use syn::meta::ParseNestedMeta;
use syn::{Expr, ExprLit, ExprUnary, Lit, Token, UnOp};

use crate::attr::StringOption;

mod pattern;

use crate::diagnostic::{Diagnostics, Location};
use crate::ir::{StorageKind, ValueFormat};
use crate::ts::TsType;
pub use pattern::pattern_example;
use pattern::pattern_problem;

/// The most characters a plain text field takes when its declaration sets
/// no `length(max = ..)`: every request's cost is bounded, and a field
/// without a bound would let one row hold megabytes that every list, search
/// and export then reads. A larger `max` says otherwise.
pub const DEFAULT_MAX_TEXT_CHARS: u32 = 10_000;

/// The rule keys `#[crud]` and modules.toml accept on a field.
pub const RULE_KEYS: [&str; 7] = ["min", "max", "length", "pattern", "email", "url", "one_of"];

/// An allowed value of `one_of`.
#[derive(Clone, Debug, PartialEq)]
pub enum RuleValue {
    Text(String),
    Number(f64),
}

/// A number a rule was given, and where.
#[derive(Clone, Debug)]
pub struct Bound {
    pub value: f64,
    pub location: Location,
}

/// What a declaration said about rules, each with where it was said.
#[derive(Clone, Debug, Default)]
pub struct RuleArgs {
    pub min: Option<Bound>,
    pub max: Option<Bound>,
    pub min_length: Option<Bound>,
    pub max_length: Option<Bound>,
    pub pattern: Option<StringOption>,
    pub email: Option<Location>,
    pub url: Option<Location>,
    pub one_of: Option<(Vec<RuleValue>, Location)>,
}

/// A field's rules, checked against its type. A rule holds for `null`
/// (and for a key left out): nullability is the type's business.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rules {
    /// The least number allowed.
    pub min: Option<f64>,
    /// The greatest number allowed.
    pub max: Option<f64>,
    /// The fewest characters (Unicode scalar values) a text may have.
    pub min_length: Option<u32>,
    /// The most characters a text may have.
    pub max_length: Option<u32>,
    /// A regular expression the whole text must match.
    pub pattern: Option<String>,
    /// The text is an email address.
    pub email: bool,
    /// The text is an absolute `http` or `https` URL.
    pub url: bool,
    /// The only values allowed.
    pub one_of: Vec<RuleValue>,
}

impl Rules {
    pub fn is_empty(&self) -> bool {
        *self == Rules::default()
    }
}

/// Reads one rule key of `#[crud(...)]` into `args`.
pub(crate) fn parse_rule(
    key: &str,
    meta: &ParseNestedMeta<'_>,
    args: &mut RuleArgs,
    diags: &mut Diagnostics,
) -> syn::Result<()> {
    match key {
        "email" | "url" => flag_rule(key, meta, args, diags),
        "min" | "max" => bound_rule(key, meta, args, diags),
        "length" => length_rule(meta, args, diags),
        "pattern" => pattern_rule(meta, args, diags),
        _ => one_of_rule(meta, args, diags),
    }
}

fn duplicate(meta: &ParseNestedMeta<'_>, key: &str, diags: &mut Diagnostics) {
    diags.error(
        Location::of(&meta.path),
        format_args!("duplicate crud rule `{key}`"),
    );
}

/// `email` or `url`: alone, once.
fn flag_rule(
    key: &str,
    meta: &ParseNestedMeta<'_>,
    args: &mut RuleArgs,
    diags: &mut Diagnostics,
) -> syn::Result<()> {
    let key_location = Location::of(&meta.path);
    if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
        diags.error(
            key_location,
            format_args!("crud rule `{key}` takes no value, write `{key}` alone"),
        );
        return crate::attr::skip_value(meta);
    }
    let slot = if key == "email" {
        &mut args.email
    } else {
        &mut args.url
    };
    if slot.is_some() {
        duplicate(meta, key, diags);
    } else {
        *slot = Some(key_location);
    }
    Ok(())
}

/// `min = n` or `max = n`: a number, once.
fn bound_rule(
    key: &str,
    meta: &ParseNestedMeta<'_>,
    args: &mut RuleArgs,
    diags: &mut Diagnostics,
) -> syn::Result<()> {
    let value: Expr = meta.value()?.parse()?;
    let Some(number) = number_of(&value) else {
        diags.error(
            Location::of(&value),
            format_args!("crud rule `{key}` expects a number, as in `{key} = 0`"),
        );
        return Ok(());
    };
    let slot = if key == "min" {
        &mut args.min
    } else {
        &mut args.max
    };
    if slot.is_some() {
        duplicate(meta, key, diags);
    } else {
        *slot = Some(Bound {
            value: number,
            location: Location::of(&value),
        });
    }
    Ok(())
}

/// `length(min = a, max = b)`: whole numbers of characters, once.
fn length_rule(
    meta: &ParseNestedMeta<'_>,
    args: &mut RuleArgs,
    diags: &mut Diagnostics,
) -> syn::Result<()> {
    if !meta.input.peek(syn::token::Paren) {
        diags.error(
            Location::of(&meta.path),
            "crud rule `length` takes bounds, as in `length(min = 1, max = 80)`",
        );
        return crate::attr::skip_value(meta);
    }
    if args.min_length.is_some() || args.max_length.is_some() {
        duplicate(meta, "length", diags);
    }
    meta.parse_nested_meta(|inner| {
        let bound = inner.path.get_ident().map(ToString::to_string);
        let value: Expr = inner.value()?.parse()?;
        let slot = match bound.as_deref() {
            Some("min") => &mut args.min_length,
            Some("max") => &mut args.max_length,
            _ => {
                diags.error(
                    Location::of(&inner.path),
                    "`length` takes `min` and `max`, as in `length(min = 1, max = 80)`",
                );
                return Ok(());
            }
        };
        match number_of(&value) {
            Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= f64::from(u32::MAX) => {
                *slot = Some(Bound {
                    value: n,
                    location: Location::of(&value),
                });
            }
            _ => diags.error(
                Location::of(&value),
                "a length is a whole number of characters, 0 or more",
            ),
        }
        Ok(())
    })
}

/// `pattern = "..."`: a regular expression that is not empty, once.
fn pattern_rule(
    meta: &ParseNestedMeta<'_>,
    args: &mut RuleArgs,
    diags: &mut Diagnostics,
) -> syn::Result<()> {
    let value: Expr = meta.value()?.parse()?;
    match &value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) if !lit.value().is_empty() => {
            if args.pattern.is_some() {
                duplicate(meta, "pattern", diags);
            } else {
                args.pattern = Some(StringOption {
                    value: lit.value(),
                    location: Location::of(lit),
                });
            }
        }
        _ => diags.error(
            Location::of(&value),
            "crud rule `pattern` expects a regular expression in a string literal, as \
             in `pattern = \"[A-Z]{3}\"`",
        ),
    }
    Ok(())
}

/// `one_of = [...]`: strings or numbers, at least one, once.
fn one_of_rule(
    meta: &ParseNestedMeta<'_>,
    args: &mut RuleArgs,
    diags: &mut Diagnostics,
) -> syn::Result<()> {
    let value: Expr = meta.value()?.parse()?;
    let values = match &value {
        Expr::Array(array) => array
            .elems
            .iter()
            .map(|e| match e {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => Some(RuleValue::Text(s.value())),
                other => number_of(other).map(RuleValue::Number),
            })
            .collect::<Option<Vec<_>>>(),
        _ => None,
    };
    match values {
        Some(values) if !values.is_empty() => {
            if args.one_of.is_some() {
                duplicate(meta, "one_of", diags);
            } else {
                args.one_of = Some((values, Location::of(&value)));
            }
        }
        _ => diags.error(
            Location::of(&value),
            "crud rule `one_of` expects a list of strings or numbers, as in \
             `one_of = [\"EUR\", \"USD\"]`",
        ),
    }
    Ok(())
}

/// A number literal, negative or not, that an `f64` holds (`1e999` reads
/// as infinity, which no rule can mean and no Rust literal can write).
fn number_of(expr: &Expr) -> Option<f64> {
    literal_number(expr).filter(|n| n.is_finite())
}

fn literal_number(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => int.base10_parse::<f64>().ok(),
        Expr::Lit(ExprLit {
            lit: Lit::Float(float),
            ..
        }) => float.base10_parse::<f64>().ok(),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => literal_number(expr).map(|n| -n),
        _ => None,
    }
}

/// What kind of value a field holds, for its rules.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Number,
    Text,
    Other,
}

fn kind_of(ts: &TsType, storage: StorageKind, format: Option<ValueFormat>) -> Kind {
    let base = match ts {
        TsType::Union(members) => {
            let rest: Vec<&TsType> = members.iter().filter(|m| **m != TsType::Null).collect();
            match rest.as_slice() {
                [one] => (*one).clone(),
                _ => return Kind::Other,
            }
        }
        other => other.clone(),
    };
    match (base, storage) {
        (TsType::Number, StorageKind::Integer) => Kind::Integer,
        (TsType::Number, _) => Kind::Number,
        (TsType::String, StorageKind::Text) if format.is_none() => Kind::Text,
        _ => Kind::Other,
    }
}

/// Gives a plain text field that clients send, and whose declaration sets
/// no longest length, [`DEFAULT_MAX_TEXT_CHARS`] (or its shortest length,
/// if that is more).
pub(crate) fn bound_text(field: &mut crate::ir::Field) {
    let kind = kind_of(&field.ts, field.storage, field.format);
    if kind == Kind::Text && field.is_input() && field.rules.max_length.is_none() {
        let least = field.rules.min_length.unwrap_or(0);
        field.rules.max_length = Some(DEFAULT_MAX_TEXT_CHARS.max(least));
    }
}

/// Checks a field's rules against its type; every mistake is reported at
/// the rule.
pub(crate) fn decide(
    args: &RuleArgs,
    field: &str,
    ts: &TsType,
    storage: StorageKind,
    format: Option<ValueFormat>,
    diags: &mut Diagnostics,
) -> Rules {
    let check = Check {
        field,
        kind: kind_of(ts, storage, format),
    };
    let mut rules = Rules::default();
    check.bounds(args, &mut rules, diags);
    check.lengths(args, &mut rules, diags);
    check.text_rules(args, &mut rules, diags);
    if let Some((values, location)) = &args.one_of {
        check.one_of(values, location, &mut rules, diags);
    }
    rules
}

/// The rules of one field, checked against what it holds.
struct Check<'a> {
    field: &'a str,
    kind: Kind,
}

impl Check<'_> {
    /// A bound of `rule` that fits the field's numbers.
    fn numeric(&self, rule: &str, bound: &Bound, diags: &mut Diagnostics) -> Option<f64> {
        let field = self.field;
        if !bound.value.is_finite() {
            // modules.toml's `inf` and `nan`; the attribute has no literal for them.
            diags.error(
                bound.location.clone(),
                format_args!("`{rule}` must be a finite number, found `{}`", bound.value),
            );
            return None;
        }
        match self.kind {
            Kind::Integer if bound.value.fract() != 0.0 => {
                diags.error(
                    bound.location.clone(),
                    format_args!("`{field}` holds whole numbers, so `{rule}` must be one"),
                );
                None
            }
            Kind::Integer | Kind::Number => Some(bound.value),
            _ => {
                diags.error(
                    bound.location.clone(),
                    format_args!("`{rule}` bounds a number, and `{field}` holds no number"),
                );
                None
            }
        }
    }

    /// Whether `rule`, which checks text, fits the field.
    fn text_rule(&self, rule: &str, location: &Location, diags: &mut Diagnostics) -> bool {
        if self.kind == Kind::Text {
            return true;
        }
        diags.error(
            location.clone(),
            format_args!(
                "`{rule}` checks text, and `{}` holds no plain text",
                self.field
            ),
        );
        false
    }

    /// `min` and `max`, the one not above the other.
    fn bounds(&self, args: &RuleArgs, rules: &mut Rules, diags: &mut Diagnostics) {
        rules.min = args
            .min
            .as_ref()
            .and_then(|b| self.numeric("min", b, diags));
        rules.max = args
            .max
            .as_ref()
            .and_then(|b| self.numeric("max", b, diags));
        if let (Some(min), Some(max), Some(at)) = (rules.min, rules.max, &args.max)
            && min > max
        {
            diags.error(
                at.location.clone(),
                format_args!("`max` ({max}) is below `min` ({min})"),
            );
        }
    }

    /// `length(min, max)` on text, the longest not below the shortest.
    fn lengths(&self, args: &RuleArgs, rules: &mut Rules, diags: &mut Diagnostics) {
        for (bound, slot) in [
            (&args.min_length, &mut rules.min_length),
            (&args.max_length, &mut rules.max_length),
        ] {
            if let Some(bound) = bound
                && self.text_rule("length", &bound.location, diags)
            {
                // Checked when read: whole, 0 or more, within u32.
                *slot = Some(bound.value as u32);
            }
        }
        if let (Some(min), Some(max), Some(at)) =
            (rules.min_length, rules.max_length, &args.max_length)
            && min > max
        {
            diags.error(
                at.location.clone(),
                format_args!("the longest length ({max}) is below the shortest ({min})"),
            );
        }
    }

    /// `pattern`, `email` and `url` on text; not both of the last two.
    fn text_rules(&self, args: &RuleArgs, rules: &mut Rules, diags: &mut Diagnostics) {
        if let Some(pattern) = &args.pattern
            && self.text_rule("pattern", &pattern.location, diags)
        {
            match pattern_problem(&pattern.value) {
                Some(problem) => diags.error(pattern.location.clone(), problem),
                None => rules.pattern = Some(pattern.value.clone()),
            }
        }
        if let Some(location) = &args.email {
            rules.email = self.text_rule("email", location, diags);
        }
        if let Some(location) = &args.url {
            rules.url = self.text_rule("url", location, diags);
        }
        if let (Some(_), Some(url)) = (&args.email, &args.url) {
            diags.error(
                url.clone(),
                "a text cannot be both an email address and a URL; keep one of `email` and `url`",
            );
        }
    }

    /// `one_of`, whose values must be what the field holds.
    fn one_of(
        &self,
        values: &[RuleValue],
        location: &Location,
        rules: &mut Rules,
        diags: &mut Diagnostics,
    ) {
        let kind = self.kind;
        let fits = |value: &RuleValue| match (value, kind) {
            (RuleValue::Text(_), Kind::Text) => true,
            (RuleValue::Number(n), Kind::Integer) => n.fract() == 0.0,
            (RuleValue::Number(_), Kind::Number) => true,
            _ => false,
        };
        if values.iter().all(fits) {
            rules.one_of = values.to_vec();
            return;
        }
        let expected = match kind {
            Kind::Text => "strings",
            Kind::Integer => "whole numbers",
            Kind::Number => "numbers",
            Kind::Other => "nothing: it holds neither plain text nor a number",
        };
        diags.error(
            location.clone(),
            format_args!("`one_of` of `{}` must list {expected}", self.field),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(value: f64, at: &Location) -> Option<Bound> {
        Some(Bound {
            value,
            location: at.clone(),
        })
    }

    /// The errors reported, in order.
    fn messages(diags: Diagnostics) -> Vec<String> {
        diags
            .finish(())
            .unwrap_err()
            .into_iter()
            .map(|d| d.message)
            .collect()
    }

    #[test]
    fn a_bound_of_infinity_or_nan_is_an_error() {
        let mut diags = Diagnostics::new();
        let at = Location::Manifest(0..1);
        let args = RuleArgs {
            min: bound(f64::NAN, &at),
            max: bound(f64::INFINITY, &at),
            ..RuleArgs::default()
        };
        let rules = decide(
            &args,
            "price",
            &TsType::Number,
            StorageKind::Float,
            None,
            &mut diags,
        );
        let messages = messages(diags);
        assert_eq!(
            messages,
            [
                "`min` must be a finite number, found `NaN`",
                "`max` must be a finite number, found `inf`",
            ]
        );
        assert!(rules.is_empty());
    }

    #[test]
    fn a_bound_is_a_finite_number_literal() {
        let number = |text: &str| number_of(&syn::parse_str(text).unwrap());
        assert_eq!(number("3"), Some(3.0));
        assert_eq!(number("-2.5"), Some(-2.5));
        assert_eq!(number("1.7976931348623157e308"), Some(f64::MAX));
        assert_eq!(number("1e999"), None);
        assert_eq!(number("-1e999"), None);
        assert_eq!(number("\"zero\""), None);
    }

    #[test]
    fn rules_fit_the_field_type() {
        let mut diags = Diagnostics::new();
        let at = Location::Manifest(0..1);
        let args = RuleArgs {
            min: bound(1.5, &at),
            max_length: bound(3.0, &at),
            ..RuleArgs::default()
        };
        let rules = decide(
            &args,
            "pieces",
            &TsType::Number,
            StorageKind::Integer,
            None,
            &mut diags,
        );
        let messages = messages(diags);
        assert_eq!(
            messages,
            [
                "`pieces` holds whole numbers, so `min` must be one",
                "`length` checks text, and `pieces` holds no plain text",
            ]
        );
        assert!(rules.is_empty());

        let mut diags = Diagnostics::new();
        let args = RuleArgs {
            min_length: bound(1.0, &at),
            max_length: bound(80.0, &at),
            email: Some(at.clone()),
            one_of: Some((vec![RuleValue::Text("a@b.c".into())], at.clone())),
            ..RuleArgs::default()
        };
        let nullable = TsType::Union(vec![TsType::String, TsType::Null]);
        let rules = decide(
            &args,
            "email",
            &nullable,
            StorageKind::Text,
            None,
            &mut diags,
        );
        assert!(diags.is_empty());
        assert_eq!(
            (rules.min_length, rules.max_length, rules.email),
            (Some(1), Some(80), true)
        );
    }
}
