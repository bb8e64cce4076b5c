//! The attacker of `cargo xtask soak hostile`, a process of its own:
//! `cargo xtask soak attack <base URL> <seconds>` runs every attack at
//! once for that long as one user, tallies each one's answers, prints
//! them, and fails if any answer is not one of its bounded ones.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aegis::auth::{Auth, Claims};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::soak::import::SECRET;

/// One attack's answers, and the ones it may get.
struct Tally {
    name: &'static str,
    allowed: &'static [&'static str],
    seen: BTreeMap<String, usize>,
}

impl Tally {
    fn new(name: &'static str, allowed: &'static [&'static str]) -> Self {
        Tally {
            name,
            allowed,
            seen: BTreeMap::new(),
        }
    }

    fn count(&mut self, outcome: impl Into<String>) {
        *self.seen.entry(outcome.into()).or_default() += 1;
    }

    fn bounded(&self) -> bool {
        !self.seen.is_empty() && self.seen.keys().all(|o| self.allowed.contains(&o.as_str()))
    }
}

/// Where and as whom the attacks run, and until when.
#[derive(Clone)]
struct Target {
    base: String,
    host: String,
    token: String,
    until: Instant,
}

pub fn run(base: &str, seconds: &str) -> Result<(), String> {
    let seconds: u64 = seconds
        .parse()
        .map_err(|_| format!("not seconds: {seconds}"))?;
    let token = Auth::new(SECRET.as_bytes())
        .issue(&Claims::new("mallory", 3600, &[], &["*"]))
        .map_err(|e| e.to_string())?;
    let target = Target {
        base: base.to_owned(),
        host: base.trim_start_matches("http://").to_owned(),
        token,
        until: Instant::now() + Duration::from_secs(seconds),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    // `AEGIS_SOAK_ATTACKS=replays,uploads` runs those alone: to see what
    // one attack costs.
    let only = std::env::var("AEGIS_SOAK_ATTACKS").ok();
    let on = |name: &str| {
        only.as_deref()
            .is_none_or(|list| list.split(',').any(|n| n == name))
    };
    let tallies = runtime.block_on(async {
        let (a, b, c, d, e, f) = tokio::join!(
            maybe(on("contains"), contains(&target)),
            maybe(on("bulk"), bulk_delete(&target)),
            maybe(on("methods"), made_up(&target)),
            maybe(on("replays"), replays(&target)),
            maybe(on("exports"), exports(&target)),
            maybe(on("uploads"), uploads(&target)),
        );
        [a, b, c, d, e, f].into_iter().flatten().collect::<Vec<_>>()
    });
    println!("{:<34} answers", "attack");
    for tally in &tallies {
        let seen: Vec<String> = tally
            .seen
            .iter()
            .map(|(o, n)| format!("{o} x{n}"))
            .collect();
        let mark = if tally.bounded() {
            ""
        } else {
            "  <- unbounded"
        };
        println!("{:<34} {}{mark}", tally.name, seen.join(", "));
    }
    if tallies.iter().all(Tally::bounded) {
        Ok(())
    } else {
        Err("an attack got an answer that is not bounded".to_owned())
    }
}

async fn maybe(on: bool, attack: impl Future<Output = Tally>) -> Option<Tally> {
    if on { Some(attack.await) } else { None }
}

fn costly_pattern() -> String {
    format!("{}b", "a".repeat(199))
}

/// Four loops of long `contains` patterns over the long rows.
async fn contains(target: &Target) -> Tally {
    let mut tally = Tally::new("long contains on long rows", &["200", "503"]);
    let http = reqwest::Client::new();
    let url = format!(
        "{}/api/budgets?name.contains={}",
        target.base,
        costly_pattern()
    );
    let loops = (0..4).map(|_| {
        let (http, url, target) = (http.clone(), url.clone(), target.clone());
        async move {
            let mut outcomes = Vec::new();
            while Instant::now() < target.until {
                let reply = http.get(&url).bearer_auth(&target.token).send().await;
                outcomes.push(status(reply));
            }
            outcomes
        }
    });
    for outcome in futures_util::future::join_all(loops)
        .await
        .into_iter()
        .flatten()
    {
        tally.count(outcome);
    }
    tally
}

fn status(reply: Result<reqwest::Response, reqwest::Error>) -> String {
    match reply {
        Ok(reply) => reply.status().as_u16().to_string(),
        Err(_) => "closed".to_owned(),
    }
}

/// Bulk deletes selecting by a long pattern.
async fn bulk_delete(target: &Target) -> Tally {
    let mut tally = Tally::new("bulk delete by such a query", &["200", "503"]);
    let http = reqwest::Client::new();
    let body = serde_json::json!({ "query": format!("name.contains={}", costly_pattern()) });
    while Instant::now() < target.until {
        let reply = http
            .post(format!("{}/api/budgets/bulk-delete", target.base))
            .bearer_auth(&target.token)
            .json(&body)
            .send()
            .await;
        tally.count(status(reply));
    }
    tally
}

/// Requests with made-up methods to made-up paths and real ones, no token.
async fn made_up(target: &Target) -> Tally {
    let mut tally = Tally::new("made-up methods and paths", &["400", "404", "405"]);
    let http = reqwest::Client::new();
    let mut n = 0u64;
    // 200 a second, as one client sends them: what the server must shrug
    // off is the labels they carry, not their rate.
    let mut pace = tokio::time::interval(Duration::from_millis(5));
    while Instant::now() < target.until {
        pace.tick().await;
        n += 1;
        let method = reqwest::Method::from_bytes(format!("M{n}").as_bytes()).unwrap_or_default();
        let path = if n.is_multiple_of(2) {
            "/healthz".to_owned()
        } else {
            format!("/api/x{n}/{n}")
        };
        let reply = http
            .request(method, format!("{}{path}", target.base))
            .send()
            .await;
        tally.count(status(reply));
    }
    tally
}

/// A TCP connection that takes at most a few KiB before its reader reads.
async fn small_socket(host: &str) -> Result<tokio::net::TcpStream, String> {
    let address: std::net::SocketAddr = host.parse().map_err(|e| format!("{host}: {e}"))?;
    let socket = tokio::net::TcpSocket::new_v4().map_err(|e| e.to_string())?;
    socket
        .set_recv_buffer_size(4096)
        .map_err(|e| e.to_string())?;
    socket.connect(address).await.map_err(|e| e.to_string())
}

/// 20 WebSockets replaying every budget's event, never read until the
/// attacks end; then read to their end: each must have been closed.
async fn replays(target: &Target) -> Tally {
    let mut tally = Tally::new("20 never-reading replays", &["closed"]);
    let mut sockets = Vec::new();
    for _ in 0..20 {
        let Ok(stream) = small_socket(&target.host).await else {
            tally.count("no connection");
            continue;
        };
        let url = format!("ws://{}/ws", target.host);
        let Ok((mut ws, _)) = tokio_tungstenite::client_async(url, stream).await else {
            tally.count("no upgrade");
            continue;
        };
        let frames = [
            serde_json::json!({"type": "auth", "token": target.token}),
            serde_json::json!({"type": "subscribe", "features": ["budgets"], "since": {"budgets": 0}}),
        ];
        for frame in frames {
            let _ = ws
                .send(tokio_tungstenite::tungstenite::Message::text(
                    frame.to_string(),
                ))
                .await;
        }
        sockets.push(ws);
    }
    tokio::time::sleep_until(target.until.into()).await;
    for mut ws in sockets {
        let drained = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(Ok(message)) = ws.next().await {
                if message.is_close() {
                    break;
                }
            }
        })
        .await;
        tally.count(if drained.is_ok() { "closed" } else { "open" });
    }
    tally
}

