//! Schema evolution: at start, each module's table is compared with its
//! model and a plan is made that brings the table to the model, or the
//! start is refused with the reasons. Nothing is ever served from a table
//! that does not match.
//!
//! Applied automatically: a new table; a new nullable column; a new
//! column with a default (`#[crud(default)]`, modules.toml `default`, or
//! serde's `default`); a column renamed with `#[crud(renamed_from)]`; a
//! column made nullable; a column made required when every row has a value
//! (or the default fills the ones that do not); dropping a column that
//! holds no data.
//!
//! Refused: dropping a column that holds data (unless the app allows it,
//! [`crate::Api::allow_drop`]), a type change, a new required column
//! without a default, a required column with empty rows and no default,
//! and an id or version change.
//!
//! Each module's plan is applied in one transaction under the schema lock
//! (PostgreSQL's advisory lock, so instances starting together migrate
//! once: the second finds nothing left to do), and recorded in
//! `aegis_schema` with the model's fingerprint and the statements.

use std::fmt;

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;

use crate::entity::{FieldKind, FieldMeta, FieldRole, ModuleMeta};
use crate::error::Error;
use crate::store::{Db, Dialect, SEARCH_COLUMN, Tx, searchable};

/// A module's model as the schema check needs it: its fields, and the
/// defaults its declaration gives ([`crate::CrudEntity::stored_default`]).
#[derive(Clone, Copy)]
pub(crate) struct TableModel {
    pub meta: &'static ModuleMeta,
    pub stored_default: fn(&str) -> Option<Value>,
}

/// A column as the database has it.
#[derive(Clone, Debug)]
struct Column {
    name: String,
    /// Upper case, as [`Db::column_type`] writes it.
    sql_type: String,
    not_null: bool,
    primary_key: bool,
}

/// One change the plan makes, in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    CreateTable,
    AddColumn {
        column: String,
        filled_with: Option<String>,
    },
    RenameColumn {
        from: String,
        to: String,
    },
    MakeNullable {
        column: String,
    },
    MakeRequired {
        column: String,
        filled_with: Option<String>,
    },
    DropEmptyColumn {
        column: String,
    },
    DropColumn {
        column: String,
        rows_with_data: u64,
    },
    /// The search column (`aegis_search`) is (re)computed for every row:
    /// it is new, or the fields it holds changed.
    FillSearch {
        rows: u64,
    },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::CreateTable => f.write_str("create the table"),
            Step::AddColumn {
                column,
                filled_with: None,
            } => write!(f, "add nullable column `{column}`"),
            Step::AddColumn {
                column,
                filled_with: Some(value),
            } => write!(f, "add column `{column}`, existing rows get {value}"),
            Step::RenameColumn { from, to } => write!(f, "rename column `{from}` to `{to}`"),
            Step::MakeNullable { column } => write!(f, "make column `{column}` nullable"),
            Step::MakeRequired {
                column,
                filled_with: None,
            } => write!(f, "make column `{column}` required (every row has a value)"),
            Step::MakeRequired {
                column,
                filled_with: Some(value),
            } => write!(
                f,
                "make column `{column}` required, rows without a value get {value}"
            ),
            Step::DropEmptyColumn { column } => {
                write!(f, "drop column `{column}` (no row has a value in it)")
            }
            Step::DropColumn {
                column,
                rows_with_data,
            } => write!(
                f,
                "drop column `{column}` and the values of {rows_with_data} row(s), as allowed"
            ),
            Step::FillSearch { rows } => write!(f, "fill the search column of {rows} row(s)"),
        }
    }
}

/// A change the schema check will not make: the module, the column, what
/// changed, and the way out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub module: String,
    pub column: String,
    pub change: String,
    pub way_out: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "module `{}`, column `{}`: {}; {}",
            self.module, self.column, self.change, self.way_out
        )
    }
}

/// What the schema check would do to one module's table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ModulePlan {
    pub module: String,
    pub steps: Vec<Step>,
    /// The SQL that makes the steps, in order.
    pub statements: Vec<String>,
    pub refusals: Vec<Refusal>,
    /// After the statements, the search column is computed for every row
    /// (by the runtime: the lower case it needs is Unicode's, not SQL's).
    pub fill_search: bool,
}

