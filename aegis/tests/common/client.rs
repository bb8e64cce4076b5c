//! A real WebSocket client of the hub, for the tests that speak the
//! protocol to an app served on a loopback port.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const WAIT: Duration = Duration::from_secs(10);

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What the server did next.
#[derive(Debug, PartialEq)]
pub enum Next {
    Frame(Value),
    Closed(Option<u16>),
}

impl Client {
    pub async fn connect(address: std::net::SocketAddr) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{address}/ws"))
            .await
            .expect("a WebSocket connection");
        Client { ws }
    }

    pub async fn authed(address: std::net::SocketAddr, token: &str) -> Client {
        let mut client = Client::connect(address).await;
        client.send(json!({"type": "auth", "token": token})).await;
        let ready = client.frame().await;
        assert_eq!(ready["type"], "ready", "{ready}");
        client
    }

    pub async fn send(&mut self, value: Value) {
        self.text(&value.to_string()).await;
    }

    pub async fn text(&mut self, text: &str) {
        self.ws
            .send(Message::text(text))
            .await
            .expect("a sent frame");
    }

    pub async fn next(&mut self) -> Next {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("the server answers in time");
            match message {
                Some(Ok(Message::Text(text))) => {
                    return Next::Frame(serde_json::from_str(&text).expect("a JSON frame"));
                }
                Some(Ok(Message::Close(frame))) => {
                    return Next::Closed(frame.map(|f| u16::from(f.code)));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(other)) => panic!("unexpected message {other:?}"),
                Some(Err(_)) | None => return Next::Closed(None),
            }
        }
    }

    pub async fn frame(&mut self) -> Value {
        match self.next().await {
            Next::Frame(frame) => frame,
            closed => panic!("expected a frame, the server {closed:?}"),
        }
    }

    /// Pings and expects the pong next: nothing else was pending.
    pub async fn in_sync(&mut self) {
        self.send(json!({"type": "ping"})).await;
        assert_eq!(self.frame().await, json!({"type": "pong"}));
    }

    /// Reads events until a `resync`, which it returns; fails after
    /// `most` events without one.
    pub async fn until_resync(&mut self, most: usize) -> Value {
        for _ in 0..=most {
            let frame = self.frame().await;
            if frame["type"] == "resync" {
                return frame;
            }
        }
        panic!("no resync within {most} events");
    }

    pub async fn subscribe(&mut self, feature: &str, since: Option<u64>) -> Value {
        let since = since.map_or(json!({}), |seq| json!({ feature: seq }));
        self.send(json!({"type": "subscribe", "features": [feature], "since": since}))
            .await;
        self.frame().await
    }
}