/// How long an export waits for its client before it is ended
/// (`Limits::export_send_timeout`'s default), and some.
const EXPORT_PATIENCE: Duration = Duration::from_secs(35);

/// Every 5 s, three exports at once that read nothing for longer than the
/// server waits for them; then each is read to its end. An export the
/// sockets took whole before that reads whole; one that waited, cut.
async fn exports(target: &Target) -> Tally {
    let mut tally = Tally::new("slow exports", &["429", "200 cut", "200 whole"]);
    let mut held = Vec::new();
    while Instant::now() < target.until {
        for _ in 0..3 {
            match slow_export(target).await {
                Ok((code, stream)) if code == "200" => held.push((Instant::now(), stream)),
                Ok((code, _)) => tally.count(code),
                Err(error) => tally.count(error),
            }
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    for (started, mut stream) in held {
        tokio::time::sleep_until((started + EXPORT_PATIENCE).into()).await;
        let mut rest = Vec::new();
        let read =
            tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut rest)).await;
        tally.count(match read {
            Ok(Ok(_)) if rest.ends_with(b"\r\n0\r\n\r\n") => "200 whole",
            Ok(_) => "200 cut",
            Err(_) => "200 still open",
        });
    }
    tally
}

/// An export's status, its answer left unread on a small socket.
async fn slow_export(target: &Target) -> Result<(String, tokio::net::TcpStream), String> {
    let mut stream = small_socket(&target.host).await?;
    let request = format!(
        "GET /api/budgets/export HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Connection: close\r\n\r\n",
        target.host, target.token
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut head = [0u8; 12];
    stream
        .read_exact(&mut head)
        .await
        .map_err(|e| e.to_string())?;
    let code = String::from_utf8_lossy(&head[9..12]).into_owned();
    Ok((code, stream))
}

/// Every 10 s, six 40 MB uploads at once, more than one user's imports.
async fn uploads(target: &Target) -> Tally {
    let mut tally = Tally::new(
        "parallel large uploads",
        &["202", "429", "503", "413", "closed"],
    );
    let row = "x,not a number,2026,draft\n";
    let mut csv = String::from("name,amount,fiscal_year,status\n");
    csv.push_str(&row.repeat(40 * 1024 * 1024 / row.len()));
    let csv = bytes_of(csv);
    let http = reqwest::Client::new();
    while Instant::now() < target.until {
        let sends = (0..6).map(|_| {
            http.post(format!("{}/api/budgets/import", target.base))
                .bearer_auth(&target.token)
                .header("content-type", "text/csv")
                .body(csv.clone())
                .send()
        });
        for reply in futures_util::future::join_all(sends).await {
            tally.count(status(reply));
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    tally
}

/// The text as shared bytes: each upload sends it without a copy.
fn bytes_of(text: String) -> aegis::axum::body::Bytes {
    aegis::axum::body::Bytes::from(text)
}