impl ModulePlan {
    /// Nothing to do and nothing refused.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty() && self.refusals.is_empty() && !self.fill_search
    }
}

/// What the schema check would do to every module's table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub modules: Vec<ModulePlan>,
}

impl Plan {
    /// Every refused change.
    pub fn refusals(&self) -> impl Iterator<Item = &Refusal> {
        self.modules.iter().flat_map(|m| &m.refusals)
    }

    /// Every statement, module by module.
    pub fn statements(&self) -> impl Iterator<Item = &str> {
        self.modules
            .iter()
            .flat_map(|m| m.statements.iter().map(String::as_str))
    }

    /// The tables already match their models.
    pub fn is_empty(&self) -> bool {
        self.modules.iter().all(ModulePlan::is_empty)
    }
}

impl fmt::Display for Plan {
    /// The plan as an operator reads it: per module, its steps, then the
    /// SQL as comments and statements, then anything refused.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("-- every table matches its model; nothing to do\n");
        }
        for module in self.modules.iter().filter(|m| !m.is_empty()) {
            writeln!(f, "-- module `{}`", module.module)?;
            for step in &module.steps {
                writeln!(f, "--   {step}")?;
            }
            for statement in &module.statements {
                writeln!(f, "{statement};")?;
            }
            for refusal in &module.refusals {
                writeln!(f, "-- REFUSED: {refusal}")?;
            }
        }
        Ok(())
    }
}

