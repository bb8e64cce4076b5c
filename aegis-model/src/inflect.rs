//! Plurals without regular expressions, for the words Aegis names modules
//! with: ASCII lowercase letters and digits.
//!
//! `pluralizer` compiles about a hundred regular expressions on its first
//! call. A proc macro is loaded afresh for every crate it expands in, and
//! runs unoptimised in a debug build, so `#[crud_module]` paid 57 ms per
//! crate for them before it wrote a line. [`plural`] gives the plural
//! `pluralizer` 0.6 gives for those words, rule by rule from its tables
//! (which come from pluralize.js); a test compares the two over a large
//! corpus, since a difference would rename a module. Other words go to
//! `pluralizer`.

mod tables;

use tables::{IRREGULAR, UNCOUNTABLE};

/// The plural of `word`, as `pluralizer::pluralize(word, 2, false)` gives
/// it; `None` for a word with anything but ASCII lowercase letters and
/// digits.
pub fn plural(word: &str) -> Option<String> {
    if !word
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return None;
    }
    // Already a plural, or an irregular singular.
    if IRREGULAR.iter().any(|(_, plural)| *plural == word) {
        return Some(word.to_owned());
    }
    if let Some((_, plural)) = IRREGULAR.iter().find(|(singular, _)| *singular == word) {
        return Some((*plural).to_owned());
    }
    if word.is_empty() || UNCOUNTABLE.contains(&word) {
        return Some(word.to_owned());
    }
    let (start, replacement) = rule(word);
    Some(format!("{}{replacement}", &word[..start]))
}

/// The rule that applies to `word`: where the replaced end starts, and what
/// replaces it. `pluralizer` takes the last rule of its list that matches;
/// here they are in the opposite order, the first that matches winning.
fn rule(w: &str) -> (usize, String) {
    uncountable_and_irregular(w)
        .or_else(|| english(w))
        .or_else(|| classical(w))
        .unwrap_or_else(|| match end(w, "s") {
            Some(start) => (start, "s".into()),
            None => (w.len(), "s".into()),
        })
}

/// The match from `start` kept as it is.
fn keep(w: &str, start: usize) -> (usize, String) {
    (start, w[start..].to_owned())
}

/// Uncountable endings, whole words and irregular ones (man, child,
/// person, mouse, matrix).
fn uncountable_and_irregular(w: &str) -> Option<(usize, String)> {
    // Uncountable patterns, added after the rules.
    if let Some(start) = any_end(w, &["pokemon", "deer", "fish", "measles", "pox", "sheep"])
        .or_else(|| end_after(w, "ese", |c| !b"aeiou".contains(&c)))
        .or_else(|| any_end(w, &["ois", "ous"]))
    {
        return Some(keep(w, start));
    }
    if w == "thou" {
        return Some((0, "you".into()));
    }
    if let Some(start) = any_end(w, &["man", "men"]) {
        return Some((start, "men".into()));
    }
    if let Some(start) = end(w, "eaux") {
        return Some(keep(w, start));
    }
    if let Some(start) = any_end(w, &["child", "children"]) {
        return Some((start, "children".into()));
    }
    if let Some(start) = any_end(w, &["person", "people"]) {
        return Some((start, "people".into()));
    }
    // `\b` before it: the word is the whole match.
    if let Some((stem, _)) = MOUSE.find(w).filter(|(_, s)| *s == 0) {
        return Some((0, format!("{stem}ice")));
    }
    if let Some((stem, start)) = MATRIX.find(w) {
        return Some((start, format!("{stem}ices")));
    }
    None
}

/// English endings: -es after sibilants, -ies, -ves.
fn english(w: &str) -> Option<(usize, String)> {
    if let Some(start) = any_end(w, &["x", "ch", "ss", "sh", "zz"]) {
        return Some(keep_then(w, start, "es"));
    }
    if let Some(start) = end(w, "ey").and_then(|at| at.checked_sub(3)).filter(|&at| {
        let b = w.as_bytes();
        !b"ch".contains(&b[at]) && b"ieo".contains(&b[at + 1]) && b"ln".contains(&b[at + 2])
    }) {
        return Some((start, format!("{}ies", &w[start..start + 3])));
    }
    if let Some(start) = end(w, "quy").or_else(|| end_after(w, "y", |c| !b"aeiouy".contains(&c))) {
        return Some((start, format!("{}ies", &w[start..w.len() - 1])));
    }
    let fe = KNIFE.find(w);
    let f = LEAF.find(w);
    if let Some((stem, start)) = longest(fe, f) {
        return Some((start, format!("{stem}ves")));
    }
    None
}

