//! The function rule: no hand-written Rust function over
//! [`MAX_FUNCTION_LINES`] lines, from its `fn` to its closing brace. Tests
//! are aside (files under `tests/`, modules declared `#[cfg(test)]`, in
//! their own file or not), and so is generated code (`@generated` files,
//! the generator's golden fixtures). TypeScript's functions are held to
//! the same length by ESLint's `max-lines-per-function`.

use std::collections::BTreeSet;

/// The longest a hand-written function may be.
pub const MAX_FUNCTION_LINES: usize = 80;

/// A function over the limit: its name, first line and length.
#[derive(Debug, PartialEq, Eq)]
pub struct Long {
    pub name: String,
    pub line: usize,
    pub lines: usize,
}

/// Whether the file at `path` holds tests only: it is under `tests/` or
/// `benches/`, or among `declared`, the files of `#[cfg(test)] mod x;`s.
pub fn is_test_file(path: &str, declared: &BTreeSet<String>) -> bool {
    path.split('/')
        .any(|part| part == "tests" || part == "benches")
        || declared.contains(path)
}

/// The files of the modules that the file at `path` declares with
/// `#[cfg(test)] mod name;` (with or without `#[path = "..."]`).
pub fn test_module_files(path: &str, source: &str) -> Vec<String> {
    let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
    let stem = file.trim_end_matches(".rs");
    let owns_dir = matches!(stem, "mod" | "lib" | "main");
    let join = |tail: String| {
        if dir.is_empty() {
            tail
        } else {
            format!("{dir}/{tail}")
        }
    };
    let mut files = Vec::new();
    for (at, _) in source.match_indices("#[cfg(test)]") {
        let mut rest = source[at + "#[cfg(test)]".len()..].trim_start();
        let mut given = None;
        if let Some(attr) = rest.strip_prefix("#[path = \"") {
            let Some((file, after)) = attr.split_once("\"]") else {
                continue;
            };
            given = Some(file);
            rest = after.trim_start();
        }
        let Some((name, _)) = rest.strip_prefix("mod ").and_then(|d| d.split_once(';')) else {
            continue;
        };
        let name = name.trim();
        match given {
            Some(file) => files.push(join(file.to_owned())),
            None => {
                let base = if owns_dir {
                    String::new()
                } else {
                    format!("{stem}/")
                };
                files.push(join(format!("{base}{name}.rs")));
                files.push(join(format!("{base}{name}/mod.rs")));
            }
        }
    }
    files
}

/// The functions of `source` (a Rust file) longer than `max` lines,
/// outside `#[cfg(test)]` modules.
pub fn long_functions(source: &str, max: usize) -> Vec<Long> {
    let code = blank_comments_and_literals(source);
    let bytes = code.as_bytes();
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let tests = test_modules(&code);
    let mut long = Vec::new();
    let mut at = 0;
    while let Some(found) = code[at..].find("fn ") {
        let start = at + found;
        at = start + 3;
        let word_start = start == 0 || !is_ident(bytes[start - 1]);
        if !word_start || tests.iter().any(|r| r.contains(&start)) {
            continue;
        }
        let name: String = code[at..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            continue;
        }
        let Some(body) = body_of(&code, at) else {
            continue;
        };
        let lines = line_of(body.end) - line_of(start) + 1;
        if lines > max {
            long.push(Long {
                name,
                line: line_of(start),
                lines,
            });
        }
    }
    long
}

fn is_ident(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// The byte range of the body of the function whose signature starts at
/// `from`, from its `{` to its `}`; `None` for a declaration (`;`).
fn body_of(code: &str, from: usize) -> Option<std::ops::Range<usize>> {
    let bytes = code.as_bytes();
    let open = from + code[from..].find(['{', ';'])?;
    if bytes[open] == b';' {
        return None;
    }
    let mut depth = 0usize;
    for (offset, byte) in bytes[open..].iter().enumerate() {
        match byte {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open..open + offset);
                }
            }
            _ => {}
        }
    }
    None
}

/// The byte ranges of `#[cfg(test)] mod … { … }` blocks.
fn test_modules(code: &str) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut at = 0;
    while let Some(found) = code[at..].find("#[cfg(test)]") {
        let start = at + found;
        at = start + 1;
        let rest = code[start + "#[cfg(test)]".len()..].trim_start();
        if !(rest.starts_with("mod ") || rest.starts_with("pub mod ")) {
            continue;
        }
        if let Some(body) = body_of(code, start) {
            at = body.end;
            ranges.push(start..body.end);
        }
    }
    ranges
}

