//! The security headers of every answer an app serves: its web app and
//! its API alike.
//!
//! - `Content-Security-Policy`: scripts, styles, images and fonts from the
//!   app's own origin only; connections to it (its API and WebSocket) and,
//!   when one is configured, to the identity provider the web app signs in
//!   with; no plugins; no page may frame it. Styles may be inline: Angular
//!   puts its components' styles in `<style>` elements.
//! - `X-Frame-Options: DENY`, for browsers older than `frame-ancestors`.
//! - `X-Content-Type-Options: nosniff`: a JSON answer or an uploaded text
//!   is never run as a script or a page.
//! - `Referrer-Policy: no-referrer`: the app's paths (ids, views) are not
//!   told to other sites.
//!
//! A route that sets one of these itself keeps its own.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The headers, made once.
#[derive(Clone, Debug)]
pub(super) struct SecurityHeaders(Arc<[(HeaderName, HeaderValue)]>);

impl SecurityHeaders {
    /// The headers of an app whose web app signs in at `issuer` (an
    /// identity provider's URL), if any.
    pub(super) fn new(issuer: Option<&str>) -> Self {
        let provider = issuer.and_then(origin);
        let policy = content_security_policy(provider.as_deref());
        let headers = [
            (CONTENT_SECURITY_POLICY, policy),
            (X_FRAME_OPTIONS, "DENY".to_owned()),
            (X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (REFERRER_POLICY, "no-referrer".to_owned()),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, HeaderValue::from_str(&value).ok()?)))
        .collect();
        SecurityHeaders(headers)
    }
}

/// The policy, with the identity provider's origin where the web app
/// reaches it: its discovery document, keys and token endpoint
/// (`connect-src`), and a silent renewal in a hidden frame (`frame-src`).
fn content_security_policy(provider: Option<&str>) -> String {
    let (connect, frame) = match provider {
        Some(origin) => (format!("'self' {origin}"), origin.to_owned()),
        None => ("'self'".to_owned(), "'none'".to_owned()),
    };
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:; font-src 'self' data:; connect-src {connect}; \
         frame-src {frame}; frame-ancestors 'none'; object-src 'none'; base-uri 'self'; \
         form-action 'self'"
    )
}

/// `scheme://host[:port]` of a URL, or `None` if it is none.
fn origin(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    let origin = url.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// Adds the headers a response does not have yet.
pub(super) async fn add(
    State(headers): State<SecurityHeaders>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    for (name, value) in headers.0.iter() {
        if !response.headers().contains_key(name) {
            response.headers_mut().insert(name.clone(), value.clone());
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_the_provider_where_the_web_app_reaches_it() {
        let plain = content_security_policy(None);
        assert!(plain.contains("connect-src 'self';"), "{plain}");
        assert!(plain.contains("frame-src 'none';"), "{plain}");
        let issuer = "https://kc.example:8443/realms/shop";
        let with = SecurityHeaders::new(Some(issuer));
        let policy = with
            .0
            .iter()
            .find(|(name, _)| name == CONTENT_SECURITY_POLICY)
            .map(|(_, value)| value.to_str().unwrap().to_owned())
            .unwrap();
        assert!(
            policy.contains("connect-src 'self' https://kc.example:8443;"),
            "{policy}"
        );
        assert!(
            policy.contains("frame-src https://kc.example:8443;"),
            "{policy}"
        );
        assert_eq!(with.0.len(), 4);
        assert_eq!(origin("not a url"), None);
    }
}
