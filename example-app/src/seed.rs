//! A little data for the demo, added only to empty tables.

use aegis::crud::{count, insert};
use aegis::export::chrono::{NaiveDate, TimeZone, Utc};
use aegis::{Aegis, Error, Served};

use crate::aegis_modules::UserRoleCreate;
use crate::models::{
    AuthorCreate, BudgetCreate, BudgetStatus, DepartmentCreate, SupplierCreate, TagCreate,
};

/// Inserts `inputs` when `T`'s table is empty; what it inserted.
async fn seed_one<T: Served>(aegis: &Aegis, inputs: Vec<T::Create>) -> Result<Vec<T>, Error> {
    if count::<T>(aegis).await? > 0 {
        return Ok(Vec::new());
    }
    let mut inserted = Vec::new();
    for input in inputs {
        inserted.push(insert::<T>(aegis, T::SETTINGS, input, "seed", None).await?);
    }
    Ok(inserted)
}

/// The budgets, in the first department, the first budget tagged with
/// the first tag.
async fn seed_budgets(aegis: &Aegis) -> Result<(), Error> {
    let departments = seed_one::<crate::models::Department>(
        aegis,
        ["Operations", "People"]
            .into_iter()
            .map(|name| DepartmentCreate {
                name: name.to_owned(),
            })
            .collect(),
    )
    .await?;
    let operations = departments.first().map(|d| d.id);
    let tags = seed_one::<crate::models::Tag>(
        aegis,
        ["capital", "urgent"]
            .into_iter()
            .map(|name| TagCreate {
                name: name.to_owned(),
            })
            .collect(),
    )
    .await?;
    let capital: Vec<i64> = tags.iter().take(1).map(|t| t.id).collect();
    let budgets = [
        ("Office rent", 18_000.0, BudgetStatus::Approved, capital),
        ("Travel", 4_250.5, BudgetStatus::Submitted, Vec::new()),
        ("Training", 2_800.0, BudgetStatus::Draft, Vec::new()),
    ];
    seed_one::<crate::models::Budget>(
        aegis,
        budgets
            .into_iter()
            .map(|(name, amount, status, tags)| BudgetCreate {
                name: name.to_owned(),
                amount,
                fiscal_year: 2026,
                department: operations,
                status,
                contract: None,
                tags,
            })
            .collect(),
    )
    .await?;
    Ok(())
}

pub async fn seed(aegis: &Aegis) -> Result<(), Error> {
    seed_budgets(aegis).await?;
    seed_one::<crate::models::Author>(
        aegis,
        vec![
            AuthorCreate {
                display_name: "Ada Lovelace".into(),
                email: Some("ada@example.org".into()),
                born_on: NaiveDate::from_ymd_opt(1815, 12, 10),
                tags: vec!["analyst".into()],
            },
            AuthorCreate {
                display_name: "Grace Hopper".into(),
                email: None,
                born_on: None,
                tags: Vec::new(),
            },
        ],
    )
    .await?;
    seed_one::<crate::models::Supplier>(
        aegis,
        vec![SupplierCreate {
            name: "Acme".into(),
            country: "NL".into(),
            active: true,
            rating: Some(4),
        }],
    )
    .await?;
    seed_one::<crate::aegis_modules::UserRole>(
        aegis,
        vec![UserRoleCreate {
            user_id: 1,
            role: "admin".into(),
            granted_at: Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap(),
            note: None,
        }],
    )
    .await?;
    Ok(())
}
