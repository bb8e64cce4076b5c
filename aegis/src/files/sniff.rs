//! What a file is, read from its bytes, and what a name may be.

use crate::entity::FileRules;

/// Bytes read from the start of a file to tell its type.
pub(crate) const HEAD_BYTES: usize = 8192;

/// The longest name a file keeps, in characters.
pub(crate) const MAX_NAME_CHARS: usize = 255;

/// The content type of a file starting with `head`: what its magic
/// numbers say (the `infer` crate's table), else `text/plain` for UTF-8
/// text without control characters, else `application/octet-stream`.
pub(crate) fn content_type(head: &[u8]) -> String {
    if let Some(kind) = infer::get(head) {
        return kind.mime_type().to_owned();
    }
    if is_text(head) {
        "text/plain".to_owned()
    } else {
        "application/octet-stream".to_owned()
    }
}

fn is_text(head: &[u8]) -> bool {
    // A character cut by the end of the head is still text.
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(e) if e.error_len().is_none() => match std::str::from_utf8(&head[..e.valid_up_to()]) {
            Ok(text) => text,
            Err(_) => return false,
        },
        Err(_) => return false,
    };
    text.chars()
        .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t' | '\u{c}'))
}

/// A size as people read it, in decimal units as the web runtime's
/// `formatBytes` writes it: "12 bytes", "350 kB", "1.2 MB".
pub(crate) fn human_size(n: u64) -> String {
    if n < 1000 {
        return if n == 1 {
            "1 byte".into()
        } else {
            format!("{n} bytes")
        };
    }
    let rounded = |value: f64| {
        if value < 9.95 {
            format!("{}", (value * 10.0).round() / 10.0)
        } else {
            format!("{}", value.round())
        }
    };
    let units = ["kB", "MB", "GB", "TB"];
    let (mut value, mut unit) = (n as f64 / 1000.0, 0);
    // 999,999 bytes is "1 MB", not "1000 kB".
    while rounded(value).parse::<f64>().unwrap_or(0.0) >= 1000.0 && unit < units.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{} {}", rounded(value), units[unit])
}

/// Whether a type shows inline in a browser without running anything: the
/// raster images (not SVG, which may hold scripts).
pub(crate) fn is_image(content_type: &str) -> bool {
    matches!(
        content_type,
        "image/png" | "image/jpeg" | "image/gif" | "image/webp" | "image/avif" | "image/bmp"
    )
}

/// A person's name for a content type: "a PDF document", "a PNG image".
pub(crate) fn describe(content_type: &str) -> String {
    let known = match content_type {
        "application/pdf" => "a PDF document",
        "image/png" => "a PNG image",
        "image/jpeg" => "a JPEG image",
        "image/gif" => "a GIF image",
        "image/webp" => "a WebP image",
        "text/plain" => "plain text",
        "application/zip" => "a ZIP archive",
        "application/octet-stream" => "of no type the server knows",
        _ => return format!("of type {content_type}"),
    };
    known.to_owned()
}

/// Why a file of `content_type` is refused by `rules`, if it is.
pub(crate) fn refused(rules: &FileRules, label: &str, content_type: &str) -> Option<String> {
    if rules.types.is_empty() || rules.types.contains(&content_type) {
        return None;
    }
    Some(format!(
        "This file is {} ({content_type}); {label} takes {}.",
        describe(content_type),
        rules.types.join(", ")
    ))
}

/// What is wrong with a file's name, if anything: empty, too long, a
/// folder in it, or control characters.
pub(crate) fn bad_name(name: &str) -> Option<String> {
    // A byte order mark is no name either (JSON Schema's `\s` says so).
    if name
        .trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .is_empty()
    {
        return Some("a file needs a name".into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Some(format!(
            "a file's name has at most {MAX_NAME_CHARS} characters"
        ));
    }
    if name.contains(['/', '\\']) || name.chars().any(char::is_control) {
        return Some("a file's name has no folders or control characters".into());
    }
    None
}

/// `Content-Disposition` for a download of `name`: `inline` for an image,
/// `attachment` for anything else; the name as RFC 6266 sends any text
/// (`filename*`), and an ASCII one for old clients.
pub(crate) fn disposition(name: &str, content_type: &str) -> String {
    let kind = if is_image(content_type) {
        "inline"
    } else {
        "attachment"
    };
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(content_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "image/png");
        assert_eq!(content_type(b"%PDF-1.7\n%\xe2\xe3"), "application/pdf");
        assert_eq!(content_type("plain text, été\n".as_bytes()), "text/plain");
        // A character cut by the end of the head.
        assert_eq!(content_type(&"é".as_bytes()[..1]), "text/plain");
        assert_eq!(
            content_type(b"\0\x01\x02binary"),
            "application/octet-stream"
        );
    }

    #[test]
    fn a_refusal_says_what_the_file_is_and_what_the_field_takes() {
        let rules = FileRules {
            max_bytes: 10,
            types: &["application/pdf"],
        };
        assert_eq!(
            refused(&rules, "Contract", "image/png").as_deref(),
            Some("This file is a PNG image (image/png); Contract takes application/pdf.")
        );
        assert_eq!(refused(&rules, "Contract", "application/pdf"), None);
    }

    #[test]
    fn sizes_read_as_the_web_runtime_writes_them() {
        assert_eq!(human_size(1), "1 byte");
        assert_eq!(human_size(12), "12 bytes");
        assert_eq!(human_size(2000), "2 kB");
        assert_eq!(human_size(350_000), "350 kB");
        assert_eq!(human_size(999_999), "1 MB");
        assert_eq!(human_size(5_242_880), "5.2 MB");
        assert_eq!(human_size(150_000_000), "150 MB");
    }

    #[test]
    fn names() {
        assert!(bad_name("report.pdf").is_none());
        assert!(bad_name("  ").is_some());
        assert!(bad_name("\u{feff}").is_some());
        assert!(bad_name("../etc/passwd").is_some());
        assert!(bad_name("a\u{7}b").is_some());
        assert!(bad_name(&"x".repeat(256)).is_some());
    }

    #[test]
    fn downloads_are_attachments_but_for_images() {
        assert_eq!(
            disposition("Ré sumé \"1\".pdf", "application/pdf"),
            "attachment; filename=\"R_ sum_ _1_.pdf\"; \
             filename*=UTF-8''R%C3%A9%20sum%C3%A9%20%221%22.pdf"
        );
        assert!(disposition("a.png", "image/png").starts_with("inline;"));
        assert!(disposition("a.svg", "image/svg+xml").starts_with("attachment;"));
    }
}
