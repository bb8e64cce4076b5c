//! What a connection hears besides the event bus, gathered by a task of
//! its own into one channel: the client's frames, its timers (the
//! deadline, the ping, the idle timeout) and the server stopping.
//!
//! The connection's loop then waits on two things, this channel and its
//! shard leaving it something ([`super::shard`]), not also on two timers,
//! the stop signal and the socket.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use futures_util::StreamExt;
use futures_util::stream::SplitStream;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::task::AbortOnDropHandle;

use crate::Aegis;

/// Something the connection's loop must act on, in the order it happened.
#[derive(Debug)]
pub(super) enum Signal {
    /// A frame from the client (not a close).
    Frame(Message),
    /// The client left, or the socket failed.
    Gone,
    /// The server is stopping.
    Stopping,
    /// The deadline set at this instant passed: the time to authenticate,
    /// or the token's expiry.
    Expired(Instant),
    /// Time to ping the client.
    Ping,
    /// The client was silent past the idle timeout.
    Idle,
}

impl Signal {
    /// Whether nothing comes after this signal. A deadline that passed
    /// may have been moved meanwhile (a refresh), so one does not end it.
    fn ends(&self) -> bool {
        matches!(self, Signal::Gone | Signal::Stopping | Signal::Idle)
    }
}

/// The connection's side: its signals, and where it moves its deadline
/// (on `auth`). Dropping it stops the task.
pub(super) struct Control {
    pub signals: mpsc::Receiver<Signal>,
    deadline: watch::Sender<Instant>,
    _task: AbortOnDropHandle<()>,
}

impl Control {
    /// Starts watching `stream`, with `deadline` as the first deadline.
    pub fn start(stream: SplitStream<WebSocket>, aegis: &Aegis, deadline: Instant) -> Control {
        // A client's frames are few; a full channel holds the reader back.
        let (sender, signals) = mpsc::channel(8);
        let (moved, deadlines) = watch::channel(deadline);
        let task = tokio::spawn(watch(stream, aegis.clone(), sender, deadlines));
        Control {
            signals,
            deadline: moved,
            _task: AbortOnDropHandle::new(task),
        }
    }

    /// Moves the deadline to `at`.
    pub fn set_deadline(&self, at: Instant) {
        self.deadline.send_replace(at);
    }

    /// The deadline now.
    pub fn deadline(&self) -> Instant {
        *self.deadline.borrow()
    }
}

async fn watch(
    mut stream: SplitStream<WebSocket>,
    aegis: Aegis,
    signals: mpsc::Sender<Signal>,
    mut deadlines: watch::Receiver<Instant>,
) {
    let limits = aegis.limits();
    let stopping = aegis.stopping();
    tokio::pin!(stopping);
    let mut set_at = *deadlines.borrow_and_update();
    let deadline = tokio::time::sleep_until(set_at);
    tokio::pin!(deadline);
    let mut ping = tokio::time::interval(limits.ping_interval);
    ping.tick().await;
    let mut last_heard = Instant::now();
    let mut armed = true;
    loop {
        let signal = tokio::select! {
            biased;
            () = &mut stopping => Signal::Stopping,
            () = &mut deadline, if armed => {
                armed = false;
                Signal::Expired(set_at)
            }
            moved = deadlines.changed() => {
                if moved.is_err() {
                    return;
                }
                set_at = *deadlines.borrow_and_update();
                deadline.as_mut().reset(set_at);
                armed = true;
                continue;
            }
            frame = stream.next() => {
                last_heard = Instant::now();
                match frame {
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => Signal::Gone,
                    // Answered by the WebSocket library; heard is enough.
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(frame)) => Signal::Frame(frame),
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() >= limits.idle_timeout {
                    Signal::Idle
                } else {
                    Signal::Ping
                }
            }
        };
        let ends = signal.ends();
        if signals.send(signal).await.is_err() || ends {
            return;
        }
    }
}

/// The longest a connection's token is taken to last: a token's `exp`
/// is the client's to choose (an identity provider's, say), and one far
/// in the future must not overflow the clock.
const LONGEST_TOKEN: Duration = Duration::from_secs(366 * 24 * 3600);

/// When a token expiring at `exp` (seconds since the epoch) ends its
/// connection: then, or [`LONGEST_TOKEN`] from now if that is sooner.
pub(super) fn until_expiry(exp: u64) -> Instant {
    let now = jsonwebtoken::get_current_timestamp();
    let left = Duration::from_secs(exp.saturating_sub(now)).min(LONGEST_TOKEN);
    Instant::now() + left
}
