//! A few small text helpers, and their tests: the `textkit` artifact (the library's unit
//! tests). One test fails on purpose, one is `#[ignore]`d and one is `#[should_panic]`, so
//! that a run shows how wasitest reports each.

use std::collections::BTreeMap;

/// The number of whitespace-separated words.
pub fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

/// The text with the first letter of every word in upper case.
pub fn capitalize(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `key=value` pairs separated by `;`, e.g. `a=1; b=2`. Panics on an empty key.
pub fn parse_pairs(text: &str) -> BTreeMap<String, String> {
    text.split(';')
        .filter(|pair| !pair.trim().is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = key.trim();
            assert!(!key.is_empty(), "empty key in {pair:?}");
            (key.to_string(), value.trim().to_string())
        })
        .collect()
}

/// The sum of the lengths of the words; words are counted in bytes.
pub fn letters(text: &str) -> usize {
    text.split_whitespace().map(str::len).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_words() {
        assert_eq!(word_count("  the quick\tbrown fox \n"), 4);
        assert_eq!(word_count(""), 0);
    }

    #[test]
    fn capitalizes() {
        assert_eq!(capitalize("hello wasm world"), "Hello Wasm World");
    }

    #[test]
    fn parses_pairs() {
        let pairs = parse_pairs("a=1; b = two;");
        assert_eq!(pairs.get("a").map(String::as_str), Some("1"));
        assert_eq!(pairs.get("b").map(String::as_str), Some("two"));
        assert_eq!(pairs.len(), 2);
    }

    /// Fails on purpose: `letters` counts bytes, and "héllo" has six of them.
    #[test]
    fn counts_letters() {
        assert_eq!(letters("héllo wörld"), 10, "letters, not bytes");
    }

    /// Runs only when the suite's args include `--include-ignored`.
    #[test]
    #[ignore]
    fn counts_many_words() {
        let text = "word ".repeat(200_000);
        assert_eq!(word_count(&text), 200_000);
    }

    /// libtest cannot run this on wasm32 (panics abort): it reports it as ignored.
    #[test]
    #[should_panic(expected = "empty key")]
    fn rejects_an_empty_key() {
        parse_pairs("=1");
    }
}
