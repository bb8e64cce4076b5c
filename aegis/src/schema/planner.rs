//! The plan of one module's table: its columns as they are against its
//! model, each difference either a step with its SQL or a refusal that
//! names the way out.

use super::catalog::{RecordedColumn, count_rows, latest_record, read_columns, recorded_model};
use super::{Column, ModulePlan, Refusal, Step, TableModel};
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

/// Plans one module's table inside `tx`, reading its present shape: each
/// field checked against its column (a default that fits, the column
/// found or renamed or added, its type, the id, nullability), then the
/// version, the search column and the columns no field uses.
pub(super) async fn plan_module(
    db: &Db,
    tx: &mut Tx,
    model: TableModel,
    allow_drop: &[(String, String)],
) -> Result<ModulePlan, Error> {
    let meta = model.meta;
    let table = meta.module;
    let columns = read_columns(db, tx, table).await?;
    if columns.is_empty() {
        return Ok(ModulePlan {
            module: table.to_owned(),
            steps: vec![Step::CreateTable],
            statements: vec![create_table_statement(db, meta, table)],
            ..ModulePlan::default()
        });
    }
    let recorded = latest_record(db, tx, table).await?.map(|(_, model)| model);
    let mut planner = Planner {
        db,
        tx,
        meta,
        table,
        alter: format!("ALTER TABLE {}", db.ident(table)),
        columns,
        recorded,
        plan: ModulePlan {
            module: table.to_owned(),
            ..ModulePlan::default()
        },
        rebuild: false,
        used: Vec::new(),
    };
    for field in meta.fields {
        planner.plan_field(field, model.stored_default).await?;
    }
    planner.check_version();
    planner.plan_search().await?;
    planner.plan_drops(allow_drop).await?;
    Ok(planner.finish())
}

/// One module's plan as it is made.
struct Planner<'a> {
    db: &'a Db,
    tx: &'a mut Tx,
    meta: &'static ModuleMeta,
    table: &'static str,
    /// `ALTER TABLE <table>`.
    alter: String,
    /// The table's columns as they are.
    columns: Vec<Column>,
    /// The model recorded with the last applied plan.
    recorded: Option<Vec<RecordedColumn>>,
    plan: ModulePlan,
    /// Whether SQLite must rebuild the table (it cannot change a column's
    /// nullability in place).
    rebuild: bool,
    /// The columns a field (or the runtime) uses.
    used: Vec<String>,
}

