//! Python's `fnmatch.fnmatch` on POSIX (case-sensitive shell globs), which
//! every pattern test of the policy language uses.
//!
//! `*` matches any run of characters (`/` included), `?` any one character,
//! `[seq]` one character of the set (ranges `a-z`, a leading `!` negates, a
//! `]` first in the set is literal); a `[` without a closing `]` is a literal
//! `[`. Everything else matches itself.

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Lit(char),
    Any,
    Star,
    Class {
        negate: bool,
        items: Vec<(char, char)>,
    },
}

fn compile(pat: &str) -> Vec<Tok> {
    let p: Vec<char> = pat.chars().collect();
    let mut out = vec![];
    let mut i = 0;
    while i < p.len() {
        let c = p[i];
        i += 1;
        match c {
            '*' => {
                if out.last() != Some(&Tok::Star) {
                    out.push(Tok::Star)
                }
            }
            '?' => out.push(Tok::Any),
            '[' => {
                // find the closing bracket as Python's translate() does
                let mut j = i;
                if j < p.len() && p[j] == '!' {
                    j += 1;
                }
                if j < p.len() && p[j] == ']' {
                    j += 1;
                }
                while j < p.len() && p[j] != ']' {
                    j += 1;
                }
                if j >= p.len() {
                    out.push(Tok::Lit('['));
                    continue;
                }
                let mut body = &p[i..j];
                i = j + 1;
                let negate = body.first() == Some(&'!');
                if negate {
                    body = &body[1..];
                }
                let mut items = vec![];
                let mut k = 0;
                while k < body.len() {
                    let lo = body[k];
                    if k + 2 < body.len() && body[k + 1] == '-' {
                        let hi = body[k + 2];
                        // an empty range (z-a) matches nothing
                        if lo <= hi {
                            items.push((lo, hi));
                        }
                        k += 3;
                    } else {
                        items.push((lo, lo));
                        k += 1;
                    }
                }
                out.push(Tok::Class { negate, items });
            }
            c => out.push(Tok::Lit(c)),
        }
    }
    out
}

fn tok_matches(t: &Tok, c: char) -> bool {
    match t {
        Tok::Lit(l) => *l == c,
        Tok::Any => true,
        Tok::Star => true,
        Tok::Class { negate, items } => {
            items.iter().any(|(lo, hi)| *lo <= c && c <= *hi) != *negate
        }
    }
}

/// Whether `name` matches the glob `pat` (the whole of `name`).
pub fn fnmatch(name: &str, pat: &str) -> bool {
    let toks = compile(pat);
    let s: Vec<char> = name.chars().collect();
    // iterative matcher with single-star backtracking (stars are greedy but
    // any star may absorb more on failure, which suffices for globs)
    let (mut ti, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if ti < toks.len() {
            if toks[ti] == Tok::Star {
                star = Some((ti, si));
                ti += 1;
                continue;
            }
            if si < s.len() && tok_matches(&toks[ti], s[si]) {
                ti += 1;
                si += 1;
                continue;
            }
        } else if si == s.len() {
            return true;
        }
        match star {
            Some((st, ss)) if ss < s.len() => {
                star = Some((st, ss + 1));
                ti = st + 1;
                si = ss + 1;
            }
            _ => return false,
        }
    }
}

/// Upstream's `multi_fnmatch`: whether `name` matches any of `patterns`.
pub fn multi_fnmatch<S: AsRef<str>>(name: &str, patterns: &[S]) -> bool {
    patterns.iter().any(|p| fnmatch(name, p.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::fnmatch;

    #[test]
    fn globs_behave_like_python() {
        assert!(fnmatch("f40-build", "f*-build"));
        assert!(fnmatch("a/b", "a*b"));
        assert!(fnmatch("abc", "a?c"));
        assert!(!fnmatch("ac", "a?c"));
        assert!(fnmatch("", "*"));
        assert!(!fnmatch("", "?"));
        assert!(fnmatch("x1", "x[0-9]"));
        assert!(!fnmatch("xa", "x[0-9]"));
        assert!(fnmatch("xa", "x[!0-9]"));
        assert!(fnmatch("]", "[]]"));
        assert!(fnmatch("-", "[a-]"));
        assert!(fnmatch("[ab", "[ab"));
        assert!(fnmatch("a^", "a[\\^]"));
        assert!(!fnmatch("Foo", "foo"));
        assert!(fnmatch("aXbXc", "a*b*c"));
        assert!(!fnmatch("aXbXd", "a*b*c"));
        assert!(fnmatch("mississippi", "*sip*"));
        assert!(fnmatch("line\nbreak", "line*"));
        assert!(!fnmatch("b", "[z-a]"));
    }
}