/// `source` with every comment and string or character literal's
/// content replaced by spaces (newlines kept), so that braces and `fn`s
/// inside them count for nothing and lines stay where they were.
fn blank_comments_and_literals(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let skipped = match (c, next) {
            ('/', Some('/')) => until(&chars, i, |j| chars[j] == '\n'),
            ('/', Some('*')) => block_comment(&chars, i),
            ('"', _) => string_end(&chars, i + 1),
            ('r', Some('#' | '"')) if i == 0 || !is_ident_char(chars[i - 1]) => {
                raw_string(&chars, i).unwrap_or(i + 1)
            }
            ('\'', _) => char_literal(&chars, i).unwrap_or(i + 1),
            _ => i + 1,
        };
        if skipped == i + 1 {
            out.push(c);
        } else {
            out.extend(chars[i..skipped].iter().map(|&c| blank(c)));
        }
        i = skipped;
    }
    out
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The index of the first `j > i` where `stop(j)`, or the end.
fn until(chars: &[char], i: usize, stop: impl Fn(usize) -> bool) -> usize {
    (i + 1..chars.len())
        .find(|&j| stop(j))
        .unwrap_or(chars.len())
}

fn block_comment(chars: &[char], i: usize) -> usize {
    let mut depth = 0;
    let mut j = i;
    while j + 1 < chars.len() {
        match (chars[j], chars[j + 1]) {
            ('/', '*') => {
                depth += 1;
                j += 2;
            }
            ('*', '/') => {
                depth -= 1;
                j += 2;
                if depth == 0 {
                    return j;
                }
            }
            _ => j += 1,
        }
    }
    chars.len()
}

/// Past the closing quote of a string whose content starts at `i`.
fn string_end(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

/// Past a raw string `r#"…"#` starting at `i`, if one does.
fn raw_string(chars: &[char], i: usize) -> Option<usize> {
    let hashes = chars[i + 1..].iter().take_while(|&&c| c == '#').count();
    if chars.get(i + 1 + hashes) != Some(&'"') {
        return None;
    }
    let mut j = i + 2 + hashes;
    while j < chars.len() {
        if chars[j] == '"'
            && chars[j + 1..]
                .iter()
                .take(hashes)
                .filter(|&&c| c == '#')
                .count()
                == hashes
        {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(chars.len())
}

/// Past a character literal at `i` (`'a'`, `'\n'`, `'\u{1F600}'`);
/// `None` for a lifetime or label (`'a`).
fn char_literal(chars: &[char], i: usize) -> Option<usize> {
    match chars.get(i + 1)? {
        '\\' => {
            let close = (i + 2..chars.len().min(i + 12)).find(|&j| chars[j] == '\'')?;
            Some(close + 1)
        }
        _ if chars.get(i + 2) == Some(&'\'') => Some(i + 3),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_functions_from_fn_to_their_closing_brace() {
        let source = "fn short() {\n    1;\n}\n\n/// Doc.\npub async fn longer(x: u8) -> u8 {\n    let s = \"}\";\n    // }\n    let c = '}';\n    let r = r#\"fn x() { \"#;\n    x\n}\n";
        assert_eq!(
            long_functions(source, 3),
            [Long {
                name: "longer".to_owned(),
                line: 6,
                lines: 7
            }]
        );
        assert!(long_functions(source, 7).is_empty());
    }

    #[test]
    fn lifetimes_declarations_and_test_modules_count_for_nothing() {
        let source = "trait T {\n    fn declared(&self);\n}\nfn borrow<'a>(x: &'a str) -> &'a str {\n    x\n}\n#[cfg(test)]\nmod tests {\n    fn helper() {\n\n\n\n    }\n}\n";
        assert_eq!(
            long_functions(source, 2),
            [Long {
                name: "borrow".to_owned(),
                line: 4,
                lines: 3
            }]
        );
        let declared: BTreeSet<String> = [
            test_module_files(
                "aegis/src/server/config.rs",
                "#[cfg(test)]\n#[path = \"config_tests.rs\"]\nmod tests;\n",
            ),
            test_module_files("m/src/inflect.rs", "#[cfg(test)]\nmod tests;\n"),
            test_module_files("m/src/lib.rs", "#[cfg(test)]\nmod corpus;\nmod real;\n"),
        ]
        .concat()
        .into_iter()
        .collect();
        for test in [
            "aegis/tests/relations/main.rs",
            "aegis/src/server/config_tests.rs",
            "m/src/inflect/tests.rs",
            "m/src/corpus.rs",
        ] {
            assert!(is_test_file(test, &declared), "{test}");
        }
        for code in [
            "aegis/src/server/config.rs",
            "m/src/real.rs",
            "b/src/rust_out/event_tests.rs",
        ] {
            assert!(!is_test_file(code, &declared), "{code}");
        }
    }
}
