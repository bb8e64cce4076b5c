//! Events across instances sharing one PostgreSQL database.
//!
//! Each instance publishes its own events on its bus at commit, as on one
//! instance. The commit also delivers a `NOTIFY` on [`CHANNEL`], sent in the
//! same transaction (so only a committed change is announced, and
//! announcements arrive in commit order, which per feature is seq order).
//! Its payload names the instance, the feature and the seq, and carries the
//! event's frame when it fits; a larger event is announced without it, so
//! no event is too large for NOTIFY's 8000-byte payload.
//!
//! Every instance runs a relay that LISTENs and publishes the other
//! instances' events on its own bus: the next one straight from the
//! payload, any other (too large, or after a gap) read from the table. It keeps,
//! per feature, the last seq it has seen published. Whenever it
//! (re)connects — after LISTEN, so nothing committed in between is missed —
//! and every [`Limits::relay_sweep`], it compares each feature's seq in the
//! table with that mark and publishes any difference: a notification lost
//! with its connection (PostgreSQL restarted, a network cut) loses no
//! event. The bus may then carry an event twice or late; each WebSocket
//! connection drops what it has sent already and fills gaps from the
//! table, so its clients still get every event once, in order.
//!
//! [`Limits::relay_sweep`]: crate::Limits::relay_sweep

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Row;
use sqlx::postgres::PgListener;
use tokio::sync::{mpsc, watch};
use tokio_util::task::AbortOnDropHandle;

use crate::error::Error;
use crate::log::{EventBus, StoredEvent, replay};
use crate::notice::{CHANNEL, parse};
use crate::store::Db;

/// Events read from the table per query while catching up.
const CHUNK: u64 = 1000;

/// The first and the longest wait before reconnecting.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));

/// Starts the relay of `db`'s instance; it stops when the handle drops.
/// The receiver turns `true` once it listens.
pub(crate) fn spawn(
    db: Db,
    bus: EventBus,
    sweep: Duration,
) -> (AbortOnDropHandle<()>, watch::Receiver<bool>) {
    let (ready, listening) = watch::channel(false);
    let task = AbortOnDropHandle::new(tokio::spawn(run(db, bus, sweep, ready)));
    (task, listening)
}

/// What the listening task hears.
enum Heard {
    Notice(String),
    Lost(String),
}

struct Relay {
    db: Db,
    bus: EventBus,
    /// Per feature, the last seq published on this instance's bus; `None`
    /// until the first connection.
    marks: Option<HashMap<String, u64>>,
    /// Set once the relay listens: events committed from then on reach
    /// this instance's bus.
    ready: watch::Sender<bool>,
}

async fn run(db: Db, bus: EventBus, sweep: Duration, ready: watch::Sender<bool>) {
    let mut relay = Relay {
        db,
        bus,
        marks: None,
        ready,
    };
    let mut backoff = BACKOFF.0;
    loop {
        let Err(error) = relay.session(sweep, &mut backoff).await;
        tracing::warn!(%error, "event relay: lost PostgreSQL; reconnecting");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF.1);
    }
}

impl Relay {
    /// One connection's life: LISTEN, catch up, then follow notifications
    /// and sweep, until something fails.
    async fn session(
        &mut self,
        sweep: Duration,
        backoff: &mut Duration,
    ) -> Result<Infallible, Error> {
        let mut listener = PgListener::connect(self.db.url()).await?;
        listener.listen(CHANNEL).await?;
        let (sender, mut heard) = mpsc::channel(1024);
        // Receiving is not cancel-safe, so it has a task of its own and
        // the loop below selects on a channel, which is.
        let _listening = AbortOnDropHandle::new(tokio::spawn(listen(listener, sender)));
        if self.marks.is_some() {
            self.catch_up().await?;
        } else {
            // The first time, what the table holds now is history (a
            // client asks for it with `since`); what commits from now on
            // is announced.
            self.marks = Some(self.features().await?.into_iter().collect());
            self.ready.send_replace(true);
        }
        *backoff = BACKOFF.0;
        let mut ticks = tokio::time::interval(sweep);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            tokio::select! {
                notice = heard.recv() => match notice {
                    Some(Heard::Notice(payload)) => self.notified(&payload).await?,
                    Some(Heard::Lost(reason)) => return Err(Error::Internal(reason)),
                    None => return Err(Error::Internal("the listener stopped".to_owned())),
                },
                _ = ticks.tick() => self.catch_up().await?,
            }
        }
    }

    /// Every feature and its last seq, from the table.
    async fn features(&self) -> Result<Vec<(String, u64)>, Error> {
        let rows = sqlx::query("SELECT feature, seq FROM aegis_features")
            .fetch_all(self.db.pool())
            .await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get::<i64, _>(1)? as u64)))
            .collect()
    }

    fn marks(&mut self) -> &mut HashMap<String, u64> {
        self.marks.get_or_insert_default()
    }

    /// Publishes whatever the table holds beyond the marks.
    async fn catch_up(&mut self) -> Result<(), Error> {
        for (feature, seq) in self.features().await? {
            self.advance(&feature, seq).await?;
        }
        Ok(())
    }

    async fn notified(&mut self, payload: &str) -> Result<(), Error> {
        let Some(notice) = parse(payload) else {
            tracing::warn!(payload, "event relay: ignoring a malformed notification");
            return Ok(());
        };
        let mark = self.marks().get(notice.feature).copied().unwrap_or(0);
        if notice.instance == self.db.instance() {
            // Published at its commit; everything before it was announced
            // (and so published) before it.
            self.marks()
                .insert(notice.feature.to_owned(), mark.max(notice.seq));
            return Ok(());
        }
        // The next event, carried whole: no need to read it.
        if notice.seq == mark + 1
            && let Some(event) = notice.frame.and_then(StoredEvent::from_frame)
            && event.feature() == notice.feature
            && event.seq() == notice.seq
        {
            crate::metrics::relayed(event.message.meta.timestamp, "notice");
            self.bus.publish(Arc::new(event));
            self.marks().insert(notice.feature.to_owned(), notice.seq);
            return Ok(());
        }
        self.advance(notice.feature, notice.seq).await
    }

    /// Publishes `feature`'s events after its mark, up to `seq`.
    async fn advance(&mut self, feature: &str, seq: u64) -> Result<(), Error> {
        // A feature created after the relay started began at 0.
        let mut mark = self.marks().get(feature).copied().unwrap_or(0);
        while mark < seq {
            let events = replay(&self.db, feature, mark, (seq - mark).min(CHUNK)).await?;
            let Some(last) = events.last().map(|e| e.seq()) else {
                break;
            };
            for event in events {
                crate::metrics::relayed(event.message.meta.timestamp, "table");
                self.bus.publish(event);
            }
            mark = last;
            self.marks().insert(feature.to_owned(), mark);
        }
        Ok(())
    }
}

/// Forwards notifications until the connection is lost.
async fn listen(mut listener: PgListener, sender: mpsc::Sender<Heard>) {
    loop {
        let heard = match listener.try_recv().await {
            Ok(Some(notification)) => Heard::Notice(notification.payload().to_owned()),
            Ok(None) => Heard::Lost("the LISTEN connection closed".to_owned()),
            Err(error) => Heard::Lost(format!("the LISTEN connection failed: {error}")),
        };
        let lost = matches!(heard, Heard::Lost(_));
        if sender.send(heard).await.is_err() || lost {
            return;
        }
    }
}
