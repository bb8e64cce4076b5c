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

mod catalog;
mod planner;

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::entity::ModuleMeta;
use crate::error::Error;
pub use crate::error::{Refusal, SchemaError};
use crate::store::Db;

/// A module's model as the schema check needs it: its fields, and the
/// defaults its declaration gives ([`crate::CrudEntity::stored_default`]).
#[derive(Clone, Copy)]
pub(crate) struct TableModel {
    pub meta: &'static ModuleMeta,
    pub stored_default: fn(&str) -> Option<Value>,
}

/// A column as the database has it.
#[derive(Clone, Debug)]
pub(super) struct Column {
    pub(super) name: String,
    /// Upper case, as [`Db::column_type`] writes it.
    pub(super) sql_type: String,
    pub(super) not_null: bool,
    pub(super) primary_key: bool,
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
            .push(planner::plan_module(db, &mut tx, *model, allow_drop).await?);
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
        let plan = planner::plan_module(db, &mut tx, *model, allow_drop).await?;
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
            let rows = catalog::fill_search(db, &mut tx, model.meta).await?;
            tracing::info!(
                module = model.meta.module,
                "schema: filled the search column of {rows} row(s)"
            );
        }
        catalog::record(db, &mut tx, model.meta, &plan.statements, plan.fill_search).await?;
        catalog::ensure_counters(db, &mut tx, model.meta).await?;
        tx.commit().await?;
        applied.modules.push(plan);
    }
    Ok(applied)
}
