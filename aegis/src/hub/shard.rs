//! Delivery of the bus's events to many connections by a few tasks.
//!
//! Connections are gathered into shards of up to [`SHARD_SIZE`]. Each
//! shard has one task reading the bus; on each wake-up it takes what the
//! bus holds (up to [`BATCH`] events) and writes them to every member it
//! may, each member's in one write. A committed event so wakes a task per
//! shard, not one per connection: the server spends a fifth less CPU per
//! delivery under fan-out (`cargo xtask bench fanout --postgres`).
//!
//! A shard never waits for a member. It writes a member's event only when
//! the event is the next of its feature for that member, the member's own
//! task is not writing, and the socket takes it at once. Anything else (an
//! event ahead of the next, published out of commit order; a socket that
//! is full; the member's task sending `subscribed` and a replay) and the
//! shard holds the event for the member's task ([`Outbox::held`]), which
//! flushes, sends the held events in order (what comes before one that is
//! ahead is read from the event log), and hands the member back. A member
//! holds at most [`crate::Limits::event_backlog`] events (shared, not
//! copied); past that, they are dropped and its client told to resync.

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll, Waker};

use axum::extract::ws::{Message, WebSocket};
use futures_util::Sink as _;
use futures_util::stream::SplitSink;
use tokio::sync::{Notify, broadcast};

use super::BATCH;
use crate::Aegis;
use crate::access::RowFilter;
use crate::app::HubStats;
use crate::log::StoredEvent;
use crate::metrics::Deliveries;
use crate::protocol::EventAction;
use serde_json::Value;

/// Connections one shard's task writes to, at most. A shard writes an
/// event to its members one after the other (a write each): more members
/// make fewer wake-ups and a longer wait for the last of them.
const SHARD_SIZE: usize = 128;

/// The shards of one `/ws` route.
#[derive(Debug, Default)]
pub(crate) struct Shards {
    shards: Mutex<Vec<Arc<Shard>>>,
}

#[derive(Debug, Default)]
pub(super) struct Shard {
    members: Mutex<Vec<Arc<Member>>>,
    /// How many members: looked at by a connection joining, without
    /// waiting for a shard that is writing.
    count: AtomicUsize,
}

/// A connection, as its shard and its own task both see it.
#[derive(Debug)]
pub(super) struct Member {
    outbox: Mutex<Outbox>,
    /// Wakes the connection's task when the shard left it something.
    pub(super) wake: Notify,
}

/// What a connection has been sent, and its socket's write half. Locked
/// briefly, never across an await.
#[derive(Debug)]
pub(super) struct Outbox {
    sink: SplitSink<WebSocket, Message>,
    /// Subscribed features and the last seq sent for each.
    pub(super) subscriptions: HashMap<String, u64>,
    /// Per subscribed feature, the rows its user may read (absent: all):
    /// events of other rows are not sent ([`crate::access`]).
    pub(super) read_filters: HashMap<String, RowFilter>,
    /// Whether the shard writes this connection's events. Off while its
    /// task writes (subscribing, catching up) or has to: then the shard
    /// holds them for it.
    shard_writes: bool,
    /// The events the shard did not write, in the bus's order, for the
    /// task to send.
    held: VecDeque<Arc<StoredEvent>>,
    /// Events were dropped, unknown which: more than the backlog were
    /// held, or the shard's bus overtook it.
    lost: bool,
}

impl Shards {
    /// Adds a connection, with its socket's write half, to a shard with
    /// room, or to a new one.
    pub(super) fn join(
        &self,
        aegis: &Aegis,
        sink: SplitSink<WebSocket, Message>,
    ) -> (Arc<Shard>, Arc<Member>) {
        let member = Arc::new(Member {
            outbox: Mutex::new(Outbox {
                sink,
                subscriptions: HashMap::new(),
                read_filters: HashMap::new(),
                shard_writes: false,
                held: VecDeque::new(),
                lost: false,
            }),
            wake: Notify::new(),
        });
        let mut shards = lock(&self.shards);
        let room = |s: &&Arc<Shard>| s.count.load(Ordering::Relaxed) < SHARD_SIZE;
        let shard = match shards.iter().find(room) {
            Some(shard) => shard.clone(),
            None => {
                let shard = Arc::new(Shard::default());
                // Subscribed before any member joins: a member misses
                // nothing published after it joined.
                let bus = aegis.bus().subscribe();
                let backlog = aegis.limits().event_backlog;
                tokio::spawn(write(bus, Arc::downgrade(&shard), backlog));
                shards.push(shard.clone());
                aegis.hub().shards.fetch_add(1, Ordering::SeqCst);
                shard
            }
        };
        shard.count.fetch_add(1, Ordering::Relaxed);
        lock(&shard.members).push(member.clone());
        (shard, member)
    }

    /// Removes a connection; a shard left empty ends.
    pub(super) fn leave(&self, stats: &HubStats, shard: &Arc<Shard>, member: &Arc<Member>) {
        let mut shards = lock(&self.shards);
        let mut members = lock(&shard.members);
        members.retain(|m| !Arc::ptr_eq(m, member));
        shard.count.store(members.len(), Ordering::Relaxed);
        let before = shards.len();
        if members.is_empty() {
            shards.retain(|s| !Arc::ptr_eq(s, shard));
        }
        stats
            .shards
            .fetch_sub(before - shards.len(), Ordering::SeqCst);
    }
}

