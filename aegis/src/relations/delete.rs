//! What deleting a referenced row does to the rows that reference it, in
//! the delete's change: refused while a `restrict` reference holds; else
//! the referencing rows deleted (`cascade`) or their field emptied
//! (`set_null`), each as its own module would, and so on down the
//! references. Only rows the user may change and read are touched: any
//! other refuses the delete, as do more than
//! [`crate::Limits::cascade_rows`] rows in all. Nothing is changed then.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::{AfterCommit, Link, Relations, Served, Touch, value_text};
use crate::entity::{ModuleMeta, OnDelete};
use crate::error::Error;
use crate::log::Change;
use crate::store::{Db, Tx};

impl Relations {
    /// What deleting the row `id` of `meta` does to the rows that
    /// reference it, inside `change`, by `touch`'s user, touching at most
    /// `cap` rows; the touched rows' `after_commit` hooks, to run once
    /// the change is committed.
    pub(crate) async fn before_delete(
        &self,
        touch: Touch<'_>,
        change: &mut Change,
        meta: &'static ModuleMeta,
        id: &Value,
        cap: usize,
    ) -> Result<Vec<AfterCommit>, Error> {
        let mut deleting = Deleting {
            relations: self,
            touch,
            cap,
            touched: 0,
            visited: HashSet::from([(meta.module, id.to_string())]),
            after: Vec::new(),
        };
        deleting.release(change, meta, id).await?;
        Ok(deleting.after)
    }
}

/// One delete and the rows it reaches through references.
struct Deleting<'a> {
    relations: &'a Relations,
    touch: Touch<'a>,
    /// The most rows it may touch, and how many it has.
    cap: usize,
    touched: usize,
    /// The rows being deleted (module, id), so a cycle of cascades ends.
    visited: HashSet<(&'static str, String)>,
    after: Vec<AfterCommit>,
}

impl Deleting<'_> {
    /// Whether the user may read every row of `source`: only then may an
    /// answer speak of its rows.
    fn sees_all(&self, source: &Served) -> bool {
        let user = self.touch.user;
        user.0.can_read(source.meta.feature) && source.rows.read_filter(user).is_none()
    }

    /// The 409 of a row referenced by rows the user may not see.
    fn unseen(meta: &ModuleMeta, id: &Value) -> Error {
        Error::InUse(format!(
            "{} {} is referenced by rows you cannot see; it cannot be deleted",
            meta.entity,
            value_text(id)
        ))
    }

    /// Frees the row `id` of `meta` from what references it.
    fn release<'b>(
        &'b mut self,
        change: &'b mut Change,
        meta: &'static ModuleMeta,
        id: &'b Value,
    ) -> futures_util::future::BoxFuture<'b, Result<(), Error>> {
        Box::pin(async move {
            // Every restriction first: nothing changes when one holds.
            for link in self.relations.links_to(meta.module) {
                if link.on_delete == OnDelete::Restrict {
                    self.check_restrict(change.tx(), &link, meta, id).await?;
                }
            }
            for link in self.relations.links_to(meta.module) {
                if link.on_delete != OnDelete::Restrict {
                    self.follow(change, &link, meta, id).await?;
                }
            }
            Ok(())
        })
    }

    /// A 409 while `link` holds a row that references `id`.
    async fn check_restrict(
        &self,
        tx: &mut Tx,
        link: &Link<'_>,
        meta: &ModuleMeta,
        id: &Value,
    ) -> Result<(), Error> {
        let count = count_referencing(self.touch.db, tx, link, id).await?;
        if count == 0 {
            return Ok(());
        }
        if !self.sees_all(link.source) {
            return Err(Self::unseen(meta, id));
        }
        let (rows, them) = if count == 1 {
            ("1 row".to_owned(), "it")
        } else {
            (format!("{count} rows"), "them")
        };
        Err(Error::InUse(format!(
            "{} {} is referenced by {rows} of {} (`{}`); change or delete {them} first",
            meta.entity,
            value_text(id),
            link.source.meta.module,
            link.field.wire_name,
        )))
    }

    /// Deletes or empties the rows `link` holds that reference `id`.
    async fn follow(
        &mut self,
        change: &mut Change,
        link: &Link<'_>,
        meta: &'static ModuleMeta,
        id: &Value,
    ) -> Result<(), Error> {
        let most = self.cap.saturating_sub(self.touched) + 1;
        let rows = referencing_rows(self.touch.db, change.tx(), link, id, most).await?;
        if rows.is_empty() {
            return Ok(());
        }
        self.may_touch(link, meta, id, &rows)?;
        let source = link.source.meta;
        for row in rows {
            let row_id = row
                .get(source.id_field().wire_name)
                .cloned()
                .unwrap_or(Value::Null);
            // A row being deleted is not reached again (a cycle of cascades
            // ends); one changed may be changed again through another field,
            // or deleted after.
            let key = (source.module, row_id.to_string());
            let deleting = link.on_delete == OnDelete::Cascade && !link.many;
            if self.visited.contains(&key) || (deleting && !self.visited.insert(key)) {
                continue;
            }
            let after = match link.on_delete {
                _ if link.many => {
                    let rows = &link.source.rows;
                    rows.unlink(self.touch, change, &row_id, link.field, id)
                        .await?
                }
                OnDelete::Cascade => {
                    self.release(change, source, &row_id).await?;
                    link.source.rows.delete(self.touch, change, &row_id).await?
                }
                _ => {
                    let rows = &link.source.rows;
                    rows.empty(self.touch, change, &row_id, link.field).await?
                }
            };
            self.after.extend(after);
        }
        Ok(())
    }

    /// Refuses to touch `rows` (of `link`'s module, referencing `id`) that
    /// the user may not change or read, or more than the cap in all.
    fn may_touch(
        &mut self,
        link: &Link<'_>,
        meta: &ModuleMeta,
        id: &Value,
        rows: &[Map<String, Value>],
    ) -> Result<(), Error> {
        let (user, source) = (self.touch.user, link.source.meta);
        let filter = link.source.rows.read_filter(user);
        let readable = user.0.can_read(source.feature)
            && filter.is_none_or(|filter| rows.iter().all(|row| filter.allows(row)));
        if !readable {
            return Err(Self::unseen(meta, id));
        }
        if !user.0.can_write(source.feature) {
            return Err(Error::Forbidden(format!(
                "deleting {} {} changes {} of {} (`{}`), which you may not change",
                meta.entity,
                value_text(id),
                if rows.len() == 1 {
                    "1 row".to_owned()
                } else {
                    format!("{} rows", rows.len())
                },
                source.module,
                link.field.wire_name
            )));
        }
        self.touched += rows.len();
        if self.touched > self.cap {
            return Err(Error::InUse(format!(
                "deleting {} {} would change more than {} rows of other modules, the most one \
                 delete may; change or delete some of them first",
                meta.entity,
                value_text(id),
                self.cap
            )));
        }
        Ok(())
    }
}

