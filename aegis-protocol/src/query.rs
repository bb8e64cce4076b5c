//! A list query's filters, decided once: the operators, which values each
//! takes, and how many values an `in` may list. The runtime parses and
//! runs filters by these; the generator describes them in the OpenAPI
//! document; the web runtime's operators follow the same table.

/// Values one `in` filter may list, at most.
pub const MAX_IN_VALUES: usize = 100;

/// Ids a many-to-many field (`#[crud(many = "tags")]`) may hold in one
/// row, at most: a write checks each.
pub const MAX_LINKS: usize = 100;

/// How a field's value is stored, as far as its filters go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueKind {
    Integer,
    Float,
    Boolean,
    /// Strings, and what serialises as one (dates, uuids, decimals).
    Text,
    /// Anything else, stored as its JSON text.
    Json,
    /// A list of another module's ids, linked many-to-many.
    Links,
    /// A file (`aegis::File`): a row has one or not, and that is all a
    /// filter asks of it.
    File,
}

/// What a filter `<field>.<operator>=<value>` compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FilterOp {
    /// `eq`: equal to the value.
    Eq,
    /// `in`: equal to one of comma-separated values.
    In,
    Gt,
    Gte,
    Lt,
    Lte,
    /// `contains`: text containing the value, whatever its case.
    Contains,
    /// `empty=true`: no value; `empty=false`: a value.
    Empty,
    /// `has`: a list of ids holding this one.
    Has,
    /// `has_any`: a list of ids holding one of comma-separated ones.
    HasAny,
}

impl FilterOp {
    /// Every operator, in the order documents list them.
    pub const ALL: [FilterOp; 10] = [
        FilterOp::Eq,
        FilterOp::In,
        FilterOp::Gt,
        FilterOp::Gte,
        FilterOp::Lt,
        FilterOp::Lte,
        FilterOp::Contains,
        FilterOp::Empty,
        FilterOp::Has,
        FilterOp::HasAny,
    ];

    /// The operator as a query string names it.
    pub fn as_str(self) -> &'static str {
        match self {
            FilterOp::Eq => "eq",
            FilterOp::In => "in",
            FilterOp::Gt => "gt",
            FilterOp::Gte => "gte",
            FilterOp::Lt => "lt",
            FilterOp::Lte => "lte",
            FilterOp::Contains => "contains",
            FilterOp::Empty => "empty",
            FilterOp::Has => "has",
            FilterOp::HasAny => "has_any",
        }
    }

    /// The operator named `name` in a query string.
    pub fn parse(name: &str) -> Option<FilterOp> {
        FilterOp::ALL.into_iter().find(|op| op.as_str() == name)
    }

    /// Whether a field stored as `kind` (`nullable` or not) takes it.
    pub fn applies_to(self, kind: ValueKind, nullable: bool) -> bool {
        if kind == ValueKind::Links {
            return matches!(self, FilterOp::Has | FilterOp::HasAny);
        }
        if kind == ValueKind::File {
            return self == FilterOp::Empty && nullable;
        }
        match self {
            FilterOp::Has | FilterOp::HasAny => false,
            FilterOp::Eq => true,
            FilterOp::In => kind != ValueKind::Boolean,
            FilterOp::Gt | FilterOp::Gte | FilterOp::Lt | FilterOp::Lte => {
                matches!(
                    kind,
                    ValueKind::Integer | ValueKind::Float | ValueKind::Text
                )
            }
            FilterOp::Contains => kind == ValueKind::Text,
            FilterOp::Empty => nullable,
        }
    }

    /// The operators a field stored as `kind` takes, in order.
    pub fn for_field(kind: ValueKind, nullable: bool) -> impl Iterator<Item = FilterOp> {
        FilterOp::ALL
            .into_iter()
            .filter(move |op| op.applies_to(kind, nullable))
    }

    /// What a row's value is when the filter keeps it, as documents say
    /// it ("Rows whose `amount` is at least").
    pub fn meaning(self) -> &'static str {
        match self {
            FilterOp::Eq => "equal to",
            FilterOp::In => "equal to one of, comma-separated",
            FilterOp::Gt => "greater than",
            FilterOp::Gte => "at least",
            FilterOp::Lt => "less than",
            FilterOp::Lte => "at most",
            FilterOp::Contains => "containing this text, ignoring case",
            FilterOp::Empty => "`true`: without a value; `false`: with one",
            FilterOp::Has => "holding this id",
            FilterOp::HasAny => "holding one of these ids, comma-separated",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_takes_its_operators() {
        let names = |kind, nullable| {
            FilterOp::for_field(kind, nullable)
                .map(FilterOp::as_str)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(ValueKind::Boolean, false), ["eq"]);
        assert_eq!(names(ValueKind::Boolean, true), ["eq", "empty"]);
        assert_eq!(
            names(ValueKind::Text, false),
            ["eq", "in", "gt", "gte", "lt", "lte", "contains"]
        );
        assert_eq!(
            names(ValueKind::Float, true),
            ["eq", "in", "gt", "gte", "lt", "lte", "empty"]
        );
        assert_eq!(names(ValueKind::Json, false), ["eq", "in"]);
        assert_eq!(names(ValueKind::File, true), ["empty"]);
        assert!(names(ValueKind::File, false).is_empty());
        assert_eq!(names(ValueKind::Links, false), ["has", "has_any"]);
        for op in FilterOp::ALL {
            assert_eq!(FilterOp::parse(op.as_str()), Some(op));
        }
        assert_eq!(FilterOp::parse("like"), None);
    }
}
