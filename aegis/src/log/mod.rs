//! The event log and the event service.
//!
//! Every change's event is written in the same transaction as the change,
//! with the feature's next `seq` (a counter row updated in that
//! transaction, so seqs are gap-free and increasing per feature, across
//! instances sharing a database), and handed to subscribers only after the
//! commit (on PostgreSQL, the other instances hear of it then too; see
//! [`crate::relay`]). [`Change`] is that service: the CRUD and import routers use it,
//! and hand-written code that changes entities can too.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use sqlx::Row;
use tokio::sync::broadcast;

use crate::entity::CrudEntity;
use crate::error::Error;
use crate::events::{EventContext, deleted_event, entity_event, import_event};
use crate::protocol::{EventAction, EventMessage, ServerMessage};
use crate::store::{Db, Dialect, Tx};

mod read;

pub use read::{current_seq, replay};
pub(crate) use read::{replay_size, stored_event};

/// One committed event: its envelope, and its WebSocket frame serialised
/// once for every receiver (cloning it shares the bytes).
#[derive(Debug, PartialEq)]
pub struct StoredEvent {
    pub message: EventMessage,
    pub frame: Utf8Bytes,
    /// For a `deleted` event, the row as clients saw it: never sent, kept
    /// so that each connection's read filter can tell whether its user
    /// could read the row ([`crate::access`]).
    pub scope: Option<serde_json::Value>,
}

impl StoredEvent {
    /// An event and its frame.
    pub fn new(message: EventMessage) -> Result<Self, Error> {
        let frame = serde_json::to_string(&ServerMessage::Event(message.clone()))
            .map_err(|e| Error::Internal(format!("cannot serialise an event: {e}")))?;
        Ok(StoredEvent {
            message,
            frame: frame.into(),
            scope: None,
        })
    }

    /// An event back from its frame; `None` if the text is not an event frame.
    pub fn from_frame(frame: &str) -> Option<Self> {
        match serde_json::from_str::<ServerMessage>(frame) {
            Ok(ServerMessage::Event(message)) => Some(StoredEvent {
                message,
                frame: frame.into(),
                scope: None,
            }),
            _ => None,
        }
    }

    pub fn feature(&self) -> &str {
        &self.message.feature
    }

    pub fn seq(&self) -> u64 {
        self.message.meta.seq
    }
}

/// Committed events, to every subscriber in this process.
#[derive(Clone, Debug)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<StoredEvent>>,
}

