//! Python regular expressions as package filters (`pkg_filter`) use them:
//! `re.match` semantics (anchored at the start only), on the `regex` crate.
//!
//! Python's `$` also matches before a final newline and `\Z` is Rust's
//! `\z`; both are translated. Constructs Rust's engine lacks (lookaround,
//! back references) are refused with an `re.error`-style fault, as a bad
//! pattern is upstream.

use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct Pattern {
    re: regex::Regex,
}

fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('Z') if !in_class => out.push_str(r"\z"),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // a leading `^` and `]` are literal parts of the class
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().unwrap_or('^'));
                }
                if chars.peek() == Some(&']') {
                    chars.next();
                    out.push_str(r"\]");
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '$' if !in_class => out.push_str(r"(?:\n?\z)"),
            c => out.push(c),
        }
    }
    out
}

impl Pattern {
    pub fn compile(pattern: &str) -> Result<Pattern> {
        regex::Regex::new(&format!("^(?:{})", translate(pattern)))
            .map(|re| Pattern { re })
            .map_err(|e| Error::Fault {
                code: 1,
                message: format!(
                    "<class 're.error'>: {}",
                    e.to_string()
                        .lines()
                        .last()
                        .unwrap_or("bad pattern")
                        .trim()
                        .trim_start_matches("error: ")
                ),
            })
    }

    /// Python's `re.match(pattern, text) is not None`.
    pub fn match_start(&self, text: &str) -> Result<bool> {
        Ok(self.re.is_match(text))
    }
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    fn m(p: &str, t: &str) -> bool {
        Pattern::compile(p).unwrap().match_start(t).unwrap()
    }

    #[test]
    fn matches_like_python_re_match() {
        assert!(m("foo", "foobar"));
        assert!(!m("bar", "foobar"));
        assert!(m("^(kernel|glibc)$", "glibc"));
        assert!(!m("^(kernel|glibc)$", "glibc-devel"));
        assert!(m("kernel.*", "kernel-rt"));
        assert!(m("python3-.+", "python3-six"));
        assert!(!m("python3-.+", "python3-"));
        assert!(m("[a-c]+x$", "abcx"));
        assert!(!m("[^a-c]", "a"));
        assert!(m(r"\w+-\d{2,3}$", "gcc-12"));
        assert!(!m(r"\w+-\d{2,3}$", "gcc-1"));
        assert!(m("(?:ab)*c", "ababc"));
        assert!(m("(?P<n>a|b)+$", "abba"));
        assert!(m("a*?b", "aaab"));
        assert!(m("foo$", "foo\n"));
        assert!(!m(r"foo\Z", "foo\n"));
        assert!(m(r"\bfoo\b", "foo bar"));
        assert!(m("", "anything"));
        assert!(m("[]a]+$", "]a]"));
        assert!(m("[$]", "$"));
        assert!(m(r"[\w.+-]+$", "perl-Foo.Bar+x"));
    }

    #[test]
    fn bad_patterns_are_re_errors() {
        for p in ["(abc", "abc)", "*a", "[ab", r"\q", "(?=x)", "b{3,1}"] {
            let e = Pattern::compile(p).unwrap_err();
            assert_eq!(e.fault_code(), 1, "{p}");
            assert!(e.to_string().starts_with("<class 're.error'>: "), "{p}");
        }
    }
}
