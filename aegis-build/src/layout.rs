//! Generated TypeScript laid out as Prettier lays it out (the web app's
//! `.prettierrc`: 100 columns, single quotes, trailing commas), where the
//! layout depends on the length of names: a list (an import's names, an
//! array) stays on one line when it fits, else takes a line per item.
//! `cargo xtask test` checks every generated file with Prettier itself.

/// The column Prettier wraps at (`printWidth`).
pub(crate) const WIDTH: usize = aegis_model::ts::PRINT_WIDTH;

/// A bracketed list after `prefix`, followed by `suffix`, at `indent`
/// columns: `prefix{open}a, b{close}suffix` on one line when it fits (with
/// a space inside the brackets when `padded`, as `{ a }`), else each item
/// on its own line, two columns further in, with a trailing comma.
pub(crate) fn list(
    indent: usize,
    prefix: &str,
    (open, close): (&str, &str),
    items: &[String],
    padded: bool,
    suffix: &str,
) -> String {
    let pad = if padded && !items.is_empty() { " " } else { "" };
    let one = format!(
        "{prefix}{open}{pad}{}{pad}{close}{suffix}",
        items.join(", ")
    );
    if items.is_empty() || indent + one.chars().count() <= WIDTH {
        return one;
    }
    let inner = " ".repeat(indent + 2);
    let mut text = format!("{prefix}{open}\n");
    for item in items {
        text.push_str(&format!("{inner}{item},\n"));
    }
    text.push_str(&format!("{}{close}{suffix}", " ".repeat(indent)));
    text
}

/// A type union after `prefix` (`type X =`), followed by `suffix`:
/// `prefix a | b;` on one line when it fits, else the members on the next
/// line, else a line per member behind a `|`, as Prettier breaks a union.
pub(crate) fn union(prefix: &str, members: &[String], suffix: &str) -> String {
    let one = format!("{prefix} {}{suffix}", members.join(" | "));
    if one.chars().count() <= WIDTH {
        return one;
    }
    let next = format!("  {}{suffix}", members.join(" | "));
    if next.chars().count() <= WIDTH {
        return format!("{prefix}\n{next}");
    }
    let lines: Vec<String> = members.iter().map(|m| format!("\n  | {m}")).collect();
    format!("{prefix}{}{suffix}", lines.concat())
}

/// An array of object literals of more than one property each: a line per
/// object when there is more than one (Prettier's rule for such arrays),
/// else as [`list`] lays it out.
pub(crate) fn objects(indent: usize, prefix: &str, objects: &[String], suffix: &str) -> String {
    if objects.len() < 2 {
        return list(indent, prefix, ("[", "]"), objects, false, suffix);
    }
    let inner = " ".repeat(indent + 2);
    let lines: String = objects.iter().map(|o| format!("{inner}{o},\n")).collect();
    format!("{prefix}[\n{lines}{}]{suffix}", " ".repeat(indent))
}

/// `import { a, b } from 'path';`, broken over lines when it is too long
/// (as Prettier does, never an import of one name).
pub(crate) fn import(names: &[String], path: &str) -> String {
    let from = format!(" from '{path}';");
    if let [name] = names {
        return format!("import {{ {name} }}{from}");
    }
    list(0, "import ", ("{", "}"), names, true, &from)
}

/// An HTML element with text inside, `<td ...>text</td>`, at `indent`: on
/// its line when it fits, else its text on a line of its own between the
/// tags, as Prettier writes an element whose inside may take whitespace.
pub(crate) fn element(indent: usize, element: &str) -> String {
    let element = element.trim();
    if indent + element.chars().count() <= WIDTH {
        return element.to_owned();
    }
    let mut quote = None;
    let open_end = element.char_indices().find_map(|(i, c)| {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i + 1),
            _ => {}
        }
        None
    });
    let close_start = element.rfind("</");
    match (open_end, close_start) {
        (Some(open), Some(close)) if open <= close => {
            let inner = " ".repeat(indent + 2);
            let outer = " ".repeat(indent);
            format!(
                "{}\n{inner}{}\n{outer}{}",
                &element[..open],
                self_closing(indent + 2, element[open..close].trim()),
                &element[close..]
            )
        }
        _ => element.to_owned(),
    }
}