/// Greek and Latin endings, and the words their patterns leave alone.
fn classical(w: &str) -> Option<(usize, String)> {
    if let Some(start) = end(w, "sis") {
        return Some((start, "ses".into()));
    }
    if let Some((stem, start)) = GREEK.find(w) {
        return Some((start, format!("{stem}a")));
    }
    if let Some((stem, start)) = LATIN_UM.find(w) {
        return Some((start, format!("{stem}a")));
    }
    if let Some(start) = any_end(w, &["hero", "ato", "gro"]) {
        return Some(keep_then(w, start, "es"));
    }
    if let Some((stem, start)) = SERAPH.find(w) {
        return Some((start, format!("{stem}im")));
    }
    if let Some((stem, start)) = ALUMNA.find(w) {
        return Some((start, format!("{stem}ae")));
    }
    if let Some((stem, start)) = LATIN_US.find(w) {
        return Some((start, format!("{stem}i")));
    }
    if let Some(start) = end_after(w, "ias", |c| c != b'l')
        .into_iter()
        .chain(end_after(w, "las", |c| b"aeiou".contains(&c)))
        .chain(end_after(w, "as", |c| b"ejzr".contains(&c)))
        .chain(end_after(w, "am", |c| b"iu".contains(&c)))
        .min()
    {
        return Some(keep(w, start));
    }
    if let Some((stem, start)) = EMU.find(w) {
        return Some((start, format!("{stem}s")));
    }
    if let Some(start) = end(w, "alias")
        .into_iter()
        .chain(end_after(w, "us", |c| !b"aou".contains(&c)))
        .chain(any_end(w, &["tlas", "tmas", "gas", "ris"]))
        .min()
    {
        return Some(keep_then(w, start, "es"));
    }
    if let Some(start) = any_end(w, &["axis", "testis"]) {
        return Some((start, format!("{}es", &w[start..w.len() - 2])));
    }
    if let Some(start) = end_after(w, "ese", |c| !b"aeiou".contains(&c)) {
        return Some(keep(w, start));
    }
    None
}

/// The match from `start` kept, and `more` after it.
fn keep_then(w: &str, start: usize, more: &str) -> (usize, String) {
    (start, format!("{}{more}", &w[start..]))
}

/// Where `suffix` starts, if `w` ends with it.
fn end(w: &str, suffix: &str) -> Option<usize> {
    w.ends_with(suffix).then(|| w.len() - suffix.len())
}

/// Where the longest of `suffixes` that `w` ends with starts: the leftmost
/// match of alternatives anchored at the end, as a regex finds it.
fn any_end(w: &str, suffixes: &[&str]) -> Option<usize> {
    suffixes.iter().filter_map(|s| end(w, s)).min()
}

/// Where `[c]suffix` starts, when `w` ends with `suffix` after a byte that
/// passes `class`.
fn end_after(w: &str, suffix: &str, class: impl Fn(u8) -> bool) -> Option<usize> {
    let start = end(w, suffix)?.checked_sub(1)?;
    class(w.as_bytes()[start]).then_some(start)
}

/// A rule `(stem|...)(?:ending|...)$`: a stem, then one of its endings.
pub(crate) struct Stems {
    pub stems: &'static [&'static str],
    pub endings: &'static [&'static str],
}

impl Stems {
    /// The stem and start of the longest `stem ending` that `w` ends with.
    fn find(&self, w: &str) -> Option<(&'static str, usize)> {
        self.stems
            .iter()
            .flat_map(|stem| self.endings.iter().map(move |ending| (*stem, *ending)))
            .filter_map(|(stem, ending)| {
                let start = end(w, ending)?.checked_sub(stem.len())?;
                w[start..].starts_with(stem).then_some((stem, start))
            })
            .min_by_key(|(_, start)| *start)
    }
}

const MOUSE: Stems = Stems {
    stems: &["titm", "m", "l"],
    endings: &["ice", "ouse"],
};
const MATRIX: Stems = Stems {
    stems: &["matr", "cod", "mur", "sil", "vert", "ind", "append"],
    endings: &["ix", "ex"],
};
const KNIFE: Stems = Stems {
    stems: &["kni", "wi", "li"],
    endings: &["fe"],
};
const LEAF: Stems = Stems {
    stems: &["ar", "l", "ea", "eo", "oa", "hoo"],
    endings: &["f"],
};
const GREEK: Stems = Stems {
    stems: &[
        "apheli",
        "hyperbat",
        "periheli",
        "asyndet",
        "noumen",
        "phenomen",
        "criteri",
        "organ",
        "prolegomen",
        "hedr",
        "automat",
    ],
    endings: &["a", "on"],
};
const LATIN_UM: Stems = Stems {
    stems: &[
        "agend",
        "addend",
        "millenni",
        "dat",
        "extrem",
        "bacteri",
        "desiderat",
        "strat",
        "candelabr",
        "errat",
        "ov",
        "symposi",
        "curricul",
        "automat",
        "quor",
    ],
    endings: &["a", "um"],
};
const SERAPH: Stems = Stems {
    stems: &["seraph", "cherub"],
    endings: &["im", ""],
};
const ALUMNA: Stems = Stems {
    stems: &["alumn", "alg", "vertebr"],
    endings: &["a", "ae"],
};
const LATIN_US: Stems = Stems {
    stems: &[
        "alumn", "syllab", "vir", "radi", "nucle", "fung", "cact", "stimul", "termin", "bacill",
        "foc", "uter", "loc", "strat",
    ],
    endings: &["us", "i"],
};
const EMU: Stems = Stems {
    stems: &["emu", "enu"],
    endings: &["s", ""],
};

/// Every stem rule, for the tests.
#[cfg(test)]
const STEM_RULES: [&Stems; 10] = [
    &MOUSE, &MATRIX, &KNIFE, &LEAF, &GREEK, &LATIN_UM, &SERAPH, &ALUMNA, &LATIN_US, &EMU,
];

fn longest<'a>(
    a: Option<(&'a str, usize)>,
    b: Option<(&'a str, usize)>,
) -> Option<(&'a str, usize)> {
    a.into_iter().chain(b).min_by_key(|(_, start)| *start)
}

#[cfg(test)]
mod tests;
