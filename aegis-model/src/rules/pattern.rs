//! Rule patterns: the syntax Rust's `regex` and a JavaScript `u` regular
//! expression read alike, and a text a pattern matches, for samples.

/// Escapes whose meaning differs between Rust's `regex` and a JavaScript
/// `u` regular expression, and what to write instead.
const DIVERGING_ESCAPES: [(&str, &str); 8] = [
    ("\\d", "[0-9]"),
    ("\\D", "[^0-9]"),
    ("\\w", "[A-Za-z0-9_]"),
    ("\\W", "[^A-Za-z0-9_]"),
    ("\\b", "an explicit class"),
    ("\\B", "an explicit class"),
    ("\\A", "nothing: the pattern always matches the whole text"),
    ("\\z", "nothing: the pattern always matches the whole text"),
];

/// A text `pattern` matches whole and that has at least `min_length`
/// characters, for sample values: each class's first letter or digit (else
/// its first printable character), each repetition its least count plus as
/// many more as it takes (one more for `variant` 1), each alternation the
/// branch `variant` picks. `None` when it cannot say.
pub fn pattern_example(pattern: &str, variant: u8, min_length: u32) -> Option<String> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    (u32::from(variant)..64).find_map(|extra| {
        let mut out = String::new();
        write_example(&hir, variant, extra, &mut out)?;
        (out.chars().count() >= min_length as usize).then_some(out)
    })
}

fn write_example(
    hir: &regex_syntax::hir::Hir,
    variant: u8,
    extra: u32,
    out: &mut String,
) -> Option<()> {
    use regex_syntax::hir::{Class, HirKind};
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(literal) => out.push_str(std::str::from_utf8(&literal.0).ok()?),
        HirKind::Class(Class::Unicode(class)) => {
            let chars = || class.ranges().iter().flat_map(|r| r.start()..=r.end());
            let pick = chars()
                .find(char::is_ascii_alphanumeric)
                .or_else(|| chars().find(|c| !c.is_control()))
                .or_else(|| chars().next())?;
            out.push(pick);
        }
        HirKind::Class(Class::Bytes(_)) => return None,
        HirKind::Repetition(repetition) => {
            let room = repetition
                .max
                .map_or(extra, |max| (max - repetition.min).min(extra));
            for _ in 0..repetition.min + room {
                write_example(&repetition.sub, variant, extra, out)?;
            }
        }
        HirKind::Capture(capture) => write_example(&capture.sub, variant, extra, out)?,
        HirKind::Concat(items) => {
            for item in items {
                write_example(item, variant, extra, out)?;
            }
        }
        HirKind::Alternation(items) => {
            write_example(
                &items[usize::from(variant) % items.len()],
                variant,
                extra,
                out,
            )?;
        }
    }
    Some(())
}

/// Why a pattern cannot be used, if it cannot: it does not parse, or it
/// uses syntax Rust and the browser read differently.
pub(super) fn pattern_problem(pattern: &str) -> Option<String> {
    if let Err(error) = regex_syntax::Parser::new().parse(pattern) {
        return Some(format!("the pattern does not parse: {error}"));
    }
    let mut chars = pattern.chars().peekable();
    let mut escaped = false;
    let mut previous = None;
    while let Some(c) = chars.next() {
        if escaped {
            escaped = false;
            let escape = format!("\\{c}");
            if let Some((_, instead)) = DIVERGING_ESCAPES.iter().find(|(e, _)| *e == escape) {
                return Some(format!(
                    "`{escape}` means different things in Rust and in the browser; write \
                     {instead}"
                ));
            }
            if matches!(c, 'p' | 'P') && chars.peek() != Some(&'{') {
                return Some(format!(
                    "write `\\{c}{{...}}` with braces, which both Rust and the browser read"
                ));
            }
        } else if c == '\\' {
            escaped = true;
        } else if c == '?' && previous == Some('(') && chars.peek() != Some(&':') {
            return Some(
                "only `(?:...)` groups read the same in Rust and in the browser; flags, \
                 names and look-arounds do not"
                    .to_owned(),
            );
        }
        previous = Some(c);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_that_read_alike_pass_and_others_say_why() {
        assert_eq!(pattern_problem("[A-Z]{3}-[0-9]+"), None);
        assert_eq!(pattern_problem("\\p{L}+(?:\\.[a-z]+)*"), None);
        assert!(pattern_problem("\\d+").unwrap().contains("[0-9]"));
        assert!(pattern_problem("(?i)abc").unwrap().contains("(?:"));
        assert!(
            pattern_problem("(?<year>[0-9]{4})")
                .unwrap()
                .contains("(?:")
        );
        assert!(pattern_problem("\\pL").unwrap().contains("braces"));
        assert!(pattern_problem("[a-").unwrap().contains("does not parse"));
        // An escaped backslash is no escape of what follows.
        assert_eq!(pattern_problem("a\\\\d"), None);
    }

    #[test]
    fn examples_match_their_pattern() {
        assert_eq!(
            pattern_example("[A-Z]{3}-[0-9]+", 0, 0).as_deref(),
            Some("AAA-0")
        );
        assert_eq!(
            pattern_example("[A-Z]{3}-[0-9]+", 1, 0).as_deref(),
            Some("AAA-00")
        );
        assert_eq!(pattern_example("EUR|USD", 1, 0).as_deref(), Some("USD"));
        assert_eq!(
            pattern_example("\\p{L}+(?: \\p{L}+)*", 0, 0).as_deref(),
            Some("A")
        );
        assert_eq!(pattern_example(".{2}", 0, 0).as_deref(), Some("00"));
        // Long enough for a length rule, still matching.
        assert_eq!(pattern_example("[A-Z0-9-]+", 0, 3).as_deref(), Some("000"));
        assert_eq!(pattern_example("[a-z]{2}", 0, 3), None);
    }
}
