//! A list's view (the README's "Filters"): the query string of
//! `GET /api/<feature>`, also read by the export and the bulk delete, and
//! the SQL that selects and orders it.
//!
//! `?page=2&pageSize=20&sort=-amount&q=paris&amount.gte=100&status.in=draft,submitted`:
//! besides `page`, `pageSize`, `sort` and `q`, every parameter is a filter
//! `<field>.<operator>=<value>`, and a row is in the view when it passes
//! them all. Anything else is a 400 naming it.
//!
//! The order is the same on SQLite and PostgreSQL, so that a client can
//! place a row itself: text by code point (PostgreSQL's `COLLATE "C"`),
//! zoned times as times, `null` before any value, ties by id.

use serde_json::Value;

use crate::entity::{FieldKind, FieldMeta, ModuleMeta, ModuleSettings};
use crate::error::Error;
use crate::limits::Limits;
use crate::store::{Db, Dialect, SEARCH_COLUMN, searchable};

pub use aegis_protocol::query::FilterOp;
use aegis_protocol::query::MAX_IN_VALUES;

/// Whether `field` takes `op` (the protocol's table, by its kind).
fn takes(field: &FieldMeta, op: FilterOp) -> bool {
    op.applies_to(field.filter_kind(), field.nullable)
}

/// Where a many-to-many field's links are looked up: its link table, and
/// the column of the rows' ids they are matched against.
#[derive(Clone, Debug)]
pub struct LinkTable {
    pub table: String,
    pub id: &'static FieldMeta,
}

impl LinkTable {
    /// The link table of `field`, a many-to-many field of `meta`.
    pub fn of(meta: &ModuleMeta, field: &FieldMeta) -> LinkTable {
        LinkTable {
            table: format!("{}_{}", meta.module, field.name),
            id: meta.id_field(),
        }
    }
}

/// One `<field>.<operator>=<value>`.
#[derive(Clone, Debug)]
pub struct Filter {
    pub field: &'static FieldMeta,
    pub operator: FilterOp,
    /// The values, as the field's JSON (`Empty`: one boolean; `Contains`:
    /// the text as sent; `Has`, `HasAny`: the linked ids).
    pub values: Vec<Value>,
    /// A many-to-many field's links, which `Has` and `HasAny` look up.
    pub links: Option<LinkTable>,
}

/// A list's view: its filters, search and order, and the page.
#[derive(Clone, Debug, Default)]
pub struct View {
    pub page: Option<u32>,
    pub page_size: Option<u32>,
    /// The sort field and whether it is descending.
    pub sort: Option<(&'static FieldMeta, bool)>,
    /// The search text, trimmed, in Unicode lower case.
    pub search: Option<String>,
    pub filters: Vec<Filter>,
}

/// SQL and what to bind to its parameters, in order.
pub struct Selection {
    /// ` WHERE ...`, or empty.
    pub where_clause: String,
    /// `... ASC, ...`: never empty.
    pub order_by: String,
    pub binds: Vec<Bind>,
}

/// A value bound to a selection's parameter.
pub enum Bind {
    /// A value as `field`'s column stores it.
    Field(&'static FieldMeta, Value),
    Text(String),
    Integer(i64),
}

impl Selection {
    /// Binds the parameters to `query`.
    pub fn bind<'q>(
        &self,
        db: &Db,
        mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        for bind in &self.binds {
            query = match bind {
                Bind::Field(field, value) => db.bind(query, field, Some(value)),
                Bind::Text(text) => query.bind(text.clone()),
                Bind::Integer(n) => query.bind(*n),
            };
        }
        query
    }
}

/// Which parts of a view a route reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reads {
    /// A list: a page, in an order.
    Page,
    /// An export: every row of the view, in an order.
    Ordered,
    /// A bulk delete: which rows, nothing else.
    Rows,
}

impl View {
    /// Narrows the view to the rows `access` lets its user read.
    pub fn restrict(
        &mut self,
        meta: &ModuleMeta,
        access: Option<&crate::access::RowFilter>,
    ) -> Result<(), Error> {
        if let Some(access) = access {
            self.filters.push(Filter {
                field: access.field_of(meta)?,
                operator: FilterOp::In,
                values: access.values().to_vec(),
                links: None,
            });
        }
        Ok(())
    }

    /// The view a query string asks for, within `limits` (a search text,
    /// the number of filters, the texts to find together), or a 400
    /// naming what is wrong.
    pub fn parse(
        meta: &'static ModuleMeta,
        settings: &ModuleSettings,
        query: Option<&str>,
        reads: Reads,
        limits: &Limits,
    ) -> Result<View, Error> {
        let view = View::parse_unbounded(meta, settings, query, reads, limits.max_search_chars)?;
        view.check_cost(limits)?;
        Ok(view)
    }

