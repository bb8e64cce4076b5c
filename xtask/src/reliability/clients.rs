//! The suite's WebSocket clients: each keeps a copy of the feature from
//! its events alone, hangs up at random and comes back with `since`, on
//! either instance, and reports what it saw.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::{FEATURE, Shared, Socket};

/// What one client saw.
#[derive(Default)]
pub(super) struct ClientReport {
    pub(super) rows: BTreeMap<i64, Value>,
    pub(super) last_seq: u64,
    pub(super) applied: u64,
    pub(super) duplicated: u64,
    pub(super) out_of_order: u64,
    /// Events skipped over by an out-of-order one.
    pub(super) skipped: u64,
    pub(super) resyncs: u64,
    pub(super) disconnects: u64,
    /// Connections the server or the network ended.
    pub(super) dropped: u64,
    /// Connections a stopping instance closed with 1012.
    pub(super) restarted: u64,
    /// The longest time from such a close to `ready` again.
    pub(super) slowest_return: Duration,
    /// When the last 1012 came, until the next `ready`.
    pub(super) closed_at: Option<Instant>,
    pub(super) errors: Vec<String>,
}

enum Ended {
    /// The client hung up, as planned.
    HungUp,
    /// The connection ended under it.
    Dropped,
    /// It has every event.
    Done,
}

pub(super) async fn client(shared: Arc<Shared>, home: usize) -> ClientReport {
    let mut report = ClientReport::default();
    let mut rng = fastrand::Rng::new();
    let mut instance = home;
    loop {
        let target = shared.target.load(Ordering::SeqCst);
        if target != 0 && report.last_seq >= target {
            return report;
        }
        let url = format!("ws://127.0.0.1:{}/ws", shared.ports[instance]);
        let connected = tokio::time::timeout(
            Duration::from_secs(5),
            tokio_tungstenite::connect_async(url),
        )
        .await;
        let ended = match connected {
            Ok(Ok((socket, _))) => {
                let lifetime = Duration::from_millis(rng.u64(100..1000));
                session(&shared, socket, &mut report, lifetime).await
            }
            _ => Ended::Dropped,
        };
        match ended {
            Ended::HungUp => report.disconnects += 1,
            Ended::Dropped => report.dropped += 1,
            Ended::Done => return report,
        }
        tokio::time::sleep(Duration::from_millis(rng.u64(0..100))).await;
        instance = rng.usize(0..2);
    }
}

async fn send(socket: &mut Socket, frame: Value) -> Result<(), ()> {
    socket
        .send(Message::text(frame.to_string()))
        .await
        .map_err(|_| ())
}

fn subscribe(last_seq: u64) -> Value {
    json!({"type": "subscribe", "features": [FEATURE], "since": {FEATURE: last_seq}})
}

/// One connection: auth, subscribe with `since`, apply events until the
/// planned hang-up, the end of the connection, or the target.
async fn session(
    shared: &Shared,
    mut socket: Socket,
    report: &mut ClientReport,
    lifetime: Duration,
) -> Ended {
    if send(&mut socket, json!({"type": "auth", "token": shared.token}))
        .await
        .is_err()
    {
        return Ended::Dropped;
    }
    let hang_up = tokio::time::sleep(lifetime);
    tokio::pin!(hang_up);
    let mut check = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            _ = &mut hang_up => {
                let _ = socket.close(None).await;
                return Ended::HungUp;
            }
            _ = check.tick() => {
                let target = shared.target.load(Ordering::SeqCst);
                if target != 0 && report.last_seq >= target {
                    let _ = socket.close(None).await;
                    return Ended::Done;
                }
            }
            message = socket.next() => {
                let text = match message {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(Some(frame)))) if u16::from(frame.code) == 1012 => {
                        report.restarted += 1;
                        report.closed_at = Some(Instant::now());
                        return Ended::Dropped;
                    }
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return Ended::Dropped,
                    Some(Ok(_)) => continue,
                };
                let Ok(frame) = serde_json::from_str::<Value>(&text) else {
                    report.errors.push(format!("not JSON: {text}"));
                    continue;
                };
                match frame["type"].as_str() {
                    Some("ready") => {
                        if let Some(closed) = report.closed_at.take() {
                            report.slowest_return = report.slowest_return.max(closed.elapsed());
                        }
                        if send(&mut socket, subscribe(report.last_seq)).await.is_err() {
                            return Ended::Dropped;
                        }
                    }
                    Some("event") => apply(report, &frame),
                    Some("resync") => {
                        report.resyncs += 1;
                        report.errors.push(format!("resync: {text}"));
                        // The copy is reloaded from the database.
                        match shared.everything(shared.ports[0]).await {
                            Ok((rows, seq)) => {
                                report.rows = rows;
                                report.last_seq = seq;
                            }
                            Err(_) => return Ended::Dropped,
                        }
                    }
                    Some("error") if frame["code"] == "internal" => {
                        // The instance could not read the log just now.
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        if send(&mut socket, subscribe(report.last_seq)).await.is_err() {
                            return Ended::Dropped;
                        }
                    }
                    Some("subscribed" | "pong") => {}
                    _ => report.errors.push(format!("unexpected frame: {text}")),
                }
            }
        }
    }
}

fn apply(report: &mut ClientReport, frame: &Value) {
    let seq = frame["meta"]["seq"].as_u64().unwrap_or(0);
    if seq <= report.last_seq {
        report.duplicated += 1;
        return;
    }
    if seq > report.last_seq + 1 {
        report.out_of_order += 1;
        report.skipped += seq - report.last_seq - 1;
    }
    report.last_seq = seq;
    report.applied += 1;
    let data = &frame["data"];
    let id = data["id"].as_i64().unwrap_or(0);
    match frame["action"].as_str() {
        Some("created" | "updated") => {
            report.rows.insert(id, data.clone());
        }
        Some("deleted") => {
            report.rows.remove(&id);
        }
        other => report.errors.push(format!("unexpected action {other:?}")),
    }
}
