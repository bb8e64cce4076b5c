//! One field as the templates see it: how it is edited and shown, and
//! the facts the form dialog's partials turn into code.

use aegis_model::decl::TsDeclBody;
use aegis_model::ts::escape_single_quoted;
use aegis_model::{Field, FieldRole, StorageKind, TsType, ValueFormat};
use serde::Serialize;

use crate::collect::Unit;

#[derive(Serialize, Debug, Clone)]
pub(crate) struct FieldContext {
    /// The JSON key and TypeScript property.
    pub name: String,
    /// `name` escaped for a single-quoted TypeScript string.
    pub name_literal: String,
    /// Escaped for HTML inside an Angular template in a template literal.
    pub label_html: String,
    /// The TypeScript type, as in the entity interface.
    pub ts_type: String,
    /// The TypeScript type without `null`.
    pub base_type: String,
    /// `?` when serde may leave the key out of what the server sends.
    pub optional_mark: &'static str,
    /// `?` when the client may leave the key out.
    pub input_optional_mark: &'static str,
    /// `null` is a value of it.
    pub nullable: bool,
    /// The form requires a value (not nullable, not a checkbox).
    pub required: bool,
    pub readonly: bool,
    /// The list can sort by it.
    pub sortable: bool,
    /// The form control cannot hold `null`.
    pub non_nullable: bool,
    /// Exactly one of the widget flags is set: how the form edits it and
    /// the list shows it (text when no `is_*` below is).
    #[serde(skip)]
    pub is_text: bool,
    pub is_number: bool,
    /// A number stored as an integer (also `is_number`).
    pub is_integer: bool,
    pub is_checkbox: bool,
    pub is_select: bool,
    /// Holds another module's id: a type-ahead in the form, its label in the list.
    pub is_reference: bool,
    /// Lists other rows' ids (many-to-many): chips with a type-ahead in the
    /// form, chips of their labels in the list.
    pub is_links: bool,
    pub is_date: bool,
    pub is_datetime: bool,
    /// A date and time without a zone.
    pub is_local_datetime: bool,
    pub is_time: bool,
    /// A file (`aegis::File`): the file input, and a link in the list.
    pub is_file: bool,
    /// A file field's accepted types, as a TypeScript array literal, and
    /// its largest size in bytes.
    pub file_accept: String,
    pub file_max_bytes: u64,
    pub is_json: bool,
    /// A JSON value the client may leave out (serde `default`): an empty
    /// text area sends nothing, and the server fills the default.
    pub omittable: bool,
    /// The select's options, for literal unions.
    pub options: Vec<String>,
    /// It has validation rules (`#[crud(min, length, email, ...)]`).
    pub has_rules: bool,
    /// The form control's `validators` property, laid out as Prettier would:
    /// required, whole numbers, JSON and its rules (the runtime's
    /// `FieldRules` as an object literal, `{ minLength: 1, email: true }`).
    pub validators_decl: String,
    /// How the list filters, searches and orders it, as the runtime's
    /// `ViewField` object in JSON (`{"label":"Name","kind":"text",...}`);
    /// empty for a JSON value, which it does not.
    pub view_literal: String,
    /// The form-values helpers the form dialog's partials call for it.
    #[serde(skip)]
    pub helpers: Vec<&'static str>,
}

/// How a field is edited and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Widget {
    Text,
    Number,
    Checkbox,
    Select,
    Reference,
    Links,
    Date,
    Datetime,
    LocalDatetime,
    Time,
    /// A file: uploaded in the form, a link (and a thumbnail) in the list.
    File,
    Json,
}

/// Whether a module sorts by a field: see [`super::sortable_fields`].
pub(crate) fn sorts(field: &Field, unit: &Unit) -> bool {
    field.is_sent()
        && field.sortable
        && field.role != FieldRole::Version
        && !matches!(
            widget_for(field, unit).0,
            Widget::Json | Widget::Links | Widget::File
        )
}

