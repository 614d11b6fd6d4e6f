//! Counted nouns: `1 range`, `2 ranges`, `1,146 sagas`.

use super::numbers::count;

/// `n` and the noun in the right number, with thousands separators:
/// `counted(1, "range", "ranges")` is `1 range`.
pub fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

/// [`counted`] for nouns whose plural adds an `s`: `plural(3, "sample")`.
pub fn plural(n: u64, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{} {one}s", count(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_and_many() {
        assert_eq!(plural(1, "range"), "1 range");
        assert_eq!(plural(0, "range"), "0 ranges");
        assert_eq!(plural(1146, "saga"), "1,146 sagas");
        assert_eq!(counted(1, "match", "matches"), "1 match");
        assert_eq!(counted(2, "match", "matches"), "2 matches");
    }
}
