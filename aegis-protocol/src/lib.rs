//! The Aegis wire protocol v1 (WebSocket frames at `/ws`) and the REST
//! bodies the generated front end reads, as serde types.
//!
//! These types are the single source of the front end's protocol types:
//! aegis-build reads [`SOURCE`] and declares every type in it in
//! TypeScript, with the same serde-aware mapping it uses for entities.

mod messages;
pub mod query;

pub use messages::*;

/// The source of the protocol types, for aegis-build to declare in
/// TypeScript.
pub const SOURCE: &str = include_str!("messages.rs");

/// The version every event's `meta.featureVersion` carries.
pub const FEATURE_VERSION: &str = "v1";

/// The WebSocket close code for missing, bad or expired auth.
pub const CLOSE_UNAUTHORIZED: u16 = 4401;

/// The WebSocket close code of an instance that is stopping (1012,
/// "service restart"): reconnect at once, to any instance, with `since`.
pub const CLOSE_RESTARTING: u16 = 1012;

/// Rows a list's page has when its query does not say (`pageSize`).
pub const DEFAULT_PAGE_SIZE: u32 = 20;

/// The request header carrying a client's mutation id, echoed as the
/// event's `meta.origin` so the client can recognise its own changes.
pub const MUTATION_ID_HEADER: &str = "x-aegis-mutation-id";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn client_frames() {
        let auth: ClientMessage =
            serde_json::from_value(json!({"type": "auth", "token": "t"})).unwrap();
        assert_eq!(auth, ClientMessage::Auth { token: "t".into() });
        let subscribe: ClientMessage = serde_json::from_value(
            json!({"type": "subscribe", "features": ["budgets"], "since": {"budgets": 1234}}),
        )
        .unwrap();
        let ClientMessage::Subscribe { features, since } = subscribe else {
            panic!("not a subscribe");
        };
        assert_eq!(features, ["budgets"]);
        assert_eq!(since.get("budgets"), Some(&1234));
        let bare: ClientMessage =
            serde_json::from_value(json!({"type": "subscribe", "features": []})).unwrap();
        assert!(matches!(bare, ClientMessage::Subscribe { since, .. } if since.is_empty()));
        assert_eq!(
            serde_json::from_value::<ClientMessage>(json!({"type": "ping"})).unwrap(),
            ClientMessage::Ping
        );
        assert!(serde_json::from_value::<ClientMessage>(json!({"type": "shout"})).is_err());
    }

    #[test]
    fn server_frames_match_the_design() {
        let event = ServerMessage::Event(EventMessage {
            feature: "budgets".into(),
            entity: "budget".into(),
            action: EventAction::Created,
            data: json!({"id": 1}),
            meta: EventMeta {
                timestamp: "2026-01-01T00:00:00Z".parse().unwrap(),
                feature_version: FEATURE_VERSION.into(),
                seq: 1241,
                user_id: "u1".into(),
                origin: None,
            },
        });
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            json!({"type": "event", "feature": "budgets", "entity": "budget", "action": "created",
                   "data": {"id": 1},
                   "meta": {"timestamp": "2026-01-01T00:00:00Z", "featureVersion": "v1",
                            "seq": 1241, "userId": "u1", "origin": null}})
        );
        // The web runtime queues a frame that begins so without parsing it.
        assert!(
            serde_json::to_string(&event)
                .unwrap()
                .starts_with(r#"{"type":"event","#)
        );
        let frames = [
            (
                ServerMessage::Ready {
                    user_id: "u1".into(),
                },
                json!({"type": "ready", "userId": "u1"}),
            ),
            (
                ServerMessage::Subscribed {
                    feature: "budgets".into(),
                    seq: 1240,
                    recovered: true,
                },
                json!({"type": "subscribed", "feature": "budgets", "seq": 1240, "recovered": true}),
            ),
            (
                ServerMessage::Resync {
                    feature: "budgets".into(),
                    reason: ResyncReason::Lagging,
                },
                json!({"type": "resync", "feature": "budgets", "reason": "lagging"}),
            ),
            (
                ServerMessage::Error {
                    code: ErrorCode::BadRequest,
                    message: "bad frame".into(),
                    feature: None,
                },
                json!({"type": "error", "code": "bad_request", "message": "bad frame"}),
            ),
            (ServerMessage::Pong, json!({"type": "pong"})),
        ];
        for (frame, expected) in frames {
            assert_eq!(serde_json::to_value(&frame).unwrap(), expected);
            let back: ServerMessage = serde_json::from_value(expected).unwrap();
            assert_eq!(back, frame);
        }
    }

    #[test]
    fn import_payloads_are_camel_case() {
        let progress = ImportProgress {
            job_id: "j".into(),
            progress: 50,
            processed_rows: 5,
            total_rows: 10,
            successful_rows: 4,
            failed_rows: 1,
            dry_run: true,
        };
        assert_eq!(
            serde_json::to_value(progress).unwrap(),
            json!({"jobId": "j", "progress": 50, "processedRows": 5, "totalRows": 10,
                   "successfulRows": 4, "failedRows": 1, "dryRun": true})
        );
        let action: EventAction = serde_json::from_value(json!("import_completed")).unwrap();
        assert_eq!(action, EventAction::ImportCompleted);
    }
}