impl Planner<'_> {
    fn ident(&self, name: &str) -> String {
        self.db.ident(name)
    }

    fn refuse(&mut self, column: &str, change: String, way_out: impl Into<String>) {
        self.plan.refusals.push(Refusal {
            module: self.table.to_owned(),
            column: column.to_owned(),
            change,
            way_out: way_out.into(),
        });
    }

    async fn count(&mut self, filter: &str) -> Result<u64, Error> {
        count_rows(self.db, self.tx, self.table, filter).await
    }

    /// Checks one field against its column, in order; the first refusal
    /// ends the field's checks.
    async fn plan_field(
        &mut self,
        field: &'static FieldMeta,
        stored_default: fn(&str) -> Option<Value>,
    ) -> Result<(), Error> {
        let Some(default) = self.check_default(field, stored_default) else {
            return Ok(());
        };
        let Some(column) = self.find_column(field, default.as_deref()).await? else {
            return Ok(());
        };
        self.used.push(column.name.clone());
        if self.check_type(field, &column) && self.check_id(field, &column) {
            self.plan_nullability(field, &column, default).await?;
        }
        Ok(())
    }

    /// The field's default as an SQL literal (`Some(None)`: none), or
    /// `None` when it does not fit the column (refused).
    fn check_default(
        &mut self,
        field: &FieldMeta,
        stored_default: fn(&str) -> Option<Value>,
    ) -> Option<Option<String>> {
        let Some(value) = stored_default(field.name).filter(|v| !v.is_null()) else {
            return Some(None);
        };
        match sql_literal(self.db.dialect(), field, &value) {
            Ok(literal) => Some(Some(literal)),
            Err(change) => {
                self.refuse(
                    field.name,
                    change,
                    "give a default of the field's type with `#[crud(default = \"...\")]`",
                );
                None
            }
        }
    }

    /// The field's column: present, or renamed from its old name; or
    /// `None` when it is added now or refused.
    async fn find_column(
        &mut self,
        field: &FieldMeta,
        default: Option<&str>,
    ) -> Result<Option<Column>, Error> {
        let present = self.columns.iter().find(|c| c.name == field.name);
        let renamed = field
            .renamed_from
            .and_then(|old| self.columns.iter().find(|c| c.name == old));
        match (present.cloned(), renamed.cloned()) {
            (Some(column), _) => Ok(Some(column)),
            (None, Some(old)) => {
                self.plan.steps.push(Step::RenameColumn {
                    from: old.name.clone(),
                    to: field.name.to_owned(),
                });
                let statement = format!(
                    "{} RENAME COLUMN {} TO {}",
                    self.alter,
                    self.ident(&old.name),
                    self.ident(field.name)
                );
                self.plan.statements.push(statement);
                Ok(Some(old))
            }
            (None, None) => {
                self.plan_new_column(field, default).await?;
                Ok(None)
            }
        }
    }

    /// A field without a column: added when old rows can have a value.
    async fn plan_new_column(
        &mut self,
        field: &FieldMeta,
        default: Option<&str>,
    ) -> Result<(), Error> {
        if field.role == FieldRole::Id {
            self.refuse(
                field.name,
                "the id field is not a column of the table (changing the id is not supported)"
                    .to_owned(),
                "keep the id field's name, or declare the old one with \
                 `#[crud(renamed_from = \"...\")]`",
            );
        } else if field.nullable || default.is_some() {
            self.plan.steps.push(Step::AddColumn {
                column: field.name.to_owned(),
                filled_with: default.map(str::to_owned),
            });
            let statement = format!(
                "{} ADD COLUMN {}",
                self.alter,
                column_definition(self.db, field, default)
            );
            self.plan.statements.push(statement);
        } else {
            let rows = self.count("").await?;
            self.refuse(
                field.name,
                format!(
                    "a new required column with no default, and the {rows} row(s) stored \
                     have no value for it"
                ),
                "make the field an `Option`, or give the value old rows get with \
                 `#[crud(default = \"...\")]` (modules.toml `default`) or serde's `default`",
            );
        }
        Ok(())
    }

    /// Whether the column stores what the field's kind does (its SQL type,
    /// and the kind recorded for it); refuses otherwise.
    fn check_type(&mut self, field: &FieldMeta, column: &Column) -> bool {
        let wanted_type = self.db.column_type(field);
        let recorded_kind = self
            .recorded
            .iter()
            .flatten()
            .find(|r| r.name == column.name || Some(r.name.as_str()) == field.renamed_from)
            .map(|r| r.kind.as_str());
        let kind = field.kind.as_str();
        if column.sql_type == wanted_type && recorded_kind.is_none_or(|recorded| recorded == kind) {
            return true;
        }
        let was = match recorded_kind {
            Some(recorded) if column.sql_type == wanted_type => {
                format!("{} ({recorded})", column.sql_type)
            }
            _ => column.sql_type.clone(),
        };
        self.refuse(
            field.name,
            format!(
                "the column is {was} and the model now stores {wanted_type} ({kind}); a type \
                 change is not made automatically"
            ),
            "keep the old type, or add a new field (with a default) and move the data yourself",
        );
        false
    }

    /// Whether the id field is the primary key and no other field is.
    fn check_id(&mut self, field: &FieldMeta, column: &Column) -> bool {
        if field.role == FieldRole::Id && !column.primary_key {
            self.refuse(
                field.name,
                "the id field is not the table's primary key (changing the id is not supported)"
                    .to_owned(),
                "mark the old id field with `#[crud(id)]`",
            );
            return false;
        }
        if field.role != FieldRole::Id && column.primary_key {
            self.refuse(
                field.name,
                "the column is the table's primary key, but the model's id is another field \
                 (changing the id is not supported)"
                    .to_owned(),
                format!("mark `{}` with `#[crud(id)]`", column.name),
            );
            return false;
        }
        true
    }

    /// A column made nullable, or required (its empty rows filled with
    /// the default, refused without one).
    async fn plan_nullability(
        &mut self,
        field: &FieldMeta,
        column: &Column,
        default: Option<String>,
    ) -> Result<(), Error> {
        let change = match (column.not_null, field.nullable) {
            (true, true) => {
                self.plan.steps.push(Step::MakeNullable {
                    column: field.name.to_owned(),
                });
                "DROP NOT NULL"
            }
            (false, false) => {
                let empty = format!(" WHERE {} IS NULL", self.ident(&column.name));
                let missing = self.count(&empty).await?;
                if missing > 0 && default.is_none() {
                    self.refuse(
                        field.name,
                        format!("the field is now required, and {missing} row(s) have no value"),
                        "keep it an `Option`, or give the value those rows get with \
                         `#[crud(default = \"...\")]`",
                    );
                    return Ok(());
                }
                let filled_with = default.filter(|_| missing > 0);
                if let Some(value) = &filled_with {
                    let name = self.ident(field.name);
                    let statement = format!(
                        "UPDATE {} SET {name} = {value} WHERE {name} IS NULL",
                        self.ident(self.table)
                    );
                    self.plan.statements.push(statement);
                }
                self.plan.steps.push(Step::MakeRequired {
                    column: field.name.to_owned(),
                    filled_with,
                });
                "SET NOT NULL"
            }
            _ => return Ok(()),
        };
        match self.db.dialect() {
            Dialect::Postgres => {
                let statement = format!(
                    "{} ALTER COLUMN {} {change}",
                    self.alter,
                    self.ident(field.name)
                );
                self.plan.statements.push(statement);
            }
            Dialect::Sqlite => self.rebuild = true,
        }
        Ok(())
    }

    /// A version that moved to another column is a version change.
    fn check_version(&mut self) {
        let version_now = self.meta.version_field().map(|f| f.name);
        let version_before = self
            .recorded
            .iter()
            .flatten()
            .find(|r| r.role == FieldRole::Version)
            .map(|r| r.name.clone());
        if let (Some(before), Some(now)) = (version_before, version_now)
            && before != now
            && self
                .meta
                .version_field()
                .and_then(|f| f.renamed_from)
                .is_none_or(|old| old != before)
        {
            self.refuse(
                now,
                format!("the version was column `{before}`, the model now versions with `{now}`"),
                format!(
                    "keep `{before}` as the version field, or declare it with \
                     `#[crud(renamed_from = \"{before}\")]`"
                ),
            );
        }
    }

    /// The search column is the runtime's own: made, kept, and filled
    /// again when the fields it holds change.
    async fn plan_search(&mut self) -> Result<(), Error> {
        let has_search = self.columns.iter().any(|c| c.name == SEARCH_COLUMN);
        self.used.push(SEARCH_COLUMN.to_owned());
        if searchable(self.meta).next().is_none() {
            return Ok(());
        }
        let searched = |model: &[RecordedColumn]| -> Vec<String> {
            model
                .iter()
                .filter(|c| c.searchable)
                .map(|c| c.name.clone())
                .collect()
        };
        let changed = self
            .recorded
            .as_deref()
            .is_none_or(|before| searched(before) != searched(&recorded_model(self.meta)));
        if !has_search {
            let statement = format!(
                "{} ADD COLUMN {} TEXT",
                self.alter,
                self.ident(SEARCH_COLUMN)
            );
            self.plan.statements.push(statement);
        }
        if !has_search || changed {
            let rows = self.count("").await?;
            self.plan.steps.push(Step::FillSearch { rows });
            self.plan.fill_search = true;
        }
        Ok(())
    }

    /// Columns no field uses: dropped when empty or allowed, refused
    /// when they hold data.
    async fn plan_drops(&mut self, allow_drop: &[(String, String)]) -> Result<(), Error> {
        let unused: Vec<Column> = self
            .columns
            .iter()
            .filter(|c| !self.used.contains(&c.name))
            .cloned()
            .collect();
        let table = self.table;
        for column in unused {
            let filter = format!(" WHERE {} IS NOT NULL", self.ident(&column.name));
            let with_data = self.count(&filter).await?;
            let allowed = allow_drop
                .iter()
                .any(|(module, name)| module == table && *name == column.name);
            if with_data > 0 && !allowed {
                self.refuse(
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
            self.plan.steps.push(if with_data > 0 {
                Step::DropColumn {
                    column: column.name.clone(),
                    rows_with_data: with_data,
                }
            } else {
                Step::DropEmptyColumn {
                    column: column.name.clone(),
                }
            });
            let statement = format!("{} DROP COLUMN {}", self.alter, self.ident(&column.name));
            self.plan.statements.push(statement);
        }
        Ok(())
    }

    /// The plan: SQLite's rebuild when one is needed, nothing to run when
    /// a change is refused.
    fn finish(mut self) -> ModulePlan {
        if self.rebuild && self.plan.refusals.is_empty() {
            self.plan_rebuild();
        }
        if !self.plan.refusals.is_empty() {
            self.plan.statements.clear();
            self.plan.fill_search = false;
        }
        self.plan
    }

    /// SQLite's documented way to change a column: a new table with the
    /// model's shape, the rows copied over, the old table replaced. The
    /// copy leaves out the columns planned for dropping.
    fn plan_rebuild(&mut self) {
        let (db, meta, table) = (self.db, self.meta, self.table);
        let ident = |name: &str| db.ident(name);
        let statements = &mut self.plan.statements;
        statements.retain(|statement| !statement.contains(" DROP COLUMN "));
        let scratch = format!("aegis_rebuild_{table}");
        let mut columns = db.column_list(meta);
        if searchable(meta).next().is_some() {
            columns.push_str(&format!(", {}", ident(SEARCH_COLUMN)));
        }
        statements.push(create_table_statement(db, meta, &scratch));
        statements.push(format!(
            "INSERT INTO {} ({columns}) SELECT {columns} FROM {}",
            ident(&scratch),
            ident(table)
        ));
        statements.push(format!("DROP TABLE {}", ident(table)));
        statements.push(format!(
            "ALTER TABLE {} RENAME TO {}",
            ident(&scratch),
            ident(table)
        ));
    }
}
