//! The frames the hub reads and writes: parsing a client's, making and
//! sending the server's (a resync counted once sent).

use std::time::Duration;

use axum::extract::ws::{Message, Utf8Bytes};
use futures_util::SinkExt;

use super::shard::Shared;
use super::{End, Sink};
use crate::protocol::{ClientMessage, ErrorCode, ResyncReason, ServerMessage};

/// A client frame, or what is wrong with it.
pub(super) fn parse(text: &str) -> Result<ClientMessage, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("the frame is not JSON: {e}"))?;
    let kind = value
        .get("type")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    serde_json::from_value(value).map_err(|e| match kind {
        Some(kind) => format!("bad `{kind}` frame: {e}"),
        None => "a frame needs a string `type`: auth, subscribe, unsubscribe or ping".to_owned(),
    })
}

pub(super) fn subscribed(feature: &str, seq: u64, recovered: bool) -> ServerMessage {
    ServerMessage::Subscribed {
        feature: feature.to_owned(),
        seq,
        recovered,
    }
}

/// Tells a subscriber to reload `feature`, and counts it once sent.
pub(super) async fn send_resync(
    sink: &mut Sink,
    feature: &str,
    reason: ResyncReason,
) -> Result<(), End> {
    let message = ServerMessage::Resync {
        feature: feature.to_owned(),
        reason,
    };
    send(sink, &message).await?;
    crate::metrics::resync(match reason {
        ResyncReason::Gap => "gap",
        ResyncReason::Lagging => "lagging",
    });
    Ok(())
}

pub(super) fn error_frame(
    code: ErrorCode,
    message: &str,
    feature: Option<String>,
) -> ServerMessage {
    ServerMessage::Error {
        code,
        message: message.to_owned(),
        feature,
    }
}

pub(super) async fn send(sink: &mut Sink, message: &ServerMessage) -> Result<(), End> {
    let text = serde_json::to_string(message).map_err(|_| End::Gone)?;
    sink.send(Message::Text(Utf8Bytes::from(text))).await
}

/// Queues a frame, to be written by the next flush (or send).
pub(super) async fn feed_frame(sink: &mut Sink, frame: &Utf8Bytes) -> Result<(), End> {
    sink.feed(Message::Text(frame.clone())).await
}

/// A connection's socket, as its own task writes to it: every write has a
/// deadline ([`Limits::socket_write_timeout`]), past which the client,
/// which took nothing for that long, is taken as gone and its connection
/// ends, so a client that stops reading holds nothing for long.
///
/// [`Limits::socket_write_timeout`]: crate::Limits::socket_write_timeout
pub(super) struct Writer {
    sink: Shared,
    timeout: Duration,
}

impl Writer {
    pub(super) fn new(sink: Shared, timeout: Duration) -> Self {
        Writer { sink, timeout }
    }

    async fn within<F: Future<Output = Result<(), axum::Error>>>(
        timeout: Duration,
        write: F,
    ) -> Result<(), End> {
        match tokio::time::timeout(timeout, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) | Err(_) => Err(End::Gone),
        }
    }

    /// Writes `message` at once.
    pub(super) async fn send(&mut self, message: Message) -> Result<(), End> {
        Self::within(self.timeout, self.sink.send(message)).await
    }

    /// Queues `message`, for the next flush or send.
    pub(super) async fn feed(&mut self, message: Message) -> Result<(), End> {
        Self::within(self.timeout, self.sink.feed(message)).await
    }

    /// Writes what is queued.
    pub(super) async fn flush(&mut self) -> Result<(), End> {
        Self::within(self.timeout, self.sink.flush()).await
    }

    /// Closes the socket, within the deadline.
    pub(super) async fn close(&mut self) {
        let _ = Self::within(self.timeout, self.sink.close()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_explains_what_is_wrong() {
        assert!(parse("{").unwrap_err().starts_with("the frame is not JSON"));
        assert!(parse("{}").unwrap_err().contains("needs a string `type`"));
        assert!(
            parse(r#"{"type":"shout"}"#)
                .unwrap_err()
                .starts_with("bad `shout` frame")
        );
        assert!(
            parse(r#"{"type":"subscribe"}"#)
                .unwrap_err()
                .contains("missing field `features`")
        );
        assert_eq!(parse(r#"{"type":"ping"}"#).unwrap(), ClientMessage::Ping);
    }
}
