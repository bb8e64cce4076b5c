//! The plan of one module's table: its columns as they are against its
//! model, each difference either a step with its SQL or a refusal that
//! names the way out.

use super::catalog::{RecordedColumn, count_rows, latest_record, read_columns, recorded_model};
use super::{ModulePlan, Refusal, Step, TableModel};
use crate::entity::{FieldKind, FieldMeta, FieldRole, ModuleMeta};
use crate::error::Error;
use crate::store::{Db, Dialect, SEARCH_COLUMN, Tx, searchable};
use serde_json::Value;

/// A default as an SQL literal of the field's column, or why it is not one.
fn sql_literal(dialect: Dialect, field: &FieldMeta, value: &Value) -> Result<String, String> {
    let quote = |text: &str| format!("'{}'", text.replace('\'', "''"));
    let wrong = || format!("its default `{value}` does not fit the column");
    match field.kind {
        FieldKind::Integer => value.as_i64().map(|n| n.to_string()).ok_or_else(wrong),
        FieldKind::Float => value
            .as_f64()
            .filter(|x| x.is_finite())
            .map(|x| format!("{x:?}"))
            .ok_or_else(wrong),
        FieldKind::Boolean => match (value.as_bool(), dialect) {
            (Some(b), Dialect::Postgres) => Ok(if b { "TRUE" } else { "FALSE" }.to_owned()),
            (Some(b), Dialect::Sqlite) => Ok(if b { "1" } else { "0" }.to_owned()),
            (None, _) => Err(wrong()),
        },
        FieldKind::Text => match value {
            Value::String(text) => Ok(quote(text)),
            other => Ok(quote(&other.to_string())),
        },
        FieldKind::Json => Ok(quote(&value.to_string())),
    }
}

/// A column's definition as `CREATE TABLE` and `ADD COLUMN` write it.
fn column_definition(db: &Db, field: &FieldMeta, default: Option<&str>) -> String {
    let null = if field.nullable { "" } else { " NOT NULL" };
    let default = default.map(|d| format!(" DEFAULT {d}")).unwrap_or_default();
    format!(
        "{} {}{null}{default}",
        db.ident(field.name),
        db.column_type(field)
    )
}

pub(super) fn create_table_statement(db: &Db, meta: &ModuleMeta, table: &str) -> String {
    let mut columns: Vec<String> = meta
        .fields
        .iter()
        .map(|field| column_definition(db, field, None))
        .collect();
    if searchable(meta).next().is_some() {
        columns.push(format!("{} TEXT", db.ident(SEARCH_COLUMN)));
    }
    format!(
        "CREATE TABLE {} ({}, PRIMARY KEY ({}))",
        db.ident(table),
        columns.join(", "),
        db.ident(meta.id_field().name)
    )
}

