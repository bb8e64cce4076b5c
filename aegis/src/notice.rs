//! What a commit announces to the other instances sharing a PostgreSQL
//! database: the channel and the payload of its `NOTIFY`, written by the
//! event log ([`crate::log`]) and read by the relay ([`crate::relay`]).
//!
//! Any role that can connect may `NOTIFY` on the channel, so a payload is
//! no more than a hint: it names an instance, a feature and a seq, and the
//! relay reads the events themselves from the event log. It carries no
//! frame, which a forger could have written.

/// The channel every instance announces its events on.
pub(crate) const CHANNEL: &str = "aegis_events";

/// A notification's payload: `<instance> <feature> <seq>`.
pub(crate) fn payload(instance: &str, feature: &str, seq: u64) -> String {
    format!("{instance} {feature} {seq}")
}

/// What a notification says.
#[derive(Debug, PartialEq)]
pub(crate) struct Notice<'a> {
    pub(crate) instance: &'a str,
    pub(crate) feature: &'a str,
    pub(crate) seq: u64,
}

/// A payload as [`payload`] writes it, or `None`.
pub(crate) fn parse(payload: &str) -> Option<Notice<'_>> {
    let mut parts = payload.split(' ');
    let instance = parts.next().filter(|part| !part.is_empty())?;
    let feature = parts.next().filter(|part| !part.is_empty())?;
    let seq = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some(Notice {
        instance,
        feature,
        seq,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_read_back_and_nothing_else_does() {
        assert_eq!(
            parse(&payload("a1b2", "user_roles", 42)),
            Some(Notice {
                instance: "a1b2",
                feature: "user_roles",
                seq: 42,
            })
        );
        for bad in [
            "",
            "a1b2",
            "a1b2 budgets",
            "a1b2 budgets x",
            "a b 1 extra",
            " budgets 1",
            "a1b2  1",
            "a1b2 budgets 7\n{\"type\":\"event\"}",
            "a1b2 budgets -1",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
