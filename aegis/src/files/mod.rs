//! Files: fields of type [`crate::File`].
//!
//! A file is uploaded on its own (`POST /api/<feature>/files/<field>`,
//! `crate::file_routes`): the body is streamed to a temporary file while its SHA-256
//! is taken and its length counted (refused one byte past the field's
//! `max_bytes`), its type is read from its first bytes ([`sniff`]; the
//! client's word is never taken), and the content is stored once under
//! its hash, in the database or on an S3-compatible store ([`content`]).
//! The answer, a [`StoredFile`], is what a row then holds; a row's write
//! checks that what it holds was stored so ([`refs`]) and records, in the
//! row's transaction, that the row refers to it (`aegis_file_refs`).
//!
//! A file no row refers to goes: once its upload is older than
//! [`Limits::file_grace`] (so a form has time to save what it uploaded),
//! the next collection deletes it ([`collect`]): after a change that
//! dropped a reference has committed, and every
//! [`Limits::prune_interval`] in any case, so a crash anywhere leaves
//! nothing that is never collected.
//!
//! [`Limits::file_grace`]: crate::Limits::file_grace
//! [`Limits::prune_interval`]: crate::Limits::prune_interval

use std::sync::{Arc, RwLock};

use aegis_protocol::StoredFile;

use crate::entity::{FieldMeta, ModuleMeta};
use crate::error::Error;
use crate::store::Db;

pub(crate) mod collect;
pub(crate) mod content;
mod http;
pub(crate) mod refs;
pub(crate) mod sniff;

pub use content::FileStore;

/// The file fields of `meta`.
pub(crate) fn fields(meta: &ModuleMeta) -> impl Iterator<Item = &'static FieldMeta> + '_ {
    meta.fields.iter().filter(|f| f.file.is_some())
}

/// The files of a runtime: the database, and where their bytes are.
/// Cheap to clone.
#[derive(Clone, Debug)]
pub struct Files {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    db: Db,
    store: RwLock<FileStore>,
}

impl Files {
    pub(crate) fn new(db: Db) -> Self {
        Files {
            shared: Arc::new(Shared {
                db,
                store: RwLock::new(FileStore::Database),
            }),
        }
    }

    pub(crate) fn db(&self) -> &Db {
        &self.shared.db
    }

    /// Where the bytes are kept.
    pub fn store(&self) -> FileStore {
        self.shared
            .store
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn set_store(&self, store: FileStore) {
        *self.shared.store.write().unwrap_or_else(|e| e.into_inner()) = store;
    }
}

/// What `aegis_files` says of a stored content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Stored {
    pub(crate) size: u64,
    pub(crate) content_type: String,
    pub(crate) chunks: u64,
}

/// The record of file `id`, if it is stored.
pub(crate) async fn stored<'e, E>(db: &Db, executor: E, id: &str) -> Result<Option<Stored>, Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    use sqlx::Row;
    let sql = format!(
        "SELECT size, content_type, chunks FROM aegis_files WHERE id = {}",
        db.param(1)
    );
    let Some(row) = sqlx::query(&sql).bind(id).fetch_optional(executor).await? else {
        return Ok(None);
    };
    Ok(Some(Stored {
        size: row.try_get::<i64, _>(0)? as u64,
        content_type: row.try_get(1)?,
        chunks: row.try_get::<i64, _>(2)? as u64,
    }))
}

/// A file value as a row holds it, if it is one.
pub(crate) fn parse(value: &serde_json::Value) -> Option<StoredFile> {
    serde_json::from_value(value.clone()).ok()
}
