//! Events across instances sharing one PostgreSQL database.
//!
//! Each instance publishes its own events on its bus at commit, as on one
//! instance. The commit also delivers a `NOTIFY` on [`CHANNEL`], sent in the
//! same transaction (so only a committed change is announced, and
//! announcements arrive in commit order, which per feature is seq order).
//! Its payload names the instance, the feature and the seq, and no more:
//! any role that can connect may notify, so a notification is a hint to
//! read the event log, never an event. The log records which instance
//! wrote each event.
//!
//! Every instance runs a relay that LISTENs and publishes the other
//! instances' events on its own bus, read from the table: on a
//! notification naming another instance and a feature the table has,
//! the events after its mark (the last seq it has seen); its own events,
//! published at their commit, are passed over. A notification naming this
//! instance, a feature the table does not have, or a seq the table does
//! not hold moves nothing. Whenever it (re)connects — after LISTEN, so
//! nothing committed in between is missed — and every
//! [`Limits::relay_sweep`], it compares each feature's seq in the table
//! with that mark and publishes any difference: a notification lost with
//! its connection (PostgreSQL restarted, a network cut) loses no event.
//! The bus may then carry an event twice or late; each WebSocket
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
use crate::log::{EventBus, StoredEvent};
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
            tracing::debug!(payload, "event relay: ignoring a malformed notification");
            return Ok(());
        };
        // This instance published its own events at their commit; one
        // that says it is this instance is no news, or forged.
        if notice.instance == self.db.instance() {
            return Ok(());
        }
        if !self.marks().contains_key(notice.feature) && !self.has(notice.feature).await? {
            return Ok(());
        }
        self.advance(notice.feature, notice.seq).await
    }

    /// Whether the table has `feature`; if so, it is followed from its
    /// first event (it was made after the relay started).
    async fn has(&mut self, feature: &str) -> Result<bool, Error> {
        let found = sqlx::query("SELECT 1 FROM aegis_features WHERE feature = $1")
            .bind(feature)
            .fetch_optional(self.db.pool())
            .await?
            .is_some();
        if found {
            self.marks().insert(feature.to_owned(), 0);
        }
        Ok(found)
    }

    /// Publishes `feature`'s events of other instances after its mark, up
    /// to `seq` at least (what the table holds of it) and what follows.
    async fn advance(&mut self, feature: &str, seq: u64) -> Result<(), Error> {
        // A feature created after the relay started began at 0.
        let mut mark = self.marks().get(feature).copied().unwrap_or(0);
        while mark < seq {
            let rows = others_events(&self.db, feature, mark, CHUNK).await?;
            let Some(last) = rows.last().map(|(seq, _)| *seq) else {
                break;
            };
            let complete = rows.len() as u64 == CHUNK;
            for event in rows.into_iter().filter_map(|(_, event)| event) {
                crate::metrics::relayed(event.message.meta.timestamp, "table");
                self.bus.publish(event);
            }
            mark = last;
            self.marks().insert(feature.to_owned(), mark);
            if !complete {
                break;
            }
        }
        Ok(())
    }
}

/// The events of `feature` after `since`, in order, at most `limit`, each
/// with its seq: those another instance wrote, or `None` for this one's
/// (published at their commit), read without their frames.
async fn others_events(
    db: &Db,
    feature: &str,
    since: u64,
    limit: u64,
) -> Result<Vec<(u64, Option<Arc<StoredEvent>>)>, Error> {
    let rows = sqlx::query(
        "SELECT seq, CASE WHEN instance = $2 THEN NULL ELSE frame END, scope \
         FROM aegis_events WHERE feature = $1 AND seq > $3 ORDER BY seq LIMIT $4",
    )
    .bind(feature)
    .bind(db.instance())
    .bind(since as i64)
    .bind(limit as i64)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let seq = row.try_get::<i64, _>(0)? as u64;
            let Some(frame) = row.try_get::<Option<String>, _>(1)? else {
                return Ok((seq, None));
            };
            let scope: Option<String> = row.try_get(2)?;
            let event = crate::log::stored_event(feature, &frame, scope)?;
            Ok((seq, Some(Arc::new(event))))
        })
        .collect()
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