/// The refused changes, as the error [`crate::Api::install`] returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaError {
    pub refusals: Vec<Refusal>,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the database does not match the modules, and {} change(s) cannot be made \
             automatically:",
            self.refusals.len()
        )?;
        for refusal in &self.refusals {
            write!(f, "\n  - {refusal}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SchemaError {}

/// A module's storage model as recorded in `aegis_schema`: enough to tell
/// changes the column types alone do not show (text to JSON, a version
/// moved to another column).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
struct RecordedColumn {
    name: String,
    kind: String,
    nullable: bool,
    role: String,
    /// In the search column (older records: taken as not).
    #[serde(default)]
    searchable: bool,
}

fn recorded_model(meta: &ModuleMeta) -> Vec<RecordedColumn> {
    meta.fields
        .iter()
        .map(|field| RecordedColumn {
            name: field.name.to_owned(),
            kind: format!("{:?}", field.kind).to_lowercase(),
            nullable: field.nullable,
            role: format!("{:?}", field.role).to_lowercase(),
            searchable: field.kind == FieldKind::Text && !field.hidden,
        })
        .collect()
}

/// FNV-1a: stable across builds and Rust versions, unlike `DefaultHasher`.
fn fingerprint(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// Creates `aegis_schema`, the record of applied plans.
pub(crate) const CREATE_SCHEMA_TABLE: &str = "CREATE TABLE IF NOT EXISTS aegis_schema (\
    module TEXT NOT NULL, \
    fingerprint TEXT NOT NULL, \
    model TEXT NOT NULL, \
    statements TEXT NOT NULL, \
    applied_at TEXT NOT NULL)";

async fn read_columns(db: &Db, tx: &mut Tx, table: &str) -> Result<Vec<Column>, Error> {
    let rows = match db.dialect() {
        Dialect::Sqlite => {
            sqlx::query(
                "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1) ORDER BY cid",
            )
            .bind(table)
            .fetch_all(&mut **tx)
            .await?
        }
        Dialect::Postgres => {
            sqlx::query(
                "SELECT c.column_name::text, upper(c.data_type::text), \
                 (CASE WHEN c.is_nullable::text = 'NO' THEN 1 ELSE 0 END)::bigint, \
                 (CASE WHEN EXISTS (SELECT 1 FROM information_schema.table_constraints t \
                    JOIN information_schema.key_column_usage k \
                      ON k.constraint_name = t.constraint_name \
                     AND k.constraint_schema = t.constraint_schema \
                    WHERE t.constraint_type = 'PRIMARY KEY' AND t.table_schema = c.table_schema \
                      AND t.table_name = c.table_name AND k.column_name = c.column_name) \
                  THEN 1 ELSE 0 END)::bigint \
                 FROM information_schema.columns c \
                 WHERE c.table_schema = current_schema() AND c.table_name = $1 \
                 ORDER BY c.ordinal_position",
            )
            .bind(table)
            .fetch_all(&mut **tx)
            .await?
        }
    };
    rows.iter()
        .map(|row| {
            Ok(Column {
                name: row.try_get(0)?,
                sql_type: row.try_get::<String, _>(1)?.to_uppercase(),
                not_null: row.try_get::<i64, _>(2)? != 0,
                primary_key: row.try_get::<i64, _>(3)? != 0,
            })
        })
        .collect()
}

async fn latest_record(
    db: &Db,
    tx: &mut Tx,
    module: &str,
) -> Result<Option<(String, Vec<RecordedColumn>)>, Error> {
    let query = format!(
        "SELECT fingerprint, model FROM aegis_schema WHERE module = {} \
         ORDER BY applied_at DESC LIMIT 1",
        db.param(1)
    );
    let Some(row) = sqlx::query(&query)
        .bind(module)
        .fetch_optional(&mut **tx)
        .await?
    else {
        return Ok(None);
    };
    let model: String = row.try_get(1)?;
    let model = serde_json::from_str(&model).map_err(|e| {
        Error::Internal(format!(
            "aegis_schema holds a bad model for `{module}`: {e}"
        ))
    })?;
    Ok(Some((row.try_get(0)?, model)))
}

async fn count_rows(db: &Db, tx: &mut Tx, table: &str, filter: &str) -> Result<u64, Error> {
    let query = format!("SELECT COUNT(*) FROM {}{filter}", db.ident(table));
    let row = sqlx::query(&query).fetch_one(&mut **tx).await?;
    Ok(row.try_get::<i64, _>(0)? as u64)
}

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

fn create_table_statement(db: &Db, meta: &ModuleMeta, table: &str) -> String {
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
async fn plan_module(
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
            .map(|r| r.kind.clone());
        let kind = format!("{:?}", field.kind).to_lowercase();
        if column.sql_type != wanted_type
            || recorded_kind
                .as_ref()
                .is_some_and(|recorded| *recorded != kind)
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
        .find(|r| r.role == "version")
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

/// The plans of `models`, applying nothing.
pub(crate) async fn plan(
    db: &Db,
    models: &[TableModel],
    allow_drop: &[(String, String)],
) -> Result<Plan, Error> {
    let mut plan = Plan::default();
    for model in models {
        let mut tx = db.schema_tx().await?;
        plan.modules
            .push(plan_module(db, &mut tx, *model, allow_drop).await?);
        tx.rollback().await?;
    }
    Ok(plan)
}

/// Brings every table to its model, or refuses (changing nothing) when
/// any change cannot be made. Each module's plan is made again and applied
/// in its own transaction under the schema lock, so an instance that
/// starts at the same time finds the work done.
pub(crate) async fn migrate(
    db: &Db,
    models: &[TableModel],
    allow_drop: &[(String, String)],
) -> Result<Plan, Error> {
    let preview = plan(db, models, allow_drop).await?;
    let refusals: Vec<Refusal> = preview.refusals().cloned().collect();
    if !refusals.is_empty() {
        return Err(Error::Schema(SchemaError { refusals }));
    }
    let mut applied = Plan::default();
    for model in models {
        let mut tx = db.schema_tx().await?;
        let plan = plan_module(db, &mut tx, *model, allow_drop).await?;
        if !plan.refusals.is_empty() {
            return Err(Error::Schema(SchemaError {
                refusals: plan.refusals,
            }));
        }
        for statement in &plan.statements {
            tracing::info!(module = model.meta.module, "schema: {statement}");
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        if plan.fill_search {
            let rows = fill_search(db, &mut tx, model.meta).await?;
            tracing::info!(
                module = model.meta.module,
                "schema: filled the search column of {rows} row(s)"
            );
        }
        record(db, &mut tx, model.meta, &plan.statements, plan.fill_search).await?;
        ensure_counters(db, &mut tx, model.meta).await?;
        tx.commit().await?;
        applied.modules.push(plan);
    }
    Ok(applied)
}

/// Computes the search column of every row, a keyset batch at a time.
async fn fill_search(db: &Db, tx: &mut Tx, meta: &ModuleMeta) -> Result<u64, Error> {
    const BATCH: i64 = 1000;
    let id = meta.id_field();
    let fields: Vec<&FieldMeta> = searchable(meta).collect();
    let columns: Vec<String> = fields.iter().map(|f| db.ident(f.name)).collect();
    let integer_id = id.kind == FieldKind::Integer;
    let select = |after: bool| {
        format!(
            "SELECT {}, {} FROM {}{} ORDER BY {} LIMIT {BATCH}",
            db.ident(id.name),
            columns.join(", "),
            db.ident(meta.module),
            if after {
                format!(" WHERE {} > {}", db.ident(id.name), db.param(1))
            } else {
                String::new()
            },
            db.ident(id.name)
        )
    };
    let update = format!(
        "UPDATE {} SET {} = {} WHERE {} = {}",
        db.ident(meta.module),
        db.ident(SEARCH_COLUMN),
        db.param(1),
        db.ident(id.name),
        db.param(2)
    );
    let mut last: Option<Value> = None;
    let mut filled = 0;
    loop {
        let sql = select(last.is_some());
        let mut query = sqlx::query(&sql);
        if let Some(last) = &last {
            query = db.bind(query, id, Some(last));
        }
        let rows = query.fetch_all(&mut **tx).await?;
        for row in &rows {
            let key = if integer_id {
                Value::from(row.try_get::<i64, _>(0)?)
            } else {
                Value::from(row.try_get::<String, _>(0)?)
            };
            let mut text = Vec::with_capacity(fields.len());
            for index in 0..fields.len() {
                if let Some(value) = row.try_get::<Option<String>, _>(index + 1)? {
                    text.push(value.to_lowercase());
                }
            }
            let query = sqlx::query(&update).bind(text.join("\n"));
            db.bind(query, id, Some(&key)).execute(&mut **tx).await?;
            last = Some(key);
            filled += 1;
        }
        if (rows.len() as i64) < BATCH {
            return Ok(filled);
        }
    }
}

/// Records the model in `aegis_schema` when it is new to the table or
/// when statements were applied.
async fn record(
    db: &Db,
    tx: &mut Tx,
    meta: &ModuleMeta,
    statements: &[String],
    filled_search: bool,
) -> Result<(), Error> {
    let model = serde_json::to_string(&recorded_model(meta))
        .map_err(|e| Error::Internal(format!("cannot serialise a module's model: {e}")))?;
    let print = fingerprint(&model);
    let latest = latest_record(db, tx, meta.module).await?;
    if statements.is_empty()
        && !filled_search
        && latest.is_some_and(|(recorded, _)| recorded == print)
    {
        return Ok(());
    }
    let insert = format!(
        "INSERT INTO aegis_schema (module, fingerprint, model, statements, applied_at) \
         VALUES ({}, {}, {}, {}, {})",
        db.param(1),
        db.param(2),
        db.param(3),
        db.param(4),
        db.param(5)
    );
    let statements = serde_json::to_string(statements)
        .map_err(|e| Error::Internal(format!("cannot serialise statements: {e}")))?;
    sqlx::query(&insert)
        .bind(meta.module)
        .bind(print)
        .bind(model)
        .bind(statements)
        .bind(crate::log::timestamp_text(chrono::Utc::now()))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The feature's row of counters (seq, next id), made once.
async fn ensure_counters(db: &Db, tx: &mut Tx, meta: &ModuleMeta) -> Result<(), Error> {
    let next_id = if meta.id_field().kind == FieldKind::Integer {
        format!(
            "(SELECT COALESCE(MAX({}), 0) + 1 FROM {})",
            db.ident(meta.id_field().name),
            db.ident(meta.module)
        )
    } else {
        "1".to_owned()
    };
    let insert = format!(
        "INSERT INTO aegis_features (feature, seq, next_id) VALUES ({}, 0, {next_id}) \
         ON CONFLICT (feature) DO NOTHING",
        db.param(1)
    );
    sqlx::query(&insert)
        .bind(meta.feature)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable() {
        assert_eq!(fingerprint(""), "cbf29ce484222325");
        assert_eq!(fingerprint("a"), "af63dc4c8601ec8c");
    }
}
