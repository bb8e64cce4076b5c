//! The WebSocket hub at `/ws`, speaking protocol v1 (the README's "The protocol").
//!
//! The bus's events reach a connection through its shard ([`shard`]), a
//! task that writes them to many connections. Each connection also has a
//! task of its own, which waits on two things: what a second task hears
//! (the client's frames, the connection's timers, the server stopping:
//! [`control`]), and its shard leaving it something to catch up on. A
//! client authenticates first (within
//! [`Limits::auth_timeout`], else close 4401), may send `auth` again to
//! refresh, subscribes to the features its token may read, and receives
//! each feature's events in seq order without gaps: an event that arrives
//! ahead of the next expected seq is preceded by the missing ones, read
//! from the event log. `since` replays what a client missed, up to
//! [`Limits::replay_limit`] events, else `resync`. A client that falls more
//! than [`Limits::event_backlog`] events behind gets `resync` (nothing is
//! kept for a slow reader but its socket's buffer). Bad frames get an
//! `error` and the connection lives on.
//!
//! [`Limits::auth_timeout`]: crate::Limits::auth_timeout
//! [`Limits::replay_limit`]: crate::Limits::replay_limit
//! [`Limits::event_backlog`]: crate::Limits::event_backlog

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use futures_util::StreamExt;
use tokio::time::Instant;

use crate::Aegis;
use crate::auth::{Claims, User};
use crate::error::Error;
use crate::log::{StoredEvent, replay};
use crate::metrics::Deliveries;
use crate::protocol::{
    CLOSE_RESTARTING, CLOSE_UNAUTHORIZED, ClientMessage, ErrorCode, ResyncReason, ServerMessage,
};

mod control;
mod frames;
mod replay;
mod shard;

use control::{Control, Signal, until_expiry};
use frames::{Writer, error_frame, feed_frame, parse, send, send_resync};
use shard::{Member, Shard, Shards, Shared, visible};

/// Close code for a connection silent past the idle timeout (going away).
const CLOSE_IDLE: u16 = 1001;
/// Events written to a connection together: what a shard takes from the
/// bus at once, and what a connection catching up writes before a flush.
const BATCH: usize = 64;
/// Events a replay reads and writes at a time.
const REPLAY_PAGE: u64 = 256;
/// The bytes of frames a replay reads and writes at a time, about: a page
/// of large events is fewer events, so that a client that stops reading
/// holds little while its write waits.
const REPLAY_PAGE_BYTES: u64 = 64 * 1024;
/// The read buffer of a connection. Clients send small frames (`auth`,
/// `subscribe`), and a larger one still fits (its whole length is reserved
/// when its header is read). The WebSocket library's default, 128 KiB, is
/// zero-filled on every read attempt, which, with a read attempt after every
/// delivery, was more than half the hub's CPU under fan-out, and the
/// touched pages stay resident for every connection.
const READ_BUFFER: usize = 4 * 1024;

pub use crate::app::HubStats;

/// The `/ws` route, for these features.
pub fn router(features: Vec<&'static str>) -> Router<Aegis> {
    let features: Arc<HashSet<&'static str>> = Arc::new(features.into_iter().collect());
    let shards = Arc::new(Shards::default());
    Router::new().route(
        "/ws",
        get(
            move |upgrade: WebSocketUpgrade,
                  State(aegis): State<Aegis>,
                  headers: axum::http::HeaderMap| {
                let features = features.clone();
                let shards = shards.clone();
                // The connection's span outlives the upgrade request's.
                let span = tracing::info_span!(
                    "ws",
                    request_id = headers
                        .get(crate::trace::REQUEST_ID)
                        .and_then(|id| id.to_str().ok())
                        .unwrap_or_default(),
                    user = tracing::field::Empty,
                );
                async move { upgrade_connection(upgrade, aegis, features, shards, span) }
            },
        ),
    )
}

fn upgrade_connection(
    upgrade: WebSocketUpgrade,
    aegis: Aegis,
    features: Arc<HashSet<&'static str>>,
    shards: Arc<Shards>,
    span: tracing::Span,
) -> Response {
    let limit = aegis.limits().max_frame_bytes;
    upgrade
        .read_buffer_size(READ_BUFFER)
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| {
            tracing::Instrument::instrument(
                async move {
                    tracing::debug!("connected");
                    Connection::run(aegis, features, shards, socket).await;
                    tracing::debug!("disconnected");
                },
                span,
            )
        })
}