async fn count_referencing(
    db: &Db,
    tx: &mut Tx,
    link: &Link<'_>,
    id: &Value,
) -> Result<i64, Error> {
    let sql = format!(
        "SELECT COUNT(*) FROM {} WHERE {} = {}",
        db.ident(link.source.meta.module),
        db.ident(link.field.name),
        db.param(1)
    );
    let query = db.bind(sqlx::query(&sql), link.field, Some(id));
    let row = query.fetch_one(&mut **tx).await?;
    Ok(sqlx::Row::try_get::<i64, _>(&row, 0)?)
}

/// The rows `link` holds that reference (or list) `id`, `most` at most.
async fn referencing_rows(
    db: &Db,
    tx: &mut Tx,
    link: &Link<'_>,
    id: &Value,
    most: usize,
) -> Result<Vec<Map<String, Value>>, Error> {
    let meta = link.source.meta;
    let matching = if link.many {
        // A list's links are looked up in its link table, by the linked id.
        format!(
            "{} IN (SELECT {} FROM {} WHERE {} = {})",
            db.ident(meta.id_field().name),
            db.ident(crate::query::LINK_ROW),
            db.ident(&crate::query::LinkTable::of(meta, link.field).table),
            db.ident(crate::query::LINK_TARGET),
            db.param(1)
        )
    } else {
        format!("{} = {}", db.ident(link.field.name), db.param(1))
    };
    let sql = format!(
        "SELECT {} FROM {} WHERE {matching} ORDER BY {} LIMIT {}",
        db.column_list(meta),
        db.ident(meta.module),
        db.ident(meta.id_field().name),
        db.param(2)
    );
    let query = if link.many {
        crate::links::bind_id(sqlx::query(&sql), id)
    } else {
        db.bind(sqlx::query(&sql), link.field, Some(id))
    };
    let query = query.bind(i64::try_from(most).unwrap_or(i64::MAX));
    let rows = query.fetch_all(&mut **tx).await?;
    rows.iter().map(|row| db.read_row(row, meta)).collect()
}