impl Member {
    pub(super) fn lock(&self) -> MutexGuard<'_, Outbox> {
        lock(&self.outbox)
    }

    /// Writes what it may of `events`, in order, and flushes once; holds
    /// the others, up to `backlog`.
    fn write(
        &self,
        events: &[Arc<StoredEvent>],
        lost: bool,
        backlog: usize,
        deliveries: &Deliveries,
    ) {
        let mut outbox = self.lock();
        let outbox = &mut *outbox;
        let mut cx = Context::from_waker(Waker::noop());
        let mut wrote = false;
        let was_writing = outbox.shard_writes;
        for event in events {
            let feature = event.feature();
            let seq = event.seq();
            let Some(last) = outbox.subscriptions.get_mut(feature) else {
                continue;
            };
            if seq <= *last {
                continue;
            }
            if !outbox.shard_writes || seq != *last + 1 {
                hold(&mut outbox.held, &mut outbox.lost, event, backlog);
                outbox.shard_writes = false;
                continue;
            }
            if !visible(&outbox.read_filters, event) {
                *last = seq;
                continue;
            }
            let mut sink = Pin::new(&mut outbox.sink);
            match sink.as_mut().poll_ready(&mut cx) {
                Poll::Ready(Ok(())) => {}
                // A socket that failed: its reader ends the connection.
                Poll::Ready(Err(_)) => {
                    outbox.shard_writes = false;
                    break;
                }
                Poll::Pending => {
                    hold(&mut outbox.held, &mut outbox.lost, event, backlog);
                    outbox.shard_writes = false;
                    continue;
                }
            }
            if sink.start_send(Message::Text(event.frame.clone())).is_err() {
                outbox.shard_writes = false;
                break;
            }
            *last = seq;
            wrote = true;
            deliveries.delivered(event.message.meta.timestamp);
        }
        if lost && !outbox.subscriptions.is_empty() {
            outbox.lost = true;
            outbox.shard_writes = false;
        }
        // Written, the frames go out now; a socket that takes them later
        // is the task's to flush.
        if wrote
            && outbox.shard_writes
            && !matches!(
                Pin::new(&mut outbox.sink).poll_flush(&mut cx),
                Poll::Ready(Ok(()))
            )
        {
            outbox.shard_writes = false;
        }
        if was_writing && !outbox.shard_writes {
            self.wake.notify_one();
        }
    }
}

impl Outbox {
    /// Hands the member to the shard, unless the shard held something
    /// since the task last looked: then, what it held, and whether it
    /// dropped events too.
    pub(super) fn hand_back(&mut self) -> Option<(VecDeque<Arc<StoredEvent>>, bool)> {
        if self.held.is_empty() && !self.lost {
            self.shard_writes = true;
            None
        } else {
            Some((
                std::mem::take(&mut self.held),
                std::mem::take(&mut self.lost),
            ))
        }
    }

    /// Keeps the shard from writing, while the task writes.
    pub(super) fn take_over(&mut self) {
        self.shard_writes = false;
    }
}

/// Keeps `event` for the member's task; past `backlog` events, drops
/// them all instead.
fn hold(
    held: &mut VecDeque<Arc<StoredEvent>>,
    lost: &mut bool,
    event: &Arc<StoredEvent>,
    backlog: usize,
) {
    if held.len() >= backlog {
        *held = VecDeque::new();
        *lost = true;
    } else {
        held.push_back(event.clone());
    }
}

/// Whether a user with these filters may see `event`: an event of a row
/// outside its read filter is not sent (a delete is judged by the row it
/// kept; one without it is not sent under a filter).
pub(super) fn visible(read_filters: &HashMap<String, RowFilter>, event: &StoredEvent) -> bool {
    let Some(filter) = read_filters.get(event.feature()) else {
        return true;
    };
    let row = match event.message.action {
        EventAction::Created | EventAction::Updated => Some(&event.message.data),
        EventAction::Deleted => event.scope.as_ref(),
        _ => return true,
    };
    matches!(row, Some(Value::Object(row)) if filter.allows(row))
}

/// A shard's task: the bus's events, to its members, until the shard has
/// none left (or the runtime is gone).
async fn write(mut bus: broadcast::Receiver<Arc<StoredEvent>>, shard: Weak<Shard>, backlog: usize) {
    let deliveries = Deliveries::new();
    let mut events = Vec::with_capacity(BATCH);
    loop {
        events.clear();
        let mut lost = false;
        match bus.recv().await {
            Ok(event) => events.push(event),
            Err(broadcast::error::RecvError::Lagged(_)) => lost = true,
            Err(broadcast::error::RecvError::Closed) => return,
        }
        while events.len() < BATCH && !lost {
            match bus.try_recv() {
                Ok(event) => events.push(event),
                Err(broadcast::error::TryRecvError::Lagged(_)) => lost = true,
                Err(_) => break,
            }
        }
        let Some(shard) = shard.upgrade() else {
            return;
        };
        for member in lock(&shard.members).iter() {
            member.write(&events, lost, backlog, &deliveries);
        }
    }
}

/// The write half of a connection's socket, for its own task: each poll
/// locks the outbox for its length only.
pub(super) struct Shared(pub(super) Arc<Member>);

impl futures_util::Sink<Message> for Shared {
    type Error = axum::Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.0.lock().sink).poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Self::Error> {
        Pin::new(&mut self.0.lock().sink).start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.0.lock().sink).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.0.lock().sink).poll_close(cx)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
