//! The generator's cache in `OUT_DIR`: the key of the last run (its
//! modules as collected, settings, template overrides, and the generator
//! itself) and a hash of every file it wrote. Cargo reruns a build script
//! on any change under `src/`, and most change no module: a run with the
//! last run's key whose files all still hash as written renders nothing.
//! The cache only ever saves time; a file missing or changed by hand, or
//! a cache that cannot be read, means a full run.

use std::collections::hash_map::DefaultHasher;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::path::Path;

use crate::error::Error;
use crate::{Generated, Prepared};

/// The cache's file in `OUT_DIR`.
pub const CACHE_FILE: &str = "aegis_build_cache.txt";

fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

/// `text` without the offsets of proc-macro2's spans (`bytes(8..14)`),
/// which grow with every file one process parses: the model's own
/// locations (file, line, column) stay.
fn without_spans(text: &str) -> String {
    const SPAN: &str = "bytes(";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(SPAN) {
        let after = &rest[at + SPAN.len()..];
        let offsets = after
            .find(')')
            .map(|end| (&after[..end], &after[end + 1..]));
        match offsets {
            Some((range, tail))
                if range.split_once("..").is_some_and(|(lo, hi)| {
                    lo.parse::<u64>().is_ok() && hi.parse::<u64>().is_ok()
                }) =>
            {
                out.push_str(&rest[..at]);
                rest = tail;
            }
            _ => {
                out.push_str(&rest[..at + SPAN.len()]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// What the run's output depends on, hashed.
pub(crate) fn key(prepared: &Prepared, docs_rs: bool) -> Result<u64, Error> {
    let mut hasher = DefaultHasher::new();
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    // The generator: the running build script is linked anew whenever
    // aegis-build changes, also between two versions of one number.
    if let Ok(exe) = std::env::current_exe()
        && let Ok(meta) = std::fs::metadata(exe)
    {
        meta.len().hash(&mut hasher);
        meta.modified().ok().hash(&mut hasher);
    }
    without_spans(&format!("{:?}", prepared.collected.settings)).hash(&mut hasher);
    for unit in &prepared.collected.modules {
        without_spans(&format!("{unit:?}")).hash(&mut hasher);
    }
    prepared.web_root.hash(&mut hasher);
    format!("{:?}", prepared.app).hash(&mut hasher);
    prepared.crate_ident.hash(&mut hasher);
    prepared.modules_mod.hash(&mut hasher);
    docs_rs.hash(&mut hasher);
    if let Some(dir) = prepared.templates.as_deref().filter(|dir| dir.is_dir()) {
        for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
            let entry = entry.map_err(|e| Error::io("list", dir, e.into()))?;
            if entry.file_type().is_file() {
                entry.path().hash(&mut hasher);
                let text =
                    std::fs::read(entry.path()).map_err(|e| Error::io("read", entry.path(), e))?;
                text.hash(&mut hasher);
            }
        }
    }
    Ok(hasher.finish())
}

/// The number of web files, when the last run had `key` and every file
/// it wrote still hashes as it did.
pub(crate) fn fresh(out_dir: &Path, web_root: &Path, key: u64) -> Option<usize> {
    let text = std::fs::read_to_string(out_dir.join(CACHE_FILE)).ok()?;
    let mut lines = text.lines();
    if lines.next()? != format!("key {key:016x}") {
        return None;
    }
    let mut web_files = 0;
    for line in lines {
        let (kind, rest) = line.split_once(' ')?;
        let (hash, name) = rest.split_once(' ')?;
        let path = match kind {
            "web" => {
                web_files += 1;
                web_root.join(name)
            }
            "rust" => out_dir.join(name),
            _ => return None,
        };
        let bytes = std::fs::read(path).ok()?;
        if format!("{:016x}", hash_bytes(&bytes)) != hash {
            return None;
        }
    }
    Some(web_files)
}

/// Keeps `key` and the files of a run that wrote (or checked) them all.
/// Under `DOCS_RS` no web file is written: nothing is kept.
pub(crate) fn save(out_dir: &Path, key: u64, generated: &Generated, docs_rs: bool) {
    if docs_rs {
        return;
    }
    let mut text = format!("key {key:016x}\n");
    for (path, contents) in &generated.web {
        let _ = writeln!(
            text,
            "web {:016x} {}",
            hash_bytes(contents.as_bytes()),
            path.display()
        );
    }
    for (name, contents) in &generated.rust {
        let _ = writeln!(text, "rust {:016x} {name}", hash_bytes(contents.as_bytes()));
    }
    // A cache that cannot be written costs the next run its time, nothing else.
    let _ = crate::write::write_if_changed(&out_dir.join(CACHE_FILE), &text);
}

#[cfg(test)]
mod tests {
    use super::without_spans;

    #[test]
    fn span_offsets_are_left_out() {
        let first: syn::Type = syn::parse_str("Option<String>").unwrap();
        let _other: syn::Type = syn::parse_str("Vec<u8>").unwrap();
        let second: syn::Type = syn::parse_str("Option<String>").unwrap();
        let (first, second) = (format!("{first:?}"), format!("{second:?}"));
        assert_ne!(first, second, "the offsets differ");
        assert_eq!(without_spans(&first), without_spans(&second));
        assert!(without_spans(&first).contains("sym: String"));
        assert_eq!(
            without_spans("label: \"bytes(a..b)\""),
            "label: \"bytes(a..b)\""
        );
    }
}
