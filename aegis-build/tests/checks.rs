//! The checks that need every module in view or the field's type:
//! rules in modules.toml, references, cycles of required references; each
//! reported with file, line and column.

mod common;

use common::{Crate, GENERATOR};

#[test]
fn manifest_rules_are_checked_against_the_field_type_at_their_field() {
    let krate = Crate::new(
        &format!(
            "{GENERATOR}[modules.contacts]\nfields = {{ id = \"i64\", age = {{ type = \"i32\", \
             min = 0.5 }}, name = {{ type = \"string\", min = 1 }}, code = {{ type = \
             \"string\", pattern = \"\\\\w+\" }} }}\n"
        ),
        &[],
    );
    let problems = krate.problems();
    // Each at its field's table: line 4, the column where the table starts.
    let messages: Vec<(usize, usize, &str)> = problems
        .iter()
        .map(|(_, line, column, message)| (*line, *column, message.as_str()))
        .collect();
    assert_eq!(
        messages,
        [
            (4, 30, "`age` holds whole numbers, so `min` must be one"),
            (4, 66, "`min` bounds a number, and `name` holds no number"),
            (
                4,
                103,
                "`\\w` means different things in Rust and in the browser; write [A-Za-z0-9_]"
            ),
        ],
        "{problems:?}"
    );
}

#[test]
fn a_reference_names_a_module_and_holds_its_ids_type() {
    let krate = Crate::new(
        GENERATOR,
        &[(
            "lib.rs",
            "use aegis::crud_module;\n\
             #[crud_module]\npub struct Department { pub id: String, pub name: String }\n\
             #[crud_module]\npub struct Budget {\n    pub id: i64,\n    \
             #[crud(references = \"departments\")]\n    pub department: i64,\n    \
             #[crud(references = \"autors\")]\n    pub author: Option<i64>,\n}\n\
             #[crud_module]\npub struct Author { pub id: i64 }\n",
        )],
    );
    let problems = krate.problems();
    let messages: Vec<(usize, &str)> = problems
        .iter()
        .map(|(_, line, _, message)| (*line, message.as_str()))
        .collect();
    assert_eq!(
        messages,
        [
            (
                8,
                "`department` is `i64` but the id of `departments` (`id`, at src/lib.rs:3:29) \
                 is `String`; a reference holds the id's type"
            ),
            (
                10,
                "`author` references `autors`, which is no module; did you mean `authors`?"
            ),
        ],
        "{problems:?}"
    );
}

#[test]
fn a_many_to_many_field_links_a_module_with_events_by_its_ids_type() {
    let krate = Crate::new(
        GENERATOR,
        &[(
            "lib.rs",
            "use aegis::crud_module;\n\
             #[crud_module(with_events)]\npub struct Tag { pub id: String, pub version: i64 }\n\
             #[crud_module]\npub struct Label { pub id: i64 }\n\
             #[crud_module(with_events)]\npub struct Post {\n    pub id: i64,\n    pub version: i64,\n    \
             #[crud(many = \"tags\")]\n    pub tags: Vec<i64>,\n    \
             #[crud(many = \"tgas\")]\n    pub more: Vec<i64>,\n    \
             #[crud(many = \"labels\")]\n    pub labels: Vec<i64>,\n}\n\
             #[crud_module]\npub struct PostsLabels { pub id: i64 }\n",
        )],
    );
    let problems = krate.problems();
    let messages: Vec<(usize, &str)> = problems
        .iter()
        .map(|(_, line, _, message)| (*line, message.as_str()))
        .collect();
    assert_eq!(
        messages,
        [
            (
                11,
                "`tags` is `Vec<i64>` but the id of `tags` (`id`) is `String`; a many-to-many \
                 field lists the linked module's ids"
            ),
            (
                13,
                "`more` links `tgas`, which is no module; did you mean `tags`?"
            ),
            (
                15,
                "`labels` links `labels`, which has no events, from `posts`, which has: its \
                 rows' links could not follow the linked rows live; add `with_events` to \
                 `labels`"
            ),
            (
                15,
                "`labels` keeps its links in the table `posts_labels`, which is a module's; \
                 rename the field or the module"
            ),
        ],
        "{problems:?}"
    );
}

#[test]
fn two_link_tables_of_one_name_are_refused() {
    let krate = Crate::new(
        GENERATOR,
        &[(
            "lib.rs",
            "use aegis::crud_module;\n\
             #[crud_module]\npub struct Tag { pub id: i64 }\n\
             #[crud_module(name = \"a_b\")]\npub struct Ab { pub id: i64, #[crud(many = \"tags\")] pub c: Vec<i64> }\n\
             #[crud_module(name = \"a\")]\npub struct A { pub id: i64, #[crud(many = \"tags\")] pub b_c: Vec<i64> }\n",
        )],
    );
    let problems = krate.problems();
    let messages: Vec<(usize, &str)> = problems
        .iter()
        .map(|(_, line, _, message)| (*line, message.as_str()))
        .collect();
    assert_eq!(
        messages,
        [(
            5,
            "`c` keeps its links in the table `a_b_c`, which `a.b_c` keeps its links in too; \
             rename the field or the module"
        )],
        "{problems:?}"
    );
}

#[test]
fn required_references_in_a_cycle_are_refused() {
    let krate = Crate::new(
        GENERATOR,
        &[(
            "lib.rs",
            "use aegis::crud_module;\n\
             #[crud_module]\npub struct Team { pub id: i64, #[crud(references = \"people\")] pub lead: i64 }\n\
             #[crud_module]\npub struct Person { pub id: i64, #[crud(references = \"teams\")] pub team: i64 }\n\
             #[crud_module]\npub struct Folder { pub id: i64, #[crud(references = \"folders\")] pub parent: Option<i64> }\n",
        )],
    );
    let problems = krate.problems();
    // In module order (people, teams); an optional self-reference is fine.
    let lines: Vec<usize> = problems.iter().map(|(_, line, _, _)| *line).collect();
    assert_eq!(lines, [5, 3], "{problems:?}");
    assert!(
        problems[0]
            .3
            .contains("`team` is required and its references lead back to `people`")
    );
    assert!(
        problems[1]
            .3
            .contains("`lead` is required and its references lead back to `teams`")
    );
}