/// A self-closing element (`<x a="1" b="2" />`) at `indent`, its
/// attributes one a line when it does not fit, as Prettier writes it;
/// anything else as it is.
fn self_closing(indent: usize, element: &str) -> String {
    let Some(body) = element
        .strip_prefix('<')
        .and_then(|rest| rest.strip_suffix("/>"))
    else {
        return element.to_owned();
    };
    if indent + element.chars().count() <= WIDTH {
        return element.to_owned();
    }
    // Split at spaces outside quotes: the tag, then each attribute.
    let (mut parts, mut current, mut quote) = (Vec::new(), String::new(), None);
    for c in body.trim().chars() {
        match (quote, c) {
            (None, ' ') => {
                if !current.is_empty() {
                    parts.push(std::mem::take(&mut current));
                }
                continue;
            }
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    let pad = " ".repeat(indent + 2);
    let attributes: String = parts[1..]
        .iter()
        .map(|attribute| format!("\n{pad}{attribute}"))
        .collect();
    format!("<{}{attributes}\n{}/>", parts[0], " ".repeat(indent))
}

/// An object's property holding an arrow function without parameters, at
/// `indent`: `key: () => body,` when it fits, else the body on the next
/// line, two columns further in.
pub(crate) fn arrow_property(indent: usize, key: &str, body: &str) -> String {
    let one = format!("{key}: () => {body},");
    if indent + one.chars().count() <= WIDTH {
        return one;
    }
    format!("{key}: () =>\n{}{body},", " ".repeat(indent + 2))
}

/// An object's property loading `export` of the module at `path` when
/// called, at `indent`: as [`arrow_property`] lays it out while the chain
/// fits its line, else with `then`'s argument on a line of its own.
pub(crate) fn lazy_property(indent: usize, key: &str, path: &str, export: &str) -> String {
    let body = format!("import('{path}').then((m) => m.{export})");
    // On a line of its own, the body ends with a comma.
    if indent + 2 + format!("{body},").chars().count() <= WIDTH {
        return arrow_property(indent, key, &body);
    }
    let pad = |n: usize| " ".repeat(indent + n);
    format!(
        "{key}: () =>\n{}import('{path}').then(\n{}(m) => m.{export},\n{}),",
        pad(2),
        pad(4),
        pad(2)
    )
}

/// A TypeScript string literal as Prettier writes it: single-quoted,
/// unless the text holds more single quotes than double ones.
pub(crate) fn quoted(text: &str) -> String {
    let singles = text.matches('\'').count();
    if singles > text.matches('"').count() {
        let escaped = aegis_model::ts::escape_single_quoted(text)
            .replace("\\'", "'")
            .replace('"', "\\\"");
        format!("\"{escaped}\"")
    } else {
        format!("'{}'", aegis_model::ts::escape_single_quoted(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("Name{i}")).collect()
    }

    #[test]
    fn a_lazy_load_breaks_as_prettier_does() {
        assert_eq!(
            lazy_property(6, "load", "../a", "A"),
            "load: () => import('../a').then((m) => m.A),"
        );
        let path = format!("../../{}", "b".repeat(40));
        assert_eq!(
            lazy_property(6, "load", &path, "BListComponent"),
            format!("load: () =>\n        import('{path}').then((m) => m.BListComponent),")
        );
        let path = format!("../../{}", "c".repeat(70));
        assert_eq!(
            lazy_property(6, "load", &path, "CListComponent"),
            format!(
                "load: () =>\n        import('{path}').then(\n          (m) => m.CListComponent,\n        ),"
            )
        );
    }

    #[test]
    fn a_list_stays_on_its_line_while_it_fits() {
        assert_eq!(
            import(&names(2), "./x"),
            "import { Name0, Name1 } from './x';"
        );
        let one = import(&names(1), &"x".repeat(WIDTH));
        assert_eq!(one.lines().count(), 1, "one name is never broken");
        let long = import(&names(12), "../../../shared/business/services/x");
        assert!(long.starts_with("import {\n  Name0,\n  Name1,\n"), "{long}");
        assert!(long.ends_with("  Name11,\n} from '../../../shared/business/services/x';"));
        // Exactly 100 columns fits; 101 does not.
        let item = vec!["x".repeat(WIDTH - 3)];
        let fits = list(0, "", ("[", "]"), &item, false, ",");
        assert_eq!((fits.len(), fits.lines().count()), (WIDTH, 1));
        let breaks = list(1, "", ("[", "]"), &item, false, ",");
        assert_eq!(breaks.lines().count(), 3, "{breaks}");
    }

    #[test]
    fn an_element_too_long_puts_its_text_between_its_tags() {
        let short = "<td mat-cell>{{ row.name }}</td>";
        assert_eq!(element(8, short), short);
        let text = "x".repeat(WIDTH);
        let long = format!("<td mat-cell class=\"a>b\">{{{{ {text} }}}}</td>");
        assert_eq!(
            element(8, &long),
            format!("<td mat-cell class=\"a>b\">\n          {{{{ {text} }}}}\n        </td>")
        );
    }

    #[test]
    fn quotes_as_typescript_does() {
        assert_eq!(quoted("plain"), "'plain'");
        assert_eq!(quoted("it's"), r#""it's""#);
        assert_eq!(quoted(r#"a 'b' "c""#), r#"'a \'b\' "c"'"#);
    }
}
