//! The domain structs the example app serves.

use aegis::crud_module;
use aegis::export::chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A budget line for one fiscal year.
#[crud_module]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Budget {
    pub id: i64,
    pub name: String,
    pub amount: f64,
    pub fiscal_year: i32,
    pub status: BudgetStatus,
    pub version: i64,
    /// The department it belongs to; a department with budgets is not
    /// deleted.
    #[crud(references = "departments")]
    pub department: Option<i64>,
    /// Filled by the server; empty for budgets stored before it existed.
    #[crud(created_at)]
    pub created_at: Option<DateTime<Utc>>,
    #[crud(updated_by, label = "Last changed by")]
    pub updated_by: Option<String>,
    /// Tags it carries, many to many: deleting a tag takes it off.
    #[crud(many = "tags")]
    #[serde(default)]
    pub tags: Vec<i64>,
    /// The signed contract, or a scan of it: stored once per content and
    /// downloaded by whoever may read the budget.
    #[crud(file(
        max_bytes = 150_000_000,
        types = ["application/pdf", "image/png", "image/jpeg"]
    ))]
    #[serde(default)]
    pub contract: Option<aegis::File>,
}

/// A tag budgets carry ("urgent", "capital").
#[crud_module(with_events)]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Tag {
    pub id: i64,
    #[crud(length(min = 1, max = 40))]
    pub name: String,
    pub version: i64,
}

/// A department budgets belong to.
#[crud_module(with_events)]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Department {
    pub id: i64,
    #[crud(length(min = 1, max = 80))]
    pub name: String,
    pub version: i64,
}

/// Where a budget is in its approval.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum BudgetStatus {
    #[default]
    Draft,
    Submitted,
    Approved,
}

/// Someone who writes budgets' justifications. Private to whoever added
/// them (see `hooks::AuthorHooks`).
#[crud_module(with_events)]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Author {
    pub id: i64,
    #[crud(length(min = 2, max = 80))]
    pub display_name: String,
    #[crud(email, length(max = 254))]
    pub email: Option<String>,
    pub born_on: Option<NaiveDate>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub version: i64,
    /// Who added the author: only they read it, or an administrator.
    #[crud(created_by)]
    pub added_by: Option<String>,
}

/// A supplier; it has no events, so its front end polls import jobs.
#[crud_module(with_import)]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Supplier {
    pub id: i64,
    pub name: String,
    pub country: String,
    pub active: bool,
    pub rating: Option<i32>,
}
