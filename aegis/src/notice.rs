//! What a commit announces to the other instances sharing a PostgreSQL
//! database: the channel and the payload of its `NOTIFY`, written by the
//! event log ([`crate::log`]) and read by the relay ([`crate::relay`]).

/// The channel every instance announces its events on.
pub(crate) const CHANNEL: &str = "aegis_events";

/// The largest payload sent with its frame; PostgreSQL refuses payloads
/// of 8000 bytes or more, so a larger event is announced without it and
/// read from the table.
const PAYLOAD_LIMIT: usize = 7900;

/// A notification's payload: `<instance> <feature> <seq>`, then, when one
/// is given and it fits, a newline and the event's frame.
pub(crate) fn payload(instance: &str, feature: &str, seq: u64, frame: Option<&str>) -> String {
    let head = format!("{instance} {feature} {seq}");
    match frame {
        Some(frame) if head.len() + 1 + frame.len() < PAYLOAD_LIMIT => format!("{head}\n{frame}"),
        _ => head,
    }
}

/// What a notification says.
#[derive(Debug, PartialEq)]
pub(crate) struct Notice<'a> {
    pub(crate) instance: &'a str,
    pub(crate) feature: &'a str,
    pub(crate) seq: u64,
    pub(crate) frame: Option<&'a str>,
}

pub(crate) fn parse(payload: &str) -> Option<Notice<'_>> {
    let (head, frame) = match payload.split_once('\n') {
        Some((head, frame)) => (head, Some(frame)),
        None => (payload, None),
    };
    let mut parts = head.split(' ');
    let instance = parts.next()?;
    let feature = parts.next()?;
    let seq = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some(Notice {
        instance,
        feature,
        seq,
        frame,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_read_back() {
        let small = payload("a1b2", "user_roles", 42, Some("{\"type\":\"event\"}"));
        assert_eq!(
            parse(&small),
            Some(Notice {
                instance: "a1b2",
                feature: "user_roles",
                seq: 42,
                frame: Some("{\"type\":\"event\"}"),
            })
        );
        // Too large for NOTIFY: announced without the frame.
        let large_frame = format!("{{\"note\":\"{}\"}}", "x".repeat(PAYLOAD_LIMIT));
        let large = payload("a1b2", "budgets", 7, Some(&large_frame));
        assert!(large.len() < PAYLOAD_LIMIT);
        assert_eq!(
            parse(&large),
            Some(Notice {
                instance: "a1b2",
                feature: "budgets",
                seq: 7,
                frame: None,
            })
        );
        // None given (an event with a scope): read from the table.
        assert_eq!(
            parse(&payload("a1b2", "budgets", 8, None)).unwrap().frame,
            None
        );
        for bad in ["", "a1b2", "a1b2 budgets", "a1b2 budgets x", "a b 1 extra"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