/// The widget that edits a field, from its Rust type and TypeScript type.
fn widget_for(field: &Field, unit: &Unit) -> (Widget, Vec<String>) {
    if field.many.is_some() {
        return (Widget::Links, Vec::new());
    }
    if field.is_file() {
        return (Widget::File, Vec::new());
    }
    if unit.references.contains_key(&field.wire_name) {
        return (Widget::Reference, Vec::new());
    }
    if matches!(field.ts, TsType::Raw(_)) {
        return (Widget::Json, Vec::new());
    }
    match field.format {
        Some(ValueFormat::Instant) => return (Widget::Datetime, Vec::new()),
        Some(ValueFormat::LocalDateTime) => return (Widget::LocalDatetime, Vec::new()),
        Some(ValueFormat::Date) => return (Widget::Date, Vec::new()),
        Some(ValueFormat::Time) => return (Widget::Time, Vec::new()),
        _ => {}
    }
    let base = match &field.ts {
        TsType::Union(members) => members
            .iter()
            .find(|m| **m != TsType::Null)
            .cloned()
            .unwrap_or(TsType::Null),
        other => other.clone(),
    };
    match base {
        TsType::Number => (Widget::Number, Vec::new()),
        TsType::Boolean => (Widget::Checkbox, Vec::new()),
        TsType::String => (Widget::Text, Vec::new()),
        TsType::Named(name) => match unit.decls.get(&name).map(|d| &d.body) {
            Some(TsDeclBody::Alias(TsType::Union(members)))
                if members.iter().all(|m| matches!(m, TsType::Literal(_))) =>
            {
                let options = members
                    .iter()
                    .map(|m| match m {
                        TsType::Literal(text) => text.clone(),
                        _ => unreachable!("checked above"),
                    })
                    .collect();
                (Widget::Select, options)
            }
            Some(TsDeclBody::Alias(TsType::Literal(text))) => (Widget::Select, vec![text.clone()]),
            _ => (Widget::Json, Vec::new()),
        },
        _ => (Widget::Json, Vec::new()),
    }
}

/// The form-values helpers that `form.dialog.ts.hbs`'s partials call for a
/// field (`to-control`, `from-control`, `validators`), so the dialog
/// imports exactly those. The fixtures' type check (with unused locals an
/// error) proves the two agree.
fn form_helpers_of(
    widget: Widget,
    nullable: bool,
    integer: bool,
    omittable: bool,
) -> Vec<&'static str> {
    match widget {
        Widget::Json if omittable => vec!["toJsonInput", "fromJsonInputOrOmitted", "jsonValidator"],
        Widget::Text | Widget::Date if nullable => vec!["emptyToNull"],
        Widget::Text | Widget::Date | Widget::Checkbox | Widget::Links => Vec::new(),
        Widget::Time if nullable => vec!["toTimeInput", "fromTimeInputOrNull"],
        Widget::Time => vec!["toTimeInput", "fromTimeInput"],
        Widget::Datetime if nullable => vec!["toDateTimeInput", "fromDateTimeInputOrNull"],
        Widget::Datetime => vec!["toDateTimeInput", "fromDateTimeInput"],
        Widget::LocalDatetime if nullable => {
            vec!["toLocalDateTimeInput", "fromLocalDateTimeInputOrNull"]
        }
        Widget::LocalDatetime => vec!["toLocalDateTimeInput", "fromLocalDateTimeInput"],
        Widget::Number | Widget::Select | Widget::Reference | Widget::File => {
            let mut helpers = Vec::new();
            if !nullable {
                helpers.push("requireValue");
            }
            if integer {
                helpers.push("integerValidator");
            }
            helpers
        }
        Widget::Json => vec!["toJsonInput", "fromJsonInput", "jsonValidator"],
    }
}

pub(super) fn field_context(field: &Field, unit: &Unit) -> FieldContext {
    let (widget, options) = widget_for(field, unit);
    let ts_type = field.ts.to_string();
    let name = field.wire_name.clone();
    let nullable = field.nullable || field.ts.any(&|t| *t == TsType::Null);
    let omittable = widget == Widget::Json && field.input_optional;
    let required = !nullable && !matches!(widget, Widget::Checkbox | Widget::Links) && !omittable;
    let base_type = match &field.ts {
        TsType::Union(members) => TsType::Union(
            members
                .iter()
                .filter(|m| **m != TsType::Null)
                .cloned()
                .collect(),
        )
        .to_string(),
        other => other.to_string(),
    };
    let is_integer = widget == Widget::Number && field.storage == StorageKind::Integer;
    FieldContext {
        view_literal: view_literal(field, widget, nullable, &options),
        name_literal: escape_single_quoted(&name),
        label_html: escape_html(&field.label),
        non_nullable: !matches!(
            widget,
            Widget::Number | Widget::Select | Widget::Reference | Widget::File
        ),
        ts_type,
        base_type,
        optional_mark: if field.may_be_omitted { "?" } else { "" },
        input_optional_mark: if field.input_optional { "?" } else { "" },
        nullable,
        required,
        readonly: field.readonly,
        sortable: sorts(field, unit),
        is_text: widget == Widget::Text,
        is_number: widget == Widget::Number,
        is_integer,
        is_checkbox: widget == Widget::Checkbox,
        is_select: widget == Widget::Select,
        is_reference: widget == Widget::Reference,
        is_links: widget == Widget::Links,
        is_date: widget == Widget::Date,
        is_datetime: widget == Widget::Datetime,
        is_local_datetime: widget == Widget::LocalDatetime,
        is_time: widget == Widget::Time,
        is_file: widget == Widget::File,
        file_accept: field.file.as_ref().map_or_else(String::new, |spec| {
            let types: Vec<String> = spec
                .types
                .iter()
                .map(|t| crate::layout::quoted(t))
                .collect();
            format!("[{}]", types.join(", "))
        }),
        file_max_bytes: field.file.as_ref().map_or(0, |spec| spec.max_bytes),
        is_json: widget == Widget::Json,
        omittable: widget == Widget::Json && field.input_optional,
        options,
        has_rules: !field.rules.is_empty(),
        validators_decl: validators_decl(
            required,
            is_integer,
            widget == Widget::Json,
            &if field.rules.is_empty() {
                String::new()
            } else {
                rules_literal(&field.rules)
            },
            nullable,
        ),

        helpers: form_helpers_of(widget, nullable, is_integer, omittable),
        name,
    }
}

