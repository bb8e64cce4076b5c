//! An import's upload: the request's CSV (its body, or the first file of
//! a multipart form) streamed to a temporary file as it arrives, never
//! held in memory, up to [`Limits::import_bytes`]. The file is unlinked
//! from the start and gone with its handle.
//!
//! [`Limits::import_bytes`]: crate::Limits::import_bytes

use std::io::{Seek, SeekFrom};

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use futures_util::{Stream, StreamExt};
use tokio::io::AsyncWriteExt;

use crate::error::Error;

/// A received upload.
#[derive(Debug)]
pub(super) struct Upload {
    file: std::fs::File,
    /// Whether it held nothing but white space.
    pub(super) blank: bool,
}

impl Upload {
    /// The file, read from its start.
    pub(super) fn rewound(&mut self) -> Result<&mut std::fs::File, Error> {
        self.file
            .seek(SeekFrom::Start(0))
            .map_err(|e| Error::Internal(format!("cannot read the upload back: {e}")))?;
        Ok(&mut self.file)
    }

    /// The file, read from its start, to keep.
    pub(super) fn into_file(mut self) -> Result<std::fs::File, Error> {
        self.rewound()?;
        Ok(self.file)
    }
}

/// The size a request says its body has, if it says.
pub(super) fn announced_size(request: &Request) -> Option<u64> {
    request
        .headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// The CSV of a request, in a temporary file: its body, or the first file
/// of a multipart form; 413 past `limit` bytes.
pub(super) async fn receive(request: Request, limit: usize) -> Result<Upload, Error> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let body = request.into_body().into_data_stream();
        return store(body.map(|chunk| chunk.map_err(bad_body)), limit).await;
    }
    let request =
        request.map(|body| axum::body::Body::new(http_body_util::Limited::new(body, limit)));
    let mut form = Multipart::from_request(request, &())
        .await
        .map_err(|e| Error::BadRequest(format!("bad multipart body: {e}")))?;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| multipart_error(e, limit))?
    {
        if field.file_name().is_some() || field.name() == Some("file") {
            let chunks = futures_util::stream::unfold(field, |mut field| async move {
                match field.chunk().await {
                    Ok(Some(chunk)) => Some((Ok(chunk), field)),
                    Ok(None) => None,
                    Err(error) => Some((Err(multipart_error(error, limit)), field)),
                }
            });
            return store(chunks, limit).await;
        }
    }
    Err(Error::BadRequest("the multipart body has no file".into()))
}

fn too_large(limit: usize) -> Error {
    Error::TooLarge(format!("the file is larger than the {limit}-byte limit"))
}

fn bad_body(error: axum::Error) -> Error {
    Error::BadRequest(format!("cannot read the body: {error}"))
}

fn multipart_error(error: axum::extract::multipart::MultipartError, limit: usize) -> Error {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(limit)
    } else {
        Error::BadRequest(format!("bad multipart body: {error}"))
    }
}

/// A new temporary file for an upload, unlinked from the start (an
/// import's CSV, a file field's bytes).
pub(crate) async fn temporary() -> Result<tokio::fs::File, Error> {
    let failed = |e: String| Error::Internal(format!("cannot keep the upload: {e}"));
    let file = tokio::task::spawn_blocking(tempfile::tempfile)
        .await
        .map_err(|e| failed(e.to_string()))?
        .map_err(|e| failed(e.to_string()))?;
    Ok(tokio::fs::File::from_std(file))
}

/// Writes `chunks` to a new temporary file, refusing more than `limit` bytes.
async fn store(
    chunks: impl Stream<Item = Result<Bytes, Error>>,
    limit: usize,
) -> Result<Upload, Error> {
    let failed = |e: std::io::Error| Error::Internal(format!("cannot keep the upload: {e}"));
    let mut file = temporary().await?;
    let (mut written, mut blank) = (0usize, true);
    let mut chunks = std::pin::pin!(chunks);
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk?;
        written += chunk.len();
        if written > limit {
            return Err(too_large(limit));
        }
        blank = blank && chunk.iter().all(u8::is_ascii_whitespace);
        file.write_all(&chunk).await.map_err(failed)?;
    }
    file.flush().await.map_err(failed)?;
    Ok(Upload {
        file: file.into_std().await,
        blank,
    })
}