impl EventBus {
    pub fn new(capacity: usize) -> Self {
        EventBus {
            sender: broadcast::channel(capacity).0,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StoredEvent>> {
        self.sender.subscribe()
    }

    pub fn publish(&self, event: Arc<StoredEvent>) {
        // No receiver is not an error: nobody is listening.
        let _ = self.sender.send(event);
    }
}

/// Writes an event in `tx` with the feature's next seq.
async fn append(
    db: &Db,
    tx: &mut Tx,
    message: impl FnOnce(u64) -> EventMessage,
    feature: &str,
    scope: Option<serde_json::Value>,
    reserved: Option<u64>,
) -> Result<Arc<StoredEvent>, Error> {
    let seq = match reserved {
        Some(seq) => seq,
        None => take_seqs(db, tx, feature, 1).await?,
    };
    let mut event = StoredEvent::new(message(seq))?;
    event.scope = scope;
    let event = Arc::new(event);
    write(db, tx, feature, std::slice::from_ref(&event)).await?;
    Ok(event)
}

/// The first of the feature's next `count` seqs, taken.
async fn take_seqs(db: &Db, tx: &mut Tx, feature: &str, count: usize) -> Result<u64, Error> {
    let bump = format!(
        "UPDATE aegis_features SET seq = seq + {n} WHERE feature = {} RETURNING seq - {n} + 1",
        db.param(2),
        n = db.param(1),
    );
    let row = sqlx::query(&bump)
        .bind(count as i64)
        .bind(feature)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| no_table(feature))?;
    Ok(row.try_get::<i64, _>(0)? as u64)
}

/// Events one statement writes at most.
const EVENTS_PER_INSERT: usize = 100;

/// Writes `events` of `feature` to the log, many to a statement. On
/// PostgreSQL the same round trip announces each to the other instances,
/// at commit and in this order.
async fn write(
    db: &Db,
    tx: &mut Tx,
    feature: &str,
    events: &[Arc<StoredEvent>],
) -> Result<(), Error> {
    const COLUMNS: usize = 6;
    for chunk in events.chunks(EVENTS_PER_INSERT) {
        let insert = format!(
            "INSERT INTO aegis_events (feature, seq, frame, created_at, scope, instance) \
             VALUES {}",
            db.values_rows(chunk.len(), COLUMNS)
        );
        let sql = match db.dialect() {
            Dialect::Sqlite => insert,
            Dialect::Postgres => {
                let channel = chunk.len() * COLUMNS + 1;
                let notices: Vec<String> = (0..chunk.len())
                    .map(|n| format!("(${}, {n})", channel + 1 + n))
                    .collect();
                format!(
                    "WITH event AS ({insert}) SELECT pg_notify(${channel}, notice.payload) \
                     FROM (VALUES {}) AS notice (payload, n) ORDER BY notice.n",
                    notices.join(", ")
                )
            }
        };
        let mut query = sqlx::query(&sql);
        for event in chunk {
            query = query
                .bind(feature)
                .bind(event.seq() as i64)
                .bind(event.frame.as_str().to_owned())
                .bind(timestamp_text(event.message.meta.timestamp))
                .bind(event.scope.as_ref().map(serde_json::Value::to_string))
                .bind(db.instance());
        }
        if db.dialect() == Dialect::Postgres {
            query = query.bind(crate::notice::CHANNEL);
            for event in chunk {
                query = query.bind(crate::notice::payload(db.instance(), feature, event.seq()));
            }
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// The error for a feature whose counter row is missing.
pub(crate) fn no_table(feature: &str) -> Error {
    Error::Internal(format!(
        "feature `{feature}` has no table; install it first"
    ))
}

/// A time as Aegis stores it in its own tables: RFC 3339 in UTC with a
/// fixed number of digits, so text order is time order.
pub(crate) fn timestamp_text(time: chrono::DateTime<chrono::Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A change in progress: a transaction, and the events it will publish
/// once committed. Dropped without [`Change::commit`], it rolls back and
/// publishes nothing.
#[derive(Debug)]
pub struct Change {
    db: Db,
    bus: EventBus,
    tx: Tx,
    events: Vec<Arc<StoredEvent>>,
}

impl Change {
    /// A transaction on `db` whose events `bus` publishes once committed.
    pub(crate) async fn begin(db: &Db, bus: &EventBus) -> Result<Change, Error> {
        Ok(Change {
            db: db.clone(),
            bus: bus.clone(),
            tx: db.begin().await?,
            events: Vec::new(),
        })
    }

    /// The transaction, for the change itself.
    pub fn tx(&mut self) -> &mut Tx {
        &mut self.tx
    }

    async fn record(
        &mut self,
        feature: &str,
        build: impl FnOnce(&EventContext) -> EventMessage,
        user: &str,
        origin: Option<&str>,
        scope: Option<serde_json::Value>,
        reserved: Option<u64>,
    ) -> Result<u64, Error> {
        let event = append(
            &self.db,
            &mut self.tx,
            |seq| build(&EventContext::new(seq, user, origin)),
            feature,
            scope,
            reserved,
        )
        .await?;
        let seq = event.seq();
        self.events.push(event);
        Ok(seq)
    }

    /// Records an event of the module `meta` describes, carrying `data`
    /// (the row as the front end sees it, or `{ id }` for a delete).
    /// A `deleted` one keeps the row as `scope` ([`StoredEvent::scope`]).
    pub(crate) async fn module_event(
        &mut self,
        meta: &'static crate::entity::ModuleMeta,
        action: EventAction,
        data: serde_json::Value,
        user: &str,
        origin: Option<&str>,
        scope: Option<serde_json::Value>,
    ) -> Result<u64, Error> {
        self.record(
            meta.feature,
            |ctx| crate::events::module_event(meta, action, data, ctx),
            user,
            origin,
            scope,
            None,
        )
        .await
    }

    /// Records a `created` or `updated` event carrying the entity.
    pub async fn entity_event<T: CrudEntity>(
        &mut self,
        action: EventAction,
        entity: &T,
        user: &str,
        origin: Option<&str>,
    ) -> Result<u64, Error> {
        self.entity_event_at(None, action, entity, user, origin)
            .await
    }

    /// [`Change::entity_event`], at the seq this change took from the
    /// feature's counter itself if `reserved`
    /// ([`crate::rows::reserve`]).
    pub(crate) async fn entity_event_at<T: CrudEntity>(
        &mut self,
        reserved: Option<u64>,
        action: EventAction,
        entity: &T,
        user: &str,
        origin: Option<&str>,
    ) -> Result<u64, Error> {
        self.record(
            T::meta().feature,
            |ctx| entity_event(action, entity, ctx),
            user,
            origin,
            None,
            reserved,
        )
        .await
    }

    /// Records the `created` events of entities one change creates, each
    /// with who created it and the request's origin, at the seqs from
    /// `first` on if the change reserved them ([`crate::rows::reserve`]),
    /// else at the feature's next ones; many to a statement.
    pub(crate) async fn created_events<'a, T: CrudEntity>(
        &mut self,
        first: Option<u64>,
        created: impl IntoIterator<Item = (&'a T, &'a str, Option<&'a str>)>,
    ) -> Result<(), Error> {
        let created: Vec<_> = created.into_iter().collect();
        let feature = T::meta().feature;
        let first = match first {
            Some(first) => first,
            None => take_seqs(&self.db, &mut self.tx, feature, created.len()).await?,
        };
        let events = created
            .into_iter()
            .zip(first..)
            .map(|((entity, user, origin), seq)| {
                let context = EventContext::new(seq, user, origin);
                StoredEvent::new(entity_event(EventAction::Created, entity, &context)).map(Arc::new)
            })
            .collect::<Result<Vec<_>, _>>()?;
        write(&self.db, &mut self.tx, feature, &events).await?;
        self.events.extend(events);
        Ok(())
    }

    /// Records a `deleted` event carrying `{ id }`. Prefer
    /// [`Change::deleted_entity_event`]: without the row, a connection whose
    /// user has a read filter cannot tell the event is theirs, and does
    /// not get it.
    pub async fn deleted_event<T: CrudEntity>(
        &mut self,
        id: &T::Id,
        user: &str,
        origin: Option<&str>,
    ) -> Result<u64, Error> {
        self.record(
            T::meta().feature,
            |ctx| deleted_event::<T>(id, ctx),
            user,
            origin,
            None,
            None,
        )
        .await
    }

    /// Records the `deleted` event of `entity` (carrying its `{ id }`),
    /// keeping the row for the read filters ([`StoredEvent::scope`]).
    pub async fn deleted_entity_event<T: CrudEntity>(
        &mut self,
        entity: &T,
        user: &str,
        origin: Option<&str>,
    ) -> Result<u64, Error> {
        let scope = crate::events::entity_data(entity);
        self.record(
            T::meta().feature,
            |ctx| deleted_event::<T>(entity.id(), ctx),
            user,
            origin,
            Some(scope),
            None,
        )
        .await
    }

    /// Records an `import_*` event carrying its payload.
    pub async fn import_event<T: CrudEntity>(
        &mut self,
        action: EventAction,
        payload: &impl Serialize,
        user: &str,
    ) -> Result<u64, Error> {
        self.record(
            T::meta().feature,
            |ctx| import_event::<T>(action, payload, ctx),
            user,
            None,
            None,
            None,
        )
        .await
    }

    /// Commits, then hands the events to subscribers.
    ///
    /// Both run as a task of their own, which ends whoever stops waiting
    /// for it: a request dropped while its commit is under way (its client
    /// hung up) would otherwise leave a committed change whose events were
    /// never published, and which this instance's subscribers would get
    /// only with the feature's next event. A commit that fails without the
    /// database refusing it (its connection cut) may have been made all
    /// the same: its events are published if the log shows it was.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(op = "commit"))]
    pub async fn commit(self) -> Result<(), Error> {
        let Change {
            db,
            bus,
            tx,
            events,
        } = self;
        let commit = async move {
            match tx.commit().await {
                Ok(()) => {
                    for event in events {
                        bus.publish(event);
                    }
                    Ok(())
                }
                Err(error) => {
                    // Not refused by the database: the connection failed
                    // under the commit, which may have been made.
                    if !matches!(error, sqlx::Error::Database(_)) && !events.is_empty() {
                        let settling = settle(db, bus, events);
                        tokio::spawn(tracing::Instrument::in_current_span(settling));
                    }
                    Err(error.into())
                }
            }
        };
        let task = tokio::spawn(tracing::Instrument::in_current_span(commit));
        task.await
            .map_err(|error| Error::Internal(format!("the commit's task failed: {error}")))?
    }
}

/// How long a commit that may have been made is looked for in the log.
const SETTLE_PATIENCE: Duration = Duration::from_secs(60);

/// Publishes `events` if the change that wrote them was committed after
/// all, as a commit whose connection failed under it may have been: if the
/// log holds the first of them, frame for frame (a rolled-back change's
/// seq may be another's since). Waits for the database, which may be
/// restarting, up to [`SETTLE_PATIENCE`].
async fn settle(db: Db, bus: EventBus, events: Vec<Arc<StoredEvent>>) {
    let Some(first) = events.first() else {
        return;
    };
    let query = format!(
        "SELECT frame FROM aegis_events WHERE feature = {} AND seq = {}",
        db.param(1),
        db.param(2)
    );
    let read = || async {
        let row = sqlx::query(&query)
            .bind(first.feature())
            .bind(first.seq() as i64)
            .fetch_optional(db.pool())
            .await?;
        Ok(row.map(|row| row.try_get::<String, _>(0)).transpose()?)
    };
    match crate::store::patiently(SETTLE_PATIENCE, read).await {
        Ok(frame) => {
            if frame.as_deref() == Some(first.frame.as_str()) {
                for event in events {
                    bus.publish(event);
                }
            }
        }
        Err(error) => tracing::warn!(
            %error,
            "cannot tell whether a commit was made; its events wait for the feature's next"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::EventMeta;

    async fn appended(db: &Db, tx: &mut Tx, name: &str) -> Arc<StoredEvent> {
        let message = |seq| EventMessage {
            feature: "things".to_owned(),
            entity: "thing".to_owned(),
            action: EventAction::Created,
            data: serde_json::json!({ "id": seq, "name": name }),
            meta: EventMeta {
                timestamp: chrono::Utc::now(),
                feature_version: crate::protocol::FEATURE_VERSION.to_owned(),
                seq,
                user_id: "u1".to_owned(),
                origin: None,
            },
        };
        append(db, tx, message, "things", None, None).await.unwrap()
    }

    /// A commit whose outcome is unknown: its events are published if the
    /// log holds them, and not if it holds another change's at their seq.
    #[tokio::test]
    async fn a_change_that_may_be_committed_is_published_only_if_the_log_holds_it() {
        let db = crate::testing::test_database().await;
        sqlx::query("INSERT INTO aegis_features (feature) VALUES ('things')")
            .execute(db.pool())
            .await
            .unwrap();
        let bus = EventBus::new(16);
        let mut heard = bus.subscribe();

        let mut tx = db.begin().await.unwrap();
        let made = appended(&db, &mut tx, "made").await;
        tx.commit().await.unwrap();
        settle(db.clone(), bus.clone(), vec![made]).await;
        let published = heard.try_recv().unwrap();
        assert_eq!(
            (published.seq(), &published.message.data["name"]),
            (1, &serde_json::json!("made"))
        );

        let mut tx = db.begin().await.unwrap();
        let lost = appended(&db, &mut tx, "lost").await;
        tx.rollback().await.unwrap();
        let mut tx = db.begin().await.unwrap();
        let other = appended(&db, &mut tx, "other").await;
        tx.commit().await.unwrap();
        assert_eq!((lost.seq(), other.seq()), (2, 2));
        settle(db, bus.clone(), vec![lost]).await;
        let after = heard.try_recv();
        assert!(
            matches!(after, Err(broadcast::error::TryRecvError::Empty)),
            "{after:?}"
        );
    }
}
