//! Dev mode: a token for every feature without a sign-in
//! (`GET /api/dev/token`), and the guard that keeps it on this machine.
//!
//! A dev-mode server hands an admin token to whoever asks, so it must
//! only ever be asked by this machine's own pages. A web page elsewhere
//! can reach a server on 127.0.0.1 in two ways: by rebinding its own name
//! to 127.0.0.1 (the browser then sends `Host: <its name>`), or by opening
//! a WebSocket, which no same-origin rule covers (the browser sends
//! `Origin: <its site>`). So in dev mode every request whose `Host` or
//! `Origin` names another machine is refused with a 403.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::header::{HOST, ORIGIN};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::Claims;
use crate::protocol::DevToken;
use crate::{Aegis, Error};

/// How long a dev-mode token lasts.
const DEV_TOKEN_SECONDS: u64 = 3600;

/// `GET /api/dev/token`: a token for every feature, without a sign-in.
pub(super) async fn dev_token(State(aegis): State<Aegis>) -> Result<Json<DevToken>, Error> {
    let claims = Claims::new("dev", DEV_TOKEN_SECONDS, &[], &["*"]);
    let token = aegis.auth().issue(&claims)?;
    Ok(Json(DevToken {
        token,
        expires_at: claims.exp,
    }))
}

/// The names a dev-mode request may give in `Host` and `Origin`: this
/// machine's (`localhost`, `*.localhost`, loopback addresses) and the
/// address the server listens on, when it is one address.
#[derive(Clone, Copy, Debug)]
pub(super) struct ThisMachine {
    listening: std::net::IpAddr,
}

impl ThisMachine {
    pub(super) fn new(listening: std::net::IpAddr) -> Self {
        ThisMachine { listening }
    }

    /// Whether `host` (a name or address, without its port) is this machine.
    fn names(self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if host == "localhost" || host.ends_with(".localhost") {
            return true;
        }
        let address = host.trim_start_matches('[').trim_end_matches(']');
        match address.parse::<std::net::IpAddr>() {
            Ok(ip) => {
                ip.is_loopback() || (ip == self.listening && !self.listening.is_unspecified())
            }
            Err(_) => false,
        }
    }

    /// Why a request is refused, if it is: its `Host` or its `Origin`
    /// names another machine. A request without them (not a browser's)
    /// passes: whoever sends it could name any host.
    fn refuses(self, request: &Request) -> Option<String> {
        let header = |name| {
            request
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap_or("?"))
        };
        if let Some(host) = header(HOST).or_else(|| request.uri().host())
            && !self.names(without_port(host))
        {
            return Some(format!(
                "dev mode answers this machine only, and `Host: {host}` names another; \
                 open the app at http://localhost or http://127.0.0.1"
            ));
        }
        let origin = header(ORIGIN)?;
        let host = origin
            .split_once("://")
            .map(|(_, rest)| without_port(rest.split('/').next().unwrap_or(rest)));
        match host {
            Some(host) if self.names(host) => None,
            _ => Some(format!(
                "dev mode answers this machine's pages only, and `Origin: {origin}` is another \
                 site's"
            )),
        }
    }
}

/// `host:port` or `[v6]:port` without the port.
fn without_port(authority: &str) -> &str {
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    match authority.rfind(']') {
        Some(end) => &authority[..=end],
        None => authority.split(':').next().unwrap_or(authority),
    }
}

/// Refuses, with a 403, a dev-mode request from another machine's page.
pub(super) async fn this_machine_only(
    State(machine): State<ThisMachine>,
    request: Request,
    next: Next,
) -> Response {
    match machine.refuses(&request) {
        Some(message) => {
            tracing::warn!(%message, "dev mode: refused");
            Error::Forbidden(message).into_response()
        }
        None => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(listening: [u8; 4], headers: &[(&str, &str)]) -> bool {
        let mut request = Request::get("/api/dev/token");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(axum::body::Body::empty()).unwrap();
        ThisMachine::new(listening.into())
            .refuses(&request)
            .is_some()
    }

    #[test]
    fn this_machines_names_pass_and_others_are_refused() {
        let local = [127, 0, 0, 1];
        for host in [
            "localhost",
            "localhost:8080",
            "app.localhost:4200",
            "127.0.0.1:8080",
            "127.1.2.3",
            "[::1]:8080",
            "LOCALHOST.",
        ] {
            assert!(!refused(local, &[("host", host)]), "{host}");
        }
        for host in [
            "rebind.attacker.example",
            "rebind.attacker.example:8080",
            "localhost.attacker.example",
            "10.0.0.5:8080",
            "0.0.0.0:8080",
            "[::]:8080",
        ] {
            assert!(refused(local, &[("host", host)]), "{host}");
        }
        assert!(!refused(local, &[]), "no Host: not a browser");
        // The address it listens on, when it is one, is this machine's.
        assert!(!refused([10, 0, 0, 5], &[("host", "10.0.0.5:8080")]));
        assert!(refused([0, 0, 0, 0], &[("host", "10.0.0.5:8080")]));
    }

    #[test]
    fn another_sites_origin_is_refused() {
        let local = [127, 0, 0, 1];
        let host = ("host", "127.0.0.1:8080");
        for origin in ["http://127.0.0.1:8080", "http://localhost:4200"] {
            assert!(!refused(local, &[host, ("origin", origin)]), "{origin}");
        }
        for origin in [
            "https://attacker.example",
            "http://127.0.0.1.attacker.example",
            "null",
            "file://",
        ] {
            assert!(refused(local, &[host, ("origin", origin)]), "{origin}");
        }
    }
}
