//! Reading the CSV: which field each column fills, each cell as its
//! field's value, each row as a create input or its error, on a blocking
//! thread a slice at a time.

use serde_json::{Map, Value};

use super::{CELL_EXCERPT, ROW_ERROR_CHARS, columns, excerpt};
use crate::entity::{CrudEntity, FieldKind, FieldMeta};
use crate::error::{Error, deserialize_value};
use crate::protocol::ImportRowError;

/// Where each CSV column goes.
pub(super) struct Plan {
    /// Per CSV column, the field it fills.
    pub(super) fields: Vec<&'static FieldMeta>,
}

pub(super) fn plan<T: CrudEntity>(headers: &csv::StringRecord) -> Result<Plan, Error> {
    let meta = T::meta();
    let known: Vec<&'static FieldMeta> = columns(meta.fields).collect();
    let mut fields = Vec::new();
    for name in headers {
        let name = name.trim();
        let field = known.iter().find(|f| f.wire_name == name).ok_or_else(|| {
            Error::BadRequest(format!(
                "unknown column `{name}` for {}; expected some of {}",
                meta.feature,
                known
                    .iter()
                    .map(|f| format!("`{}`", f.wire_name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        if fields.iter().any(|f: &&FieldMeta| f.wire_name == name) {
            return Err(Error::BadRequest(format!("column `{name}` appears twice")));
        }
        fields.push(*field);
    }
    Ok(Plan { fields })
}

/// One CSV cell as the JSON value of its field; a text cell that an
/// export wrote behind a `'` (a formula, [`crate::formulas`]) without it.
pub(super) fn cell_value(field: &FieldMeta, text: &str) -> Result<Option<Value>, String> {
    if let Some(many) = field.many {
        return linked_ids(many.ids, text).map(Some);
    }
    if text.is_empty() && field.kind != FieldKind::Text {
        return Ok(field.nullable.then_some(Value::Null));
    }
    if text.is_empty() && field.nullable {
        return Ok(Some(Value::Null));
    }
    let value = match field.kind {
        FieldKind::Integer => Value::from(
            text.trim()
                .parse::<i64>()
                .map_err(|_| format!("`{}` is not a whole number", excerpt(text, CELL_EXCERPT)))?,
        ),
        FieldKind::Float => {
            let number: f64 = text
                .trim()
                .parse()
                .map_err(|_| format!("`{}` is not a number", excerpt(text, CELL_EXCERPT)))?;
            serde_json::Number::from_f64(number)
                .map(Value::Number)
                .ok_or_else(|| {
                    format!("`{}` is not a finite number", excerpt(text, CELL_EXCERPT))
                })?
        }
        FieldKind::Boolean => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Value::Bool(true),
            "false" | "no" | "0" => Value::Bool(false),
            _ => {
                return Err(format!(
                    "`{}` is not true or false",
                    excerpt(text, CELL_EXCERPT)
                ));
            }
        },
        FieldKind::Text => Value::String(crate::formulas::restore(text).to_owned()),
        // JSON text, or else the cell as a string (an enum's variant, say):
        // the field's type has the last word.
        FieldKind::Json => {
            let text = crate::formulas::restore(text);
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
        }
    };
    Ok(Some(value))
}

/// A many-to-many field's cell: the linked ids, `;`-separated (none when
/// it is empty).
fn linked_ids(kind: FieldKind, text: &str) -> Result<Value, String> {
    let text = crate::formulas::restore(text);
    if text.trim().is_empty() {
        return Ok(Value::Array(Vec::new()));
    }
    text.split(';')
        .map(|id| {
            let id = id.trim();
            match kind {
                FieldKind::Integer => id
                    .parse::<i64>()
                    .map(Value::from)
                    .map_err(|_| format!("`{}` is not a whole number", excerpt(id, CELL_EXCERPT))),
                _ => Ok(Value::String(id.to_owned())),
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

/// A row as the entity's create input, or the row's error.
pub(super) fn parse_row<T: CrudEntity>(
    plan: &Plan,
    record: &csv::StringRecord,
    row: u64,
) -> Result<T::Create, ImportRowError> {
    let mut object = Map::new();
    for (field, text) in plan.fields.iter().zip(record.iter()) {
        match cell_value(field, text) {
            Ok(Some(value)) => {
                object.insert(field.wire_name.to_owned(), value);
            }
            Ok(None) => {}
            Err(message) => {
                return Err(ImportRowError {
                    row,
                    field: Some(field.wire_name.to_owned()),
                    message: excerpt(&message, ROW_ERROR_CHARS),
                });
            }
        }
    }
    let input =
        deserialize_value::<T::Create>(Value::Object(object)).map_err(|(field, message)| {
            // serde quotes what it could not read, at any length.
            ImportRowError {
                row,
                field: (!field.is_empty()).then(|| excerpt(&field, CELL_EXCERPT)),
                message: excerpt(&message, ROW_ERROR_CHARS),
            }
        })?;
    // The row's first field that breaks its rules; a rule's message quotes
    // no cell.
    match crate::rules::field_errors::<T>(&input).into_iter().next() {
        Some(error) => Err(ImportRowError {
            row,
            field: Some(error.field),
            message: error.message,
        }),
        None => Ok(input),
    }
}

/// Refuses, before a job starts, a file that could import nothing: no
/// rows, or no column that every row needs. `reader` is past the header.
pub(super) fn check_file<T: CrudEntity, R: std::io::Read>(
    reader: &mut csv::Reader<R>,
    plan: &Plan,
) -> Result<(), Error> {
    let meta = T::meta();
    let missing: Vec<String> = columns(meta.fields)
        .filter(|f| f.required_input && !plan.fields.iter().any(|p| p.name == f.name))
        .map(|f| format!("`{}`", f.wire_name))
        .collect();
    if !missing.is_empty() {
        return Err(Error::BadRequest(format!(
            "the file has no column {}, which every {} needs",
            missing.join(", "),
            meta.entity
        )));
    }
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(false) => Err(Error::BadRequest(
            "the file has a header but no rows".to_owned(),
        )),
        _ => Ok(()),
    }
}

/// What the parsing thread hands the job.
pub(super) enum Parsed<C> {
    /// The number of rows, first.
    Total(u64),
    /// The next rows, each an input or its error.
    Slice(Vec<Result<(u64, C), ImportRowError>>),
}

/// Counts, then parses, the rows of the file on a blocking thread, a slice
/// at a time; stops when the job stops listening.
pub(super) fn parse_rows<T: CrudEntity>(
    plan: Plan,
    mut file: std::fs::File,
    slice: usize,
    out: tokio::sync::mpsc::Sender<Parsed<T::Create>>,
) -> Result<(), Error> {
    let total = csv::ReaderBuilder::new()
        .from_reader(std::io::BufReader::new(&file))
        .records()
        .count() as u64;
    if out.blocking_send(Parsed::Total(total)).is_err() {
        return Ok(());
    }
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(0))
        .map_err(|e| Error::Internal(format!("cannot read the upload back: {e}")))?;
    let mut reader = csv::ReaderBuilder::new().from_reader(std::io::BufReader::new(file));
    let mut record = csv::StringRecord::new();
    let mut row = 0;
    let mut rows = Vec::with_capacity(slice);
    loop {
        let more = match reader.read_record(&mut record) {
            Ok(false) => false,
            Ok(true) => {
                row += 1;
                rows.push(parse_row::<T>(&plan, &record, row).map(|input| (row, input)));
                true
            }
            Err(error) => {
                row += 1;
                rows.push(Err(ImportRowError {
                    row,
                    field: None,
                    message: excerpt(&format!("unreadable row: {error}"), ROW_ERROR_CHARS),
                }));
                true
            }
        };
        if (rows.len() >= slice || !more) && !rows.is_empty() {
            let full = std::mem::replace(&mut rows, Vec::with_capacity(slice));
            if out.blocking_send(Parsed::Slice(full)).is_err() {
                return Ok(());
            }
        }
        if !more {
            return Ok(());
        }
    }
}