    /// Refuses a view whose filters, or whose texts to find together, are
    /// more than `limits` allow: each filter is a condition on every row,
    /// and finding a text costs its length times the row's.
    fn check_cost(&self, limits: &Limits) -> Result<(), Error> {
        if self.filters.len() > limits.max_filters {
            return Err(Error::BadRequest(format!(
                "a view takes at most {} filters; this one has {}",
                limits.max_filters,
                self.filters.len()
            )));
        }
        let patterns: usize = self
            .filters
            .iter()
            .filter(|f| f.operator == FilterOp::Contains)
            .filter_map(|f| f.values[0].as_str())
            .chain(self.search.as_deref())
            .map(|text| text.chars().count())
            .sum();
        if patterns > limits.max_pattern_chars {
            return Err(Error::BadRequest(format!(
                "the texts to find (`q` and every `contains`) may have {} characters together; \
                 these have {patterns}",
                limits.max_pattern_chars
            )));
        }
        Ok(())
    }

    fn parse_unbounded(
        meta: &'static ModuleMeta,
        settings: &ModuleSettings,
        query: Option<&str>,
        reads: Reads,
        max_search: usize,
    ) -> Result<View, Error> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
            .map_err(|e| Error::BadRequest(format!("cannot read the query string: {e}")))?;
        let mut view = View::default();
        let mut seen = std::collections::HashSet::new();
        for (key, value) in pairs {
            let plain = !key.contains('.');
            if plain && !seen.insert(key.clone()) {
                return Err(Error::BadRequest(format!("`{key}` is given twice")));
            }
            match key.as_str() {
                "page" | "pageSize" if reads == Reads::Page => {
                    let number = value.parse::<u32>().map_err(|_| {
                        Error::BadRequest(format!(
                            "`{key}` must be a whole number, found `{value}`"
                        ))
                    })?;
                    if key == "page" {
                        view.page = Some(number);
                    } else {
                        view.page_size = Some(number);
                    }
                }
                "sort" if reads != Reads::Rows => {
                    view.sort = parse_sort(meta, settings, &value)?;
                }
                "q" => view.search = parse_search(&value, max_search)?,
                _ if plain => {
                    let mut known = vec!["q"];
                    if reads != Reads::Rows {
                        known.insert(0, "sort");
                    }
                    if reads == Reads::Page {
                        known.splice(0..0, ["page", "pageSize"]);
                    }
                    return Err(Error::BadRequest(format!(
                        "unknown parameter `{key}`; this takes {} and filters `<field>.<operator>`",
                        known
                            .iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                _ => view
                    .filters
                    .push(parse_filter(meta, settings, &key, &value)?),
            }
        }
        Ok(view)
    }

    /// The SQL of the view on `db`; its parameters are numbered from 1.
    pub fn selection(&self, db: &Db, meta: &ModuleMeta) -> Selection {
        let mut conditions = Vec::new();
        let mut binds = Vec::new();
        if let Some(search) = &self.search {
            if searchable(meta).next().is_some() {
                binds.push(Bind::Text(like_pattern(search)));
                conditions.push(format!(
                    "{} LIKE {} ESCAPE '\\'",
                    db.ident(SEARCH_COLUMN),
                    db.param(binds.len())
                ));
            } else {
                conditions.push("1 = 0".to_owned());
            }
        }
        for filter in &self.filters {
            conditions.push(condition(db, filter, &mut binds));
        }
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let id = meta.id_field();
        let id_order = format!("{} ASC", ordered(db, id));
        let order_by = match self.sort {
            None => id_order,
            // `null` first ascending, last descending, on both databases.
            Some((field, descending)) => format!(
                "{} {}, {id_order}",
                ordered(db, field),
                if descending {
                    "DESC NULLS LAST"
                } else {
                    "ASC NULLS FIRST"
                }
            ),
        };
        Selection {
            where_clause,
            order_by,
            binds,
        }
    }
}

/// A field the view may name: sent to clients, and not a JSON value
/// unless the settings list it as sortable (an enum: JSON to the runtime,
/// a string to aegis-build), or it is a list of links or a file (filtered
/// by what `FieldMeta::filter_kind` lets them take).
fn viewable(
    meta: &ModuleMeta,
    settings: &ModuleSettings,
    name: &str,
) -> Option<&'static FieldMeta> {
    let listed = |f: &FieldMeta| settings.sortable.is_some_and(|l| l.contains(&f.wire_name));
    meta.fields.iter().find(|f| {
        f.wire_name == name
            && !f.hidden
            && (f.kind != FieldKind::Json || f.many.is_some() || f.file.is_some() || listed(f))
    })
}

fn names(fields: impl Iterator<Item = &'static FieldMeta>) -> String {
    fields
        .map(|f| format!("`{}`", f.wire_name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_sort(
    meta: &'static ModuleMeta,
    settings: &ModuleSettings,
    sort: &str,
) -> Result<Option<(&'static FieldMeta, bool)>, Error> {
    if sort.is_empty() {
        return Ok(None);
    }
    let (name, descending) = match sort.strip_prefix('-') {
        Some(name) => (name, true),
        None => (sort, false),
    };
    let sorts = |field: &FieldMeta| match settings.sortable {
        Some(listed) => listed.contains(&field.wire_name),
        None => field.many.is_none() && field.file.is_none(),
    };
    match viewable(meta, settings, name).filter(|f| sorts(f)) {
        Some(field) => Ok(Some((field, descending))),
        None => Err(Error::BadRequest(format!(
            "cannot sort {} by `{name}`; it sorts by {}",
            meta.feature,
            names(
                meta.fields
                    .iter()
                    .filter(|f| viewable(meta, settings, f.wire_name).is_some() && sorts(f))
            )
        ))),
    }
}

fn parse_search(q: &str, max_search: usize) -> Result<Option<String>, Error> {
    // Line breaks separate the fields in the search column: not text to find.
    let q = q.replace(char::is_control, " ");
    let q = q.trim();
    if q.chars().count() > max_search {
        return Err(Error::BadRequest(format!(
            "the search text is longer than {max_search} characters"
        )));
    }
    Ok((!q.is_empty()).then(|| q.to_lowercase()))
}

fn parse_filter(
    meta: &'static ModuleMeta,
    settings: &ModuleSettings,
    key: &str,
    raw: &str,
) -> Result<Filter, Error> {
    let (name, op) = key.rsplit_once('.').unwrap_or((key, ""));
    let field = viewable(meta, settings, name).ok_or_else(|| {
        Error::BadRequest(format!(
            "cannot filter {} by `{name}`; it filters by {}",
            meta.feature,
            names(
                meta.fields
                    .iter()
                    .filter(|f| viewable(meta, settings, f.wire_name).is_some())
            )
        ))
    })?;
    let taken = || {
        FilterOp::for_field(field.filter_kind(), field.nullable)
            .map(|o| format!("`{}`", o.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let operator = FilterOp::parse(op).ok_or_else(|| {
        Error::BadRequest(format!(
            "unknown filter operator `{op}` in `{key}`; `{name}` takes {}",
            taken()
        ))
    })?;
    if !takes(field, operator) {
        return Err(Error::BadRequest(format!(
            "`{name}` does not take `{op}`; it takes {}",
            taken()
        )));
    }
    let values = match operator {
        FilterOp::Empty => match raw {
            "true" => vec![Value::Bool(true)],
            "false" => vec![Value::Bool(false)],
            _ => {
                return Err(Error::BadRequest(format!(
                    "`{key}` must be `true` or `false`, found `{raw}`"
                )));
            }
        },
        FilterOp::Contains => {
            if raw.is_empty() {
                return Err(Error::BadRequest(format!("`{key}` needs text to find")));
            }
            vec![Value::String(raw.to_owned())]
        }
        FilterOp::In | FilterOp::HasAny => {
            // `name.in=` lists one value, the empty text.
            let items: Vec<&str> = raw.split(',').collect();
            if items.len() > MAX_IN_VALUES {
                return Err(Error::BadRequest(format!(
                    "`{key}` takes 1 to {MAX_IN_VALUES} comma-separated values"
                )));
            }
            items
                .into_iter()
                .map(|item| filter_value(field, key, item))
                .collect::<Result<_, _>>()?
        }
        _ => vec![filter_value(field, key, raw)?],
    };
    Ok(Filter {
        field,
        operator,
        values,
        links: field.many.map(|_| LinkTable::of(meta, field)),
    })
}

/// A filter's value as `field`'s JSON, or a 400.
fn filter_value(field: &FieldMeta, key: &str, raw: &str) -> Result<Value, Error> {
    let bad = |what: &str| Error::BadRequest(format!("`{key}` must be {what}, found `{raw}`"));
    // A list of links is filtered by the ids it holds.
    let kind = field.many.map_or(field.kind, |many| many.ids);
    Ok(match kind {
        FieldKind::Integer => Value::from(raw.parse::<i64>().map_err(|_| bad("a whole number"))?),
        FieldKind::Float => raw
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| bad("a number"))?,
        FieldKind::Boolean => match raw {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(bad("`true` or `false`")),
        },
        FieldKind::Text if field.instant && field.many.is_none() => {
            chrono::DateTime::parse_from_rfc3339(raw)
                .map_err(|_| bad("a date and time with a zone (RFC 3339)"))?;
            Value::String(raw.to_owned())
        }
        FieldKind::Text | FieldKind::Json => Value::String(raw.to_owned()),
    })
}

/// What a field is compared and ordered by: the column; text by code
/// point; a zoned time as the time it stands for.
fn ordered(db: &Db, field: &FieldMeta) -> String {
    let column = db.ident(field.name);
    match (field.kind, field.instant, db.dialect()) {
        (FieldKind::Text, true, Dialect::Sqlite) => format!("julianday({column})"),
        (FieldKind::Text, true, Dialect::Postgres) => format!("CAST({column} AS TIMESTAMPTZ)"),
        (FieldKind::Text | FieldKind::Json, false, Dialect::Postgres) => {
            format!("{column} COLLATE \"C\"")
        }
        _ => column,
    }
}

/// A bound value compared as `ordered` compares its field.
fn ordered_param(db: &Db, field: &FieldMeta, param: String) -> String {
    match (field.kind, field.instant, db.dialect()) {
        (FieldKind::Text, true, Dialect::Sqlite) => format!("julianday({param})"),
        (FieldKind::Text, true, Dialect::Postgres) => format!("CAST({param} AS TIMESTAMPTZ)"),
        _ => param,
    }
}

fn condition(db: &Db, filter: &Filter, binds: &mut Vec<Bind>) -> String {
    let field = filter.field;
    let column = ordered(db, field);
    let param = |value: &Value, binds: &mut Vec<Bind>| {
        binds.push(Bind::Field(field, value.clone()));
        ordered_param(db, field, db.param(binds.len()))
    };
    let compare = |symbol: &str, binds: &mut Vec<Bind>| {
        let value = param(&filter.values[0], binds);
        format!("{column} {symbol} {value}")
    };
    match filter.operator {
        FilterOp::Eq => compare("=", binds),
        FilterOp::Gt => compare(">", binds),
        FilterOp::Gte => compare(">=", binds),
        FilterOp::Lt => compare("<", binds),
        FilterOp::Lte => compare("<=", binds),
        FilterOp::In if filter.values.is_empty() => "1 = 0".to_owned(),
        FilterOp::In => {
            let params: Vec<String> = filter.values.iter().map(|v| param(v, binds)).collect();
            format!("{column} IN ({})", params.join(", "))
        }
        FilterOp::Contains => {
            let text = filter.values[0].as_str().unwrap_or_default();
            binds.push(Bind::Text(like_pattern(text)));
            let column = db.ident(field.name);
            let param = db.param(binds.len());
            // SQLite's LIKE ignores the case of ASCII letters; PostgreSQL's
            // ILIKE, of every letter.
            match db.dialect() {
                Dialect::Sqlite => format!("{column} LIKE {param} ESCAPE '\\'"),
                Dialect::Postgres => format!("{column} ILIKE {param} ESCAPE '\\'"),
            }
        }
        FilterOp::Empty => {
            let is_null = filter.values[0] == Value::Bool(true);
            let column = db.ident(field.name);
            format!("{column} IS {}NULL", if is_null { "" } else { "NOT " })
        }
        FilterOp::Has | FilterOp::HasAny => linked(db, filter, binds),
    }
}

/// `Has` and `HasAny`: the rows whose links hold one of the values, looked
/// up in the link table (indexed by the linked id).
fn linked(db: &Db, filter: &Filter, binds: &mut Vec<Bind>) -> String {
    let Some(links) = &filter.links else {
        return "1 = 0".to_owned();
    };
    let params: Vec<String> = filter
        .values
        .iter()
        .map(|value| {
            binds.push(match value {
                Value::Number(n) => Bind::Integer(n.as_i64().unwrap_or_default()),
                other => Bind::Text(other.as_str().unwrap_or_default().to_owned()),
            });
            db.param(binds.len())
        })
        .collect();
    format!(
        "{} IN (SELECT {} FROM {} WHERE {} IN ({}))",
        db.ident(links.id.name),
        db.ident(LINK_ROW),
        db.ident(&links.table),
        db.ident(LINK_TARGET),
        params.join(", ")
    )
}

/// A link table's column of the linking row's id.
pub(crate) const LINK_ROW: &str = "row_id";
/// A link table's column of the linked row's id.
pub(crate) const LINK_TARGET: &str = "target_id";

/// `text` itself as a LIKE pattern that finds it anywhere: `%`, `_` and
/// the escape are escaped.
fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}
