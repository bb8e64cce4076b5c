//! Where a file's bytes are: in the database (the default: one more table,
//! nothing else to run, shared by every instance), in chunks of
//! [`CHUNK_BYTES`] written and read one at a time, so no file is ever
//! whole in memory; or on an S3-compatible store through `object_store`,
//! one object per content under `<prefix>/<sha256>`.

use std::io::SeekFrom;
use std::sync::Arc;

use axum::body::Bytes;
use futures_util::stream::{BoxStream, StreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use sqlx::Row;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::{Files, Stored};
use crate::error::Error;
use crate::store::{Db, Tx};

/// The bytes of one chunk row, and of a read from the temporary file.
pub(crate) const CHUNK_BYTES: usize = 1024 * 1024;

/// An S3 multipart upload's part (S3 takes none smaller but the last).
const PART_BYTES: usize = 8 * 1024 * 1024;

/// Where files are stored.
#[derive(Clone, Debug)]
pub enum FileStore {
    /// In the database, in `aegis_file_chunks`.
    Database,
    /// On an object store, each content under `prefix`.
    Objects {
        store: Arc<dyn ObjectStore>,
        prefix: ObjectPath,
    },
}

impl FileStore {
    /// The store an `s3://bucket/prefix` URL names, configured by the
    /// usual AWS variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_REGION`, `AWS_ENDPOINT_URL` for a store other than AWS's,
    /// `AWS_ALLOW_HTTP`).
    pub fn s3(url: &str) -> Result<FileStore, Error> {
        let parsed = url::Url::parse(url)
            .map_err(|e| Error::BadRequest(format!("`{url}` is not a URL: {e}")))?;
        if parsed.scheme() != "s3" || parsed.host_str().is_none_or(str::is_empty) {
            return Err(Error::BadRequest(format!(
                "`{url}` is not an S3 URL; write s3://<bucket>/<prefix>"
            )));
        }
        let store = object_store::aws::AmazonS3Builder::from_env()
            .with_url(url)
            .with_http_connector(super::http::Connector)
            .build()
            .map_err(|e| Error::BadRequest(format!("cannot use `{url}` for files: {e}")))?;
        let prefix = ObjectPath::parse(parsed.path().trim_matches('/'))
            .map_err(|e| Error::BadRequest(format!("`{url}` has a bad prefix: {e}")))?;
        Ok(FileStore::Objects {
            store: Arc::new(store),
            prefix,
        })
    }

    /// `database`, or an `s3://` URL ([`FileStore::s3`]).
    pub fn parse(text: &str) -> Result<FileStore, Error> {
        match text {
            "database" | "db" => Ok(FileStore::Database),
            url => FileStore::s3(url),
        }
    }

    pub(crate) fn path(prefix: &ObjectPath, id: &str) -> ObjectPath {
        prefix.clone().join(id)
    }
}

/// An upload, received whole: its temporary file and what was found.
#[derive(Debug)]
pub(crate) struct Received {
    /// Read back a chunk at a time by tokio, off the async threads.
    pub(crate) file: tokio::fs::File,
    pub(crate) id: String,
    pub(crate) size: u64,
    pub(crate) content_type: String,
}

fn kept(error: std::io::Error) -> Error {
    Error::Internal(format!("cannot read the upload back: {error}"))
}

fn object_error(error: object_store::Error) -> Error {
    match error {
        // A record without its object: a store emptied behind Aegis's back.
        object_store::Error::NotFound { path, .. } => {
            Error::Internal(format!("the file store has no `{path}`"))
        }
        error => Error::Unavailable(format!("the file store did not answer: {error}")),
    }
}

/// Stores `received` (once per content: a content stored already is only
/// marked uploaded now, so the collector leaves it its grace).
pub(crate) async fn put(files: &Files, received: Received) -> Result<(), Error> {
    let db = files.db();
    let store = files.store();
    let objects = matches!(store, FileStore::Objects { .. });
    // A concurrent first upload of the same content may win the insert:
    // then the second try finds it.
    let mut received = received;
    for attempt in 0.. {
        let mut tx = db.begin().await?;
        if touch(db, &mut tx, &received.id).await? {
            tx.commit().await?;
            break;
        }
        match insert(db, &mut tx, &mut received, objects).await {
            Ok(()) => {
                tx.commit().await?;
                break;
            }
            Err(Error::Database(_)) if attempt == 0 => continue,
            Err(error) => return Err(error),
        }
    }
    if let FileStore::Objects { store, prefix } = store {
        upload(
            &*store,
            &FileStore::path(&prefix, &received.id),
            received.file,
        )
        .await?;
    }
    Ok(())
}

/// Marks a stored content uploaded now; `false` if it is not stored.
async fn touch(db: &Db, tx: &mut Tx, id: &str) -> Result<bool, Error> {
    let sql = format!(
        "UPDATE aegis_files SET uploaded_ms = {} WHERE id = {}",
        db.param(1),
        db.param(2)
    );
    let touched = sqlx::query(&sql)
        .bind(chrono::Utc::now().timestamp_millis())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(touched.rows_affected() > 0)
}

/// The record of a new content and, in the database, its chunks.
async fn insert(db: &Db, tx: &mut Tx, received: &mut Received, objects: bool) -> Result<(), Error> {
    let chunks = if objects {
        0
    } else {
        received.size.div_ceil(CHUNK_BYTES as u64)
    };
    let sql = format!(
        "INSERT INTO aegis_files (id, size, content_type, chunks, uploaded_ms) VALUES ({})",
        (1..=5).map(|n| db.param(n)).collect::<Vec<_>>().join(", ")
    );
    sqlx::query(&sql)
        .bind(received.id.as_str())
        .bind(received.size as i64)
        .bind(received.content_type.as_str())
        .bind(chunks as i64)
        .bind(chrono::Utc::now().timestamp_millis())
        .execute(&mut **tx)
        .await?;
    if objects {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO aegis_file_chunks (file_id, n, data) VALUES ({}, {}, {})",
        db.param(1),
        db.param(2),
        db.param(3)
    );
    received.file.seek(SeekFrom::Start(0)).await.map_err(kept)?;
    for n in 0..chunks {
        let chunk = read_chunk(&mut received.file, CHUNK_BYTES).await?;
        sqlx::query(&sql)
            .bind(received.id.as_str())
            .bind(n as i64)
            .bind(chunk)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Up to `most` bytes of `file`, from where it is.
async fn read_chunk(file: &mut tokio::fs::File, most: usize) -> Result<Vec<u8>, Error> {
    let mut chunk = Vec::with_capacity(most);
    AsyncReadExt::take(&mut *file, most as u64)
        .read_to_end(&mut chunk)
        .await
        .map_err(kept)?;
    Ok(chunk)
}

/// Writes the temporary file to the object store: in one request when
/// small, else in parts, at most two in flight.
async fn upload(
    store: &dyn ObjectStore,
    path: &ObjectPath,
    mut file: tokio::fs::File,
) -> Result<(), Error> {
    file.seek(SeekFrom::Start(0)).await.map_err(kept)?;
    let first = read_chunk(&mut file, PART_BYTES).await?;
    if first.len() < PART_BYTES {
        store
            .put(path, PutPayload::from(first))
            .await
            .map_err(object_error)?;
        return Ok(());
    }
    let multipart = store.put_multipart(path).await.map_err(object_error)?;
    let mut writer = WriteMultipart::new_with_chunk_size(multipart, PART_BYTES);
    let mut part = first;
    while !part.is_empty() {
        writer.wait_for_capacity(2).await.map_err(object_error)?;
        writer.put(Bytes::from(part));
        part = read_chunk(&mut file, PART_BYTES).await?;
    }
    writer.finish().await.map_err(object_error)?;
    Ok(())
}

/// The bytes of a stored file, as a stream read a chunk at a time.
pub(crate) async fn open(
    files: &Files,
    id: &str,
    stored: &Stored,
) -> Result<BoxStream<'static, Result<Bytes, std::io::Error>>, Error> {
    match files.store() {
        FileStore::Objects { store, prefix } => {
            let got = store
                .get(&FileStore::path(&prefix, id))
                .await
                .map_err(object_error)?;
            Ok(got
                .into_stream()
                .map(|chunk| chunk.map_err(std::io::Error::other))
                .boxed())
        }
        FileStore::Database => Ok(chunks(files.db().clone(), id.to_owned(), stored.chunks)),
    }
}

/// The chunks of file `id`, each read by its own statement when the
/// client is ready for it, so a slow download holds no connection.
fn chunks(db: Db, id: String, count: u64) -> BoxStream<'static, Result<Bytes, std::io::Error>> {
    let sql = format!(
        "SELECT data FROM aegis_file_chunks WHERE file_id = {} AND n = {}",
        db.param(1),
        db.param(2)
    );
    futures_util::stream::iter(0..count)
        .then(move |n| {
            let (db, id, sql) = (db.clone(), id.clone(), sql.clone());
            async move {
                let row = sqlx::query(&sql)
                    .bind(id)
                    .bind(n as i64)
                    .fetch_one(db.read_pool())
                    .await
                    .map_err(std::io::Error::other)?;
                let data: Vec<u8> = row.try_get(0).map_err(std::io::Error::other)?;
                Ok(Bytes::from(data))
            }
        })
        .boxed()
}
