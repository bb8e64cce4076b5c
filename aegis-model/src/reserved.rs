//! Names generated TypeScript cannot use. Data, not logic, so the lists can
//! be read and tested on their own.

/// JavaScript and TypeScript words that cannot name a variable, parameter
/// or class (reserved words, strict-mode reserved words, and the globals
/// that strict mode forbids binding or that would shadow a value).
pub const RESERVED_WORDS: &[&str] = &[
    "arguments",
    "await",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "eval",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "implements",
    "import",
    "in",
    "instanceof",
    "interface",
    "let",
    "new",
    "null",
    "package",
    "private",
    "protected",
    "public",
    "return",
    "static",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "undefined",
    "var",
    "void",
    "while",
    "with",
    "yield",
];

/// Type names that generated files already use: TypeScript's built-in
/// types, browser and Angular types the generated components import, and
/// Aegis's shared runtime types. An entity with one of these names would
/// shadow it.
pub const TAKEN_TYPE_NAMES: &[&str] = &[
    // TypeScript and JavaScript
    "Array",
    "BigInt",
    "Boolean",
    "Date",
    "Error",
    "Function",
    "Map",
    "Math",
    "Number",
    "Object",
    "Omit",
    "Partial",
    "Pick",
    "Promise",
    "Readonly",
    "ReadonlyArray",
    "Record",
    "RegExp",
    "Required",
    "Set",
    "String",
    "Symbol",
    "JSON",
    // Browser
    "Blob",
    "Document",
    "Element",
    "Event",
    "File",
    "FormData",
    "Node",
    "Request",
    "Response",
    "WebSocket",
    "Window",
    // Angular and RxJS, as imported by generated components and services
    "Component",
    "Injectable",
    "Signal",
    "WritableSignal",
    "HttpClient",
    "HttpParams",
    "Observable",
    "Routes",
    "Sort",
    "PageEvent",
    // Aegis's shared runtime
    "BaseRealtimeStateManager",
    "ConnectionStatus",
    "ImportJobStatus",
    "ImportRowError",
    "JsonValue",
    "ListQuery",
    "ListResponse",
    "StateItem",
    "StateManagerConfig",
    "WebSocketService",
];

/// Property names that break plain objects and `Map` keys in JavaScript.
pub const RESERVED_PROPERTY_NAMES: &[&str] = &["__proto__", "constructor", "prototype"];

pub fn is_reserved_word(name: &str) -> bool {
    RESERVED_WORDS.contains(&name)
}

pub fn is_taken_type_name(name: &str) -> bool {
    TAKEN_TYPE_NAMES.contains(&name)
}

pub fn is_reserved_property(name: &str) -> bool {
    RESERVED_PROPERTY_NAMES.contains(&name)
}

/// Whether `name` can be written unquoted as a TypeScript identifier or
/// property name (ASCII only, which is all generated code needs).
pub fn is_ts_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_free_of_duplicates() {
        let mut words = RESERVED_WORDS.to_vec();
        words.sort_unstable();
        words.dedup();
        assert_eq!(
            words, RESERVED_WORDS,
            "keep RESERVED_WORDS sorted, once each"
        );
        let mut types = TAKEN_TYPE_NAMES.to_vec();
        types.sort_unstable();
        types.dedup();
        assert_eq!(
            types.len(),
            TAKEN_TYPE_NAMES.len(),
            "duplicate taken type name"
        );
    }

    #[test]
    fn reserved_words() {
        for word in [
            "class",
            "delete",
            "new",
            "import",
            "interface",
            "package",
            "yield",
        ] {
            assert!(is_reserved_word(word), "{word}");
        }
        for word in ["budget", "type", "string", "author", "userRole"] {
            assert!(!is_reserved_word(word), "{word}");
        }
    }

    #[test]
    fn taken_type_names() {
        for name in ["Event", "File", "Map", "WebSocketService", "JsonValue"] {
            assert!(is_taken_type_name(name), "{name}");
        }
        assert!(!is_taken_type_name("Budget"));
    }

    #[test]
    fn identifiers() {
        for ok in ["fiscalYear", "fiscal_year", "_x", "$id", "a1"] {
            assert!(is_ts_identifier(ok), "{ok}");
        }
        for bad in ["", "1a", "fiscal-year", "first name", "é"] {
            assert!(!is_ts_identifier(bad), "{bad}");
        }
        assert!(is_reserved_property("__proto__"));
        assert!(!is_reserved_property("name"));
    }
}
