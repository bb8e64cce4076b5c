//! A `subscribe` with `since`: the events its client missed, sent from
//! the event log a page at a time after `subscribed`, or a `resync` when
//! the replay would be too long or the log no longer holds it whole.

use std::sync::Arc;

use super::frames::{feed_frame, send, send_resync, subscribed};
use super::shard::visible;
use super::{Connection, End, REPLAY_PAGE, REPLAY_PAGE_BYTES, Sink};
use crate::log::{StoredEvent, replay, replay_size};
use crate::protocol::ResyncReason;

impl Connection {
    /// `subscribed`, and the events after `since` up to `current`, read
    /// and sent a page at a time. A replay longer than
    /// [`Limits::replay_limit`] events or [`Limits::replay_bytes`] bytes,
    /// or one the log no longer holds whole, is a `resync` instead: its
    /// client reloads.
    ///
    /// [`Limits::replay_limit`]: crate::Limits::replay_limit
    /// [`Limits::replay_bytes`]: crate::Limits::replay_bytes
    pub(super) async fn replay(
        &self,
        feature: &str,
        current: u64,
        since: Option<u64>,
        sink: &mut Sink,
    ) -> Result<(), End> {
        let Some(since) = since else {
            return send(sink, &subscribed(feature, current, false)).await;
        };
        let limits = self.aegis.limits();
        let missing = current.saturating_sub(since);
        if since > current || missing > limits.replay_limit {
            send(sink, &subscribed(feature, current, false)).await?;
            return send_resync(sink, feature, ResyncReason::Gap).await;
        }
        let size = || replay_size(self.aegis.db(), feature, since, current);
        let Some((count, bytes)) = self.patiently(feature, size).await else {
            return self.not_now(sink, feature).await;
        };
        let complete = count == missing && bytes <= limits.replay_bytes as u64;
        if !complete {
            send(sink, &subscribed(feature, current, false)).await?;
            return send_resync(sink, feature, ResyncReason::Gap).await;
        }
        if missing == 0 {
            return send(sink, &subscribed(feature, current, true)).await;
        }
        // The first page is read before `subscribed` is sent: a log that
        // cannot be read leaves the feature unsubscribed, as it says.
        // Events a page, by their average size: about REPLAY_PAGE_BYTES.
        let per_page = (REPLAY_PAGE_BYTES * count / bytes.max(1)).clamp(1, REPLAY_PAGE);
        let mut last = since;
        let mut page = self.replay_page(feature, last, current, per_page).await;
        let mut told = false;
        while last < current {
            let Some(events) = page.take() else {
                return self.not_now(sink, feature).await;
            };
            if !told {
                send(sink, &subscribed(feature, current, true)).await?;
                told = true;
            }
            let contiguous =
                !events.is_empty() && events.iter().zip(last + 1..).all(|(e, s)| e.seq() == s);
            if !contiguous {
                // Pruned since it was counted.
                return send_resync(sink, feature, ResyncReason::Gap).await;
            }
            last = events.last().map_or(last, |event| event.seq());
            self.write_replayed(&events, sink).await?;
            if last < current {
                page = self.replay_page(feature, last, current, per_page).await;
            }
        }
        Ok(())
    }

    /// The next page of a replay: the events after `last`, up to `current`.
    async fn replay_page(
        &self,
        feature: &str,
        last: u64,
        current: u64,
        per_page: u64,
    ) -> Option<Vec<Arc<StoredEvent>>> {
        let read = || {
            replay(
                self.aegis.db(),
                feature,
                last,
                (current - last).min(per_page),
            )
        };
        self.patiently(feature, read).await
    }

    /// Writes the events of a replay that its user may read, as one write.
    async fn write_replayed(
        &self,
        events: &[Arc<StoredEvent>],
        sink: &mut Sink,
    ) -> Result<(), End> {
        let visible: Vec<_> = {
            let outbox = self.member.lock();
            events
                .iter()
                .filter(|e| visible(&outbox.read_filters, e))
                .collect()
        };
        for event in visible {
            feed_frame(sink, &event.frame).await?;
            crate::metrics::replayed();
        }
        sink.flush().await
    }
}