/// Text safe inside an Angular template that is itself inside a
/// TypeScript template literal: HTML-escaped, with `{`, `}`, `` ` `` and
/// `$` written as character references.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '{' => out.push_str("&#123;"),
            '}' => out.push_str("&#125;"),
            '`' => out.push_str("&#96;"),
            '$' => out.push_str("&#36;"),
            '\\' => out.push_str("&#92;"),
            _ => out.push(ch),
        }
    }
    out
}

/// The runtime's `ViewField` (`list-view.ts`) of a field: its kind follows
/// how the runtime stores and orders it (an enum is JSON text, a zoned
/// date-time a time); `search` where the server's `q` looks (text columns).
fn view_literal(field: &Field, widget: Widget, nullable: bool, options: &[String]) -> String {
    let kind = match widget {
        Widget::Json => return String::new(),
        Widget::Text => "text",
        Widget::Number => "number",
        Widget::Checkbox => "boolean",
        Widget::Select => "enum",
        Widget::Reference => "reference",
        Widget::Links => "links",
        Widget::File => "file",
        Widget::Date => "date",
        Widget::Datetime => "instant",
        Widget::LocalDatetime => "local-datetime",
        Widget::Time => "time",
    };
    let quote = |text: &str| crate::layout::quoted(text);
    let ops: Vec<String> = super::filter_ops(field)
        .map(|op| quote(op.as_str()))
        .collect();
    let mut lines = vec![
        format!("label: {},", quote(&field.label)),
        format!("kind: {},", quote(kind)),
        format!("nullable: {nullable},"),
        format!("search: {},", field.storage == StorageKind::Text),
        crate::layout::list(4, "ops: ", ("[", "]"), &ops, false, ","),
    ];
    if widget == Widget::Select {
        let options: Vec<String> = options.iter().map(|o| quote(o)).collect();
        lines.push(crate::layout::list(
            4,
            "options: ",
            ("[", "]"),
            &options,
            false,
            ",",
        ));
    }
    // Written expanded, which Prettier keeps for an object literal.
    let body: String = lines.iter().map(|line| format!("    {line}\n")).collect();
    format!("{{\n{body}  }}")
}

/// A number as TypeScript writes it: whole numbers without a fraction.
fn number_literal(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// Rules as the runtime's `FieldRules` (`rules.ts`), keys in its order: a
/// TypeScript object literal on one line.
fn rules_literal(rules: &aegis_model::Rules) -> String {
    let quote = |text: &str| crate::layout::quoted(text);
    let mut entries = Vec::new();
    if let Some(min) = rules.min {
        entries.push(format!("min: {}", number_literal(min)));
    }
    if let Some(max) = rules.max {
        entries.push(format!("max: {}", number_literal(max)));
    }
    if let Some(n) = rules.min_length {
        entries.push(format!("minLength: {n}"));
    }
    if let Some(n) = rules.max_length {
        entries.push(format!("maxLength: {n}"));
    }
    if let Some(pattern) = &rules.pattern {
        entries.push(format!("pattern: {}", quote(pattern)));
    }
    if rules.email {
        entries.push("email: true".to_owned());
    }
    if rules.url {
        entries.push("url: true".to_owned());
    }
    if !rules.one_of.is_empty() {
        let values: Vec<String> = rules
            .one_of
            .iter()
            .map(|v| match v {
                aegis_model::RuleValue::Text(t) => quote(t),
                aegis_model::RuleValue::Number(n) => number_literal(*n),
            })
            .collect();
        entries.push(format!("oneOf: [{}]", values.join(", ")));
    }
    format!("{{ {} }}", entries.join(", "))
}

/// The form control's `validators: [...]` property, laid out at six spaces.
fn validators_decl(
    required: bool,
    is_integer: bool,
    is_json: bool,
    rules: &str,
    nullable: bool,
) -> String {
    let mut items = Vec::new();
    if required {
        items.push("Validators.required".to_owned());
    }
    if is_integer {
        items.push("integerValidator".to_owned());
    }
    if is_json {
        items.push("jsonValidator".to_owned());
    }
    if !rules.is_empty() {
        let options = if nullable { ", { nullable: true }" } else { "" };
        items.push(format!("rulesValidator({rules}{options})"));
    }
    crate::layout::list(6, "validators: ", ("[", "]"), &items, false, ",")
}