/// Why a connection's loop ended.
enum End {
    /// Closed by us, with this code and reason.
    Close(u16, &'static str),
    /// The client left, or the socket failed.
    Gone,
}

struct Connection {
    aegis: Aegis,
    features: Arc<HashSet<&'static str>>,
    claims: Option<Claims>,
    /// Its shard, and what it and this task share: the write half of the
    /// socket, and what was sent.
    shards: Arc<Shards>,
    shard: Arc<Shard>,
    member: Arc<Member>,
    deliveries: Deliveries,
}

type Sink = Writer;

impl Drop for Connection {
    fn drop(&mut self) {
        self.shards
            .leave(self.aegis.hub(), &self.shard, &self.member);
        let stats = self.aegis.hub();
        stats
            .subscriptions
            .fetch_sub(self.member.lock().subscriptions.len(), Ordering::SeqCst);
        stats.connections.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Connection {
    async fn run(
        aegis: Aegis,
        features: Arc<HashSet<&'static str>>,
        shards: Arc<Shards>,
        socket: WebSocket,
    ) {
        let (sink, stream) = socket.split();
        let limits = aegis.limits();
        let mut control = Control::start(stream, &aegis, Instant::now() + limits.auth_timeout);
        // A graceful stop waits for this connection, which it closes.
        let _tracked = aegis.track();
        aegis.hub().connections.fetch_add(1, Ordering::SeqCst);
        let (shard, member) = shards.join(&aegis, sink);
        let mut sink = Writer::new(Shared(member.clone()), limits.socket_write_timeout);
        let mut this = Connection {
            aegis,
            features,
            claims: None,
            shards,
            shard,
            member,
            deliveries: Deliveries::new(),
        };

        let end = loop {
            // Biased: what the connection hears (the client's frames, its
            // timers, a stop) is always looked at first.
            tokio::select! {
                biased;
                signal = control.signals.recv() => {
                    let Some(signal) = signal else { break End::Gone };
                    if let Err(end) = this.heard(signal, &mut sink, &control).await {
                        break end;
                    }
                }
                () = this.member.wake.notified() => {
                    if let Err(end) = this.catch_up(&mut sink).await {
                        break end;
                    }
                }
            }
        };
        // Out of its shard first: the close is the last frame.
        this.shards
            .leave(this.aegis.hub(), &this.shard, &this.member);
        if let End::Close(code, reason) = end {
            let frame = CloseFrame {
                code,
                reason: Utf8Bytes::from_static(reason),
            };
            let _ = sink.send(Message::Close(Some(frame))).await;
        }
        sink.close().await;
    }

    /// Acts on what the connection heard.
    async fn heard(
        &mut self,
        signal: Signal,
        sink: &mut Sink,
        control: &Control,
    ) -> Result<(), End> {
        match signal {
            Signal::Stopping => Err(End::Close(CLOSE_RESTARTING, "the server is restarting")),
            // A deadline that was moved since (a refresh) is not the one now.
            Signal::Expired(at) if at != control.deadline() => Ok(()),
            Signal::Expired(_) if self.claims.is_none() => Err(End::Close(
                CLOSE_UNAUTHORIZED,
                "authenticate within the time allowed",
            )),
            Signal::Expired(_) => Err(End::Close(CLOSE_UNAUTHORIZED, "the token has expired")),
            Signal::Idle => Err(End::Close(CLOSE_IDLE, "idle")),
            Signal::Gone => Err(End::Gone),
            Signal::Ping => sink.send(Message::Ping(Default::default())).await,
            Signal::Frame(Message::Text(text)) => self.receive(&text, sink, control).await,
            Signal::Frame(Message::Binary(_)) if self.claims.is_none() => {
                Err(End::Close(CLOSE_UNAUTHORIZED, "authenticate first"))
            }
            Signal::Frame(Message::Binary(_)) => {
                let error = error_frame(
                    ErrorCode::BadRequest,
                    "binary frames are not part of protocol v1",
                    None,
                );
                send(sink, &error).await
            }
            Signal::Frame(_) => Ok(()),
        }
    }

    /// Handles one text frame from the client.
    async fn receive(&mut self, text: &str, sink: &mut Sink, control: &Control) -> Result<(), End> {
        let message = match parse(text) {
            Ok(message) => message,
            // Before `auth`, anything else closes the connection, as the
            // protocol says; after it, a bad frame is answered and forgiven.
            Err(_) if self.claims.is_none() => {
                return Err(End::Close(CLOSE_UNAUTHORIZED, "authenticate first"));
            }
            Err(problem) => {
                return send(sink, &error_frame(ErrorCode::BadRequest, &problem, None)).await;
            }
        };
        match message {
            ClientMessage::Auth { token } => self.authenticate(&token, sink, control).await,
            _ if self.claims.is_none() => Err(End::Close(CLOSE_UNAUTHORIZED, "authenticate first")),
            ClientMessage::Subscribe { features, since } => {
                for feature in features {
                    let since = since.get(&feature).copied();
                    self.subscribe(feature, since, sink).await?;
                }
                Ok(())
            }
            ClientMessage::Unsubscribe { features } => {
                for feature in features {
                    self.unsubscribe(&feature);
                }
                Ok(())
            }
            ClientMessage::Ping => send(sink, &ServerMessage::Pong).await,
        }
    }

    async fn authenticate(
        &mut self,
        token: &str,
        sink: &mut Sink,
        control: &Control,
    ) -> Result<(), End> {
        let claims = match self.aegis.auth().verify(token).await {
            Ok(claims) => claims,
            Err(_) => {
                return Err(End::Close(
                    CLOSE_UNAUTHORIZED,
                    "the token is missing, bad or expired",
                ));
            }
        };
        // The connection lives until this token expires, unless refreshed.
        control.set_deadline(until_expiry(claims.exp));
        let first = self.claims.is_none();
        let user_id = claims.sub.clone();
        tracing::Span::current().record("user", user_id.as_str());
        self.claims = Some(claims);
        // A refreshed token may allow less: drop what it no longer allows.
        // And it may read other rows.
        let revoked = {
            let mut outbox = self.member.lock();
            let (revoked, kept): (Vec<String>, Vec<String>) = outbox
                .subscriptions
                .keys()
                .cloned()
                .partition(|feature| !self.may_read(feature));
            for feature in &revoked {
                outbox.subscriptions.remove(feature);
                outbox.read_filters.remove(feature);
            }
            for feature in kept {
                self.set_read_filter(&mut outbox, &feature);
            }
            revoked
        };
        for feature in revoked {
            self.aegis
                .hub()
                .subscriptions
                .fetch_sub(1, Ordering::SeqCst);
            let message = format!("the new token may not read `{feature}`; unsubscribed");
            send(
                sink,
                &error_frame(ErrorCode::Forbidden, &message, Some(feature)),
            )
            .await?;
        }
        if first {
            send(sink, &ServerMessage::Ready { user_id }).await?;
        }
        Ok(())
    }

    async fn subscribe(
        &mut self,
        feature: String,
        since: Option<u64>,
        sink: &mut Sink,
    ) -> Result<(), End> {
        if !self.features.contains(feature.as_str()) {
            let message = format!("no feature `{feature}` has events here");
            return send(
                sink,
                &error_frame(ErrorCode::NotFound, &message, Some(feature)),
            )
            .await;
        }
        if !self.may_read(&feature) {
            let message = format!("you may not read `{feature}`");
            return send(
                sink,
                &error_frame(ErrorCode::Forbidden, &message, Some(feature)),
            )
            .await;
        }
        // The shard holds this feature's events from now on, before its
        // current seq is read: one committed in between is held, not
        // passed by as not subscribed. Until `subscribed` and the replay
        // are written, what it holds waits; then what follows them is sent.
        let added = {
            let mut outbox = self.member.lock();
            outbox.take_over();
            self.set_read_filter(&mut outbox, &feature);
            let added = !outbox.subscriptions.contains_key(&feature);
            outbox.subscriptions.entry(feature.clone()).or_insert(0);
            added
        };
        if added {
            self.aegis
                .hub()
                .subscriptions
                .fetch_add(1, Ordering::SeqCst);
        }
        let Some(current) = self
            .patiently(&feature, || self.current_seq(&feature))
            .await
        else {
            self.not_now(sink, &feature).await?;
            return self.catch_up(sink).await;
        };
        if let Some(mark) = self.member.lock().subscriptions.get_mut(&feature) {
            *mark = current;
        }
        self.replay(&feature, current, since, sink).await?;
        self.catch_up(sink).await
    }

    fn may_read(&self, feature: &str) -> bool {
        self.claims.as_ref().is_some_and(|c| c.can_read(feature))
    }

    fn set_read_filter(&self, outbox: &mut shard::Outbox, feature: &str) {
        let filter = self
            .claims
            .as_ref()
            .and_then(|claims| self.aegis.read_filter(feature, &User(claims.clone())));
        match filter {
            Some(filter) => outbox.read_filters.insert(feature.to_owned(), filter),
            None => outbox.read_filters.remove(feature),
        };
    }

    async fn current_seq(&self, feature: &str) -> Result<u64, Error> {
        let db = self.aegis.db();
        let mut tx = db.begin_snapshot().await?;
        let seq = crate::log::current_seq(db, &mut tx, feature).await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// Ends the subscription to `feature`, if any.
    fn unsubscribe(&self, feature: &str) {
        let removed = {
            let mut outbox = self.member.lock();
            outbox.read_filters.remove(feature);
            outbox.subscriptions.remove(feature).is_some()
        };
        if removed {
            self.aegis
                .hub()
                .subscriptions
                .fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// The event log stayed unreadable: `feature` is left unsubscribed
    /// (else the shard would send what follows `current`, and its client
    /// would miss what came before) and its client told to ask again.
    async fn not_now(&self, sink: &mut Sink, feature: &str) -> Result<(), End> {
        self.unsubscribe(feature);
        let message =
            format!("cannot read the events of `{feature}` now; not subscribed, subscribe again");
        send(
            sink,
            &error_frame(ErrorCode::Internal, &message, Some(feature.to_owned())),
        )
        .await
    }

    /// Takes over what the shard left this connection: flushes what it
    /// wrote, sends in order what it held, and hands the connection back
    /// to it once nothing is left.
    async fn catch_up(&mut self, sink: &mut Sink) -> Result<(), End> {
        loop {
            sink.flush().await?;
            let Some((held, lost)) = self.member.lock().hand_back() else {
                return Ok(());
            };
            if lost {
                self.lagged(sink).await?;
            }
            // Flushed every [`BATCH`] events: what waits for a slow
            // client's socket stays small.
            for (n, event) in held.iter().enumerate() {
                self.deliver(event, sink).await?;
                if n % BATCH == BATCH - 1 {
                    sink.flush().await?;
                }
            }
        }
    }

    /// Queues a held event for its subscriber, in order: older ones are
    /// already sent, missing ones come from the log first.
    async fn deliver(&mut self, event: &StoredEvent, sink: &mut Sink) -> Result<(), End> {
        let feature = event.feature();
        let seq = event.seq();
        let last = {
            let mut outbox = self.member.lock();
            let Some(mark) = outbox.subscriptions.get_mut(feature) else {
                return Ok(());
            };
            let last = *mark;
            if seq <= last {
                return Ok(());
            }
            *mark = seq;
            last
        };
        let mut earlier = Vec::new();
        if seq > last + 1 {
            // Published out of commit order: fetch what comes before it.
            let read = || replay(self.aegis.db(), feature, last, seq - last - 1);
            earlier = self.patiently(feature, read).await.unwrap_or_default();
            let contiguous = earlier.len() as u64 == seq - last - 1
                && earlier.iter().zip(last + 1..).all(|(e, s)| e.seq() == s);
            if !contiguous {
                return send_resync(sink, feature, ResyncReason::Gap).await;
            }
        }
        let visible: Vec<&StoredEvent> = {
            let outbox = self.member.lock();
            earlier
                .iter()
                .map(Arc::as_ref)
                .chain([event])
                .filter(|e| visible(&outbox.read_filters, e))
                .collect()
        };
        for event in visible {
            feed_frame(sink, &event.frame).await?;
            self.deliveries.delivered(event.message.meta.timestamp);
        }
        Ok(())
    }

    /// What `read` reads from the database, which may be away for a
    /// moment (restarting): this connection waits for it, up to
    /// [`Limits::event_log_patience`], its events held back in order;
    /// after that, `None`.
    ///
    /// [`Limits::event_log_patience`]: crate::Limits::event_log_patience
    async fn patiently<T, F>(&self, feature: &str, read: impl Fn() -> F) -> Option<T>
    where
        F: Future<Output = Result<T, Error>>,
    {
        let patience = self.aegis.limits().event_log_patience;
        match crate::store::patiently(patience, read).await {
            Ok(value) => Some(value),
            Err(error) => {
                tracing::warn!(%error, feature, "cannot read the event log; giving up");
                None
            }
        }
    }

    /// The bus overtook this connection's shard: every subscribed feature
    /// may have lost events. Each restarts from its current seq, after a
    /// resync.
    async fn lagged(&mut self, sink: &mut Sink) -> Result<(), End> {
        let features: Vec<String> = self.member.lock().subscriptions.keys().cloned().collect();
        for feature in features {
            if let Ok(current) = self.current_seq(&feature).await
                && let Some(last) = self.member.lock().subscriptions.get_mut(&feature)
            {
                *last = current;
            }
            send_resync(sink, &feature, ResyncReason::Lagging).await?;
        }
        Ok(())
    }
}