/// Plans one module's table inside `tx`, reading its present shape.
pub(super) async fn plan_module(
    db: &Db,
    tx: &mut Tx,
    model: TableModel,
    allow_drop: &[(String, String)],
) -> Result<ModulePlan, Error> {
    let meta = model.meta;
    let table = meta.module;
    let mut plan = ModulePlan {
        module: table.to_owned(),
        ..ModulePlan::default()
    };
    let columns = read_columns(db, tx, table).await?;
    if columns.is_empty() {
        plan.steps.push(Step::CreateTable);
        plan.statements
            .push(create_table_statement(db, meta, table));
        return Ok(plan);
    }
    let recorded = latest_record(db, tx, table).await?.map(|(_, model)| model);
    let refuse = |plan: &mut ModulePlan, column: &str, change: String, way_out: String| {
        plan.refusals.push(Refusal {
            module: table.to_owned(),
            column: column.to_owned(),
            change,
            way_out,
        });
    };
    let ident = |name: &str| db.ident(name);
    let alter = format!("ALTER TABLE {}", ident(table));
    // Whether SQLite must rebuild the table (it cannot change a column's
    // nullability in place).
    let mut rebuild = false;
    let mut used: Vec<&str> = Vec::new();

    for field in meta.fields {
        let default = match (model.stored_default)(field.name).filter(|v| !v.is_null()) {
            Some(value) => match sql_literal(db.dialect(), field, &value) {
                Ok(literal) => Some(literal),
                Err(change) => {
                    refuse(
                        &mut plan,
                        field.name,
                        change,
                        "give a default of the field's type with `#[crud(default = \"...\")]`"
                            .to_owned(),
                    );
                    continue;
                }
            },
            None => None,
        };
        let present = columns.iter().find(|c| c.name == field.name);
        let renamed = field
            .renamed_from
            .and_then(|old| columns.iter().find(|c| c.name == old));
        let column = match (present, renamed) {
            (Some(column), _) => column,
            (None, Some(old)) => {
                plan.steps.push(Step::RenameColumn {
                    from: old.name.clone(),
                    to: field.name.to_owned(),
                });
                plan.statements.push(format!(
                    "{alter} RENAME COLUMN {} TO {}",
                    ident(&old.name),
                    ident(field.name)
                ));
                old
            }
            (None, None) => {
                if field.role == FieldRole::Id {
                    refuse(
                        &mut plan,
                        field.name,
                        "the id field is not a column of the table (changing the id is not \
                         supported)"
                            .to_owned(),
                        "keep the id field's name, or declare the old one with \
                         `#[crud(renamed_from = \"...\")]`"
                            .to_owned(),
                    );
                } else if field.nullable || default.is_some() {
                    plan.steps.push(Step::AddColumn {
                        column: field.name.to_owned(),
                        filled_with: default.clone(),
                    });
                    plan.statements.push(format!(
                        "{alter} ADD COLUMN {}",
                        column_definition(db, field, default.as_deref())
                    ));
                } else {
                    let rows = count_rows(db, tx, table, "").await?;
                    refuse(
                        &mut plan,
                        field.name,
                        format!(
                            "a new required column with no default, and the {rows} row(s) \
                             stored have no value for it"
                        ),
                        "make the field an `Option`, or give the value old rows get with \
                         `#[crud(default = \"...\")]` (modules.toml `default`) or serde's \
                         `default`"
                            .to_owned(),
                    );
                }
                continue;
            }
        };
        used.push(column.name.as_str());

        let wanted_type = db.column_type(field);
        let recorded_kind = recorded
            .iter()
            .flatten()
            .find(|r| r.name == column.name || Some(r.name.as_str()) == field.renamed_from)
            .map(|r| r.kind.as_str());
        let kind = field.kind.as_str();
        if column.sql_type != wanted_type || recorded_kind.is_some_and(|recorded| recorded != kind)
        {
            let was = match recorded_kind {
                Some(recorded) if column.sql_type == wanted_type => {
                    format!("{} ({recorded})", column.sql_type)
                }
                _ => column.sql_type.clone(),
            };
            refuse(
                &mut plan,
                field.name,
                format!(
                    "the column is {was} and the model now stores {wanted_type} ({kind}); a type \
                     change is not made automatically"
                ),
                "keep the old type, or add a new field (with a default) and move the data \
                 yourself"
                    .to_owned(),
            );
            continue;
        }
        if field.role == FieldRole::Id && !column.primary_key {
            refuse(
                &mut plan,
                field.name,
                "the id field is not the table's primary key (changing the id is not supported)"
                    .to_owned(),
                "mark the old id field with `#[crud(id)]`".to_owned(),
            );
            continue;
        }
        if field.role != FieldRole::Id && column.primary_key {
            refuse(
                &mut plan,
                field.name,
                "the column is the table's primary key, but the model's id is another field \
                 (changing the id is not supported)"
                    .to_owned(),
                format!("mark `{}` with `#[crud(id)]`", column.name),
            );
            continue;
        }
        match (column.not_null, field.nullable) {
            (true, true) => {
                plan.steps.push(Step::MakeNullable {
                    column: field.name.to_owned(),
                });
                match db.dialect() {
                    Dialect::Postgres => plan.statements.push(format!(
                        "{alter} ALTER COLUMN {} DROP NOT NULL",
                        ident(field.name)
                    )),
                    Dialect::Sqlite => rebuild = true,
                }
            }
            (false, false) => {
                let empty = format!(" WHERE {} IS NULL", ident(&column.name));
                let missing = count_rows(db, tx, table, &empty).await?;
                if missing > 0 && default.is_none() {
                    refuse(
                        &mut plan,
                        field.name,
                        format!("the field is now required, and {missing} row(s) have no value"),
                        "keep it an `Option`, or give the value those rows get with \
                         `#[crud(default = \"...\")]`"
                            .to_owned(),
                    );
                    continue;
                }
                let filled_with = default.clone().filter(|_| missing > 0);
                if let Some(value) = &filled_with {
                    plan.statements.push(format!(
                        "UPDATE {} SET {} = {value} WHERE {} IS NULL",
                        ident(table),
                        ident(field.name),
                        ident(field.name)
                    ));
                }
                plan.steps.push(Step::MakeRequired {
                    column: field.name.to_owned(),
                    filled_with,
                });
                match db.dialect() {
                    Dialect::Postgres => plan.statements.push(format!(
                        "{alter} ALTER COLUMN {} SET NOT NULL",
                        ident(field.name)
                    )),
                    Dialect::Sqlite => rebuild = true,
                }
            }
            _ => {}
        }
    }

    // A version that moved to another column is a version change.
    let version_now = meta.version_field().map(|f| f.name);
    let version_before = recorded
        .iter()
        .flatten()
        .find(|r| r.role == FieldRole::Version)
        .map(|r| r.name.as_str());
    if let (Some(before), Some(now)) = (version_before, version_now)
        && before != now
        && meta
            .version_field()
            .and_then(|f| f.renamed_from)
            .is_none_or(|old| old != before)
    {
        refuse(
            &mut plan,
            now,
            format!("the version was column `{before}`, the model now versions with `{now}`"),
            format!(
                "keep `{before}` as the version field, or declare it with \
                 `#[crud(renamed_from = \"{before}\")]`"
            ),
        );
    }

    // The search column is the runtime's own: made, kept, and filled
    // again when the fields it holds change.
    let has_search = columns.iter().any(|c| c.name == SEARCH_COLUMN);
    used.push(SEARCH_COLUMN);
    if searchable(meta).next().is_some() {
        let searched = |model: &[RecordedColumn]| -> Vec<String> {
            model
                .iter()
                .filter(|c| c.searchable)
                .map(|c| c.name.clone())
                .collect()
        };
        let changed = recorded
            .as_deref()
            .is_none_or(|before| searched(before) != searched(&recorded_model(meta)));
        if !has_search {
            plan.statements
                .push(format!("{alter} ADD COLUMN {} TEXT", ident(SEARCH_COLUMN)));
        }
        if !has_search || changed {
            let rows = count_rows(db, tx, table, "").await?;
            plan.steps.push(Step::FillSearch { rows });
            plan.fill_search = true;
        }
    }

    for column in columns.iter().filter(|c| !used.contains(&c.name.as_str())) {
        let filter = format!(" WHERE {} IS NOT NULL", ident(&column.name));
        let with_data = count_rows(db, tx, table, &filter).await?;
        let allowed = allow_drop
            .iter()
            .any(|(module, name)| module == table && *name == column.name);
        if with_data > 0 && !allowed {
            refuse(
                &mut plan,
                &column.name,
                format!(
                    "the column is no longer a field, and {with_data} row(s) hold a value in it"
                ),
                format!(
                    "bring the field back, declare its new name with `#[crud(renamed_from = \
                     \"{}\")]`, or allow dropping it (`Api::allow_drop(\"{table}\", \"{}\")`)",
                    column.name, column.name
                ),
            );
            continue;
        }
        plan.steps.push(if with_data > 0 {
            Step::DropColumn {
                column: column.name.clone(),
                rows_with_data: with_data,
            }
        } else {
            Step::DropEmptyColumn {
                column: column.name.clone(),
            }
        });
        plan.statements
            .push(format!("{alter} DROP COLUMN {}", ident(&column.name)));
    }

    if rebuild && plan.refusals.is_empty() {
        // SQLite's documented way to change a column: a new table with the
        // model's shape, the rows copied over, the old table replaced.
        // The copy leaves out the columns planned for dropping.
        plan.statements
            .retain(|statement| !statement.contains(" DROP COLUMN "));
        let scratch = format!("aegis_rebuild_{table}");
        let mut columns = db.column_list(meta);
        if searchable(meta).next().is_some() {
            columns.push_str(&format!(", {}", ident(SEARCH_COLUMN)));
        }
        plan.statements
            .push(create_table_statement(db, meta, &scratch));
        plan.statements.push(format!(
            "INSERT INTO {} ({columns}) SELECT {columns} FROM {}",
            ident(&scratch),
            ident(table)
        ));
        plan.statements.push(format!("DROP TABLE {}", ident(table)));
        plan.statements.push(format!(
            "ALTER TABLE {} RENAME TO {}",
            ident(&scratch),
            ident(table)
        ));
    }
    if !plan.refusals.is_empty() {
        plan.statements.clear();
        plan.fill_search = false;
    }
    Ok(plan)
}
