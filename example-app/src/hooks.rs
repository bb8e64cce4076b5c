//! The example's business rules, as server hooks: registered on the API in
//! [`crate::served`], no generated file touched.

use aegis::Error;
use aegis::access::RowFilter;
use aegis::auth::User;
use aegis::hooks::{CrudHooks, HookContext};

use crate::models::{Author, Budget, BudgetStatus};

/// An approved budget is settled: it is not deleted, and its amount does
/// not change; names are kept without stray spaces.
#[derive(Clone, Copy, Debug, Default)]
pub struct BudgetHooks;

impl CrudHooks<Budget> for BudgetHooks {
    async fn before_create(
        &self,
        _: &mut HookContext<'_>,
        budget: &mut Budget,
    ) -> Result<(), Error> {
        budget.name = budget.name.trim().to_owned();
        Ok(())
    }

    async fn before_update(
        &self,
        _: &mut HookContext<'_>,
        before: &Budget,
        after: &mut Budget,
    ) -> Result<(), Error> {
        after.name = after.name.trim().to_owned();
        if before.status == BudgetStatus::Approved
            && after.status == BudgetStatus::Approved
            && after.amount != before.amount
        {
            return Err(Error::field(
                "amount",
                "cannot change on an approved budget; set it back to submitted first",
            ));
        }
        Ok(())
    }

    async fn before_delete(&self, _: &mut HookContext<'_>, budget: &Budget) -> Result<(), Error> {
        if budget.status == BudgetStatus::Approved {
            return Err(Error::Forbidden(format!(
                "`{}` is approved and cannot be deleted; set it back to draft first",
                budget.name
            )));
        }
        Ok(())
    }
}

/// Authors are private: a user reads (and so lists, changes, exports and
/// hears of) the authors they added; an administrator (a token that may
/// change every feature, `write: ["*"]`) reads them all.
#[derive(Clone, Copy, Debug, Default)]
pub struct AuthorHooks;

impl CrudHooks<Author> for AuthorHooks {
    fn read_filter(&self, user: &User) -> Option<RowFilter> {
        let administrator = user.0.write.iter().any(|feature| feature == "*");
        (!administrator).then(|| RowFilter::equals("addedBy", user.id()))
    }
}
