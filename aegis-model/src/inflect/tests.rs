//! `plural` against `pluralizer` itself.

use super::tables::{IRREGULAR, UNCOUNTABLE};
use super::*;

/// Every word of the rules' own vocabulary, in the contexts each rule
/// tells apart, plus every word of up to three letters and a large
/// pseudo-random sample: `plural` and `pluralizer` agree on each.
#[test]
fn plural_is_pluralizers_for_every_word_tried() {
    let mut pieces: Vec<&str> = vec![
        "pokemon", "deer", "fish", "measles", "pox", "sheep", "ese", "ois", "ous", "thou", "man",
        "men", "eaux", "child", "children", "person", "people", "ice", "ouse", "ix", "ex", "x",
        "ch", "ss", "sh", "zz", "ey", "quy", "y", "fe", "f", "sis", "ses", "a", "on", "um", "her",
        "at", "gr", "o", "im", "ae", "us", "i", "ias", "las", "as", "am", "s", "alias", "tlas",
        "tmas", "gas", "ris", "ax", "test", "is", "es", "ie", "ve", "ves",
    ];
    pieces.extend(
        STEM_RULES
            .iter()
            .flat_map(|rule| rule.stems.iter().copied()),
    );
    let mut words: Vec<String> = Vec::new();
    let letters: Vec<String> = ('a'..='z').map(String::from).collect();
    let heads = [
        "", "a", "b", "c", "e", "h", "i", "l", "o", "q", "r", "s", "t", "u", "1", "qu",
    ];
    for piece in pieces
        .iter()
        .copied()
        .chain(IRREGULAR.iter().flat_map(|(s, p)| [*s, *p]))
    {
        for head in heads
            .iter()
            .copied()
            .chain(letters.iter().map(String::as_str))
        {
            for tail in ["", "s", "es", "e", "a", "i", "um", "on", "y", "x", "1"] {
                words.push(format!("{head}{piece}{tail}"));
            }
        }
    }
    // Every stem with every ending its rule takes, and the classes of
    // `([^ch][ieo][ln])ey`, after every head.
    let stems: Vec<(&[&str], &[&str])> = STEM_RULES
        .iter()
        .map(|rule| (rule.stems, rule.endings))
        .chain([(
            &["child", "pe", "ax", "test"][..],
            &["", "s", "ren", "rson", "ople", "is", "es"][..],
        )])
        .collect();
    let mut combos: Vec<String> = stems
        .iter()
        .flat_map(|(stems, endings)| {
            stems
                .iter()
                .flat_map(move |stem| endings.iter().map(move |end| format!("{stem}{end}")))
        })
        .collect();
    for c in &letters {
        for v in ["i", "e", "o"] {
            for n in ["l", "n"] {
                combos.push(format!("{c}{v}{n}ey"));
            }
        }
    }
    for combo in &combos {
        for head in heads
            .iter()
            .copied()
            .chain(letters.iter().map(String::as_str))
        {
            words.push(format!("{head}{combo}"));
        }
    }
    words.extend(UNCOUNTABLE.iter().map(|w| (*w).to_owned()));
    for a in &letters {
        words.push(a.clone());
        for b in &letters {
            words.push(format!("{a}{b}"));
            for c in &letters {
                words.push(format!("{a}{b}{c}"));
            }
        }
    }
    // Letters weighted towards the ones the rules look at.
    let alphabet = b"aaeeiioouuyssllmnnrrttchxzqfdbgkpvw0123";
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..30_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = 2 + (seed % 9) as usize;
        let word: String = (0..len)
            .map(|i| alphabet[((seed >> (i * 5)) % alphabet.len() as u64) as usize] as char)
            .collect();
        words.push(word);
    }
    let mut differ = Vec::new();
    for word in &words {
        let ours = plural(word).expect("lowercase ASCII");
        let theirs = pluralizer::pluralize(word, 2, false);
        if ours != theirs {
            differ.push(format!("{word}: {ours} vs {theirs}"));
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {} differ: {:#?}",
        differ.len(),
        words.len(),
        &differ[..differ.len().min(40)]
    );
    assert!(words.len() > 100_000, "{}", words.len());
}

#[test]
fn other_words_are_left_to_pluralizer() {
    assert_eq!(plural("Budget"), None);
    assert_eq!(plural("café"), None);
    assert_eq!(plural("user_role"), None);
    assert_eq!(plural("budget").as_deref(), Some("budgets"));
}
