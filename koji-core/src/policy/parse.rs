//! Reading upstream's policy language into a [`RuleSet`].
//!
//! One rule per line: `TEST [ARGS] [&& TEST [ARGS] ...] :: ACTION` applies
//! ACTION when every test passes; with `!!` instead of `::` it applies when
//! they do not all pass. The separator is the last `::` of the line (or, when
//! there is none, the last `!!`). An action of `{` opens a block of rules
//! tried when the tests pass; a line holding only `}` closes it. Text after
//! `#` is a comment; blank lines are ignored.

use super::handlers::{self, Test};
use std::fmt;

/// A parse failure: the 1-based line (in the text given to the parser) and
/// upstream's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// What a matching rule leads to.
#[derive(Debug)]
pub(crate) enum Action {
    /// The action text (stripped), e.g. `allow` or `deny Only admins`.
    Result(String),
    /// A block of rules.
    Block(Vec<Rule>),
}

/// One rule: tests, whether the result is negated (`!!`), and the action.
#[derive(Debug)]
pub(crate) struct Rule {
    pub tests: Vec<Test>,
    pub negate: bool,
    pub action: Action,
}

impl Rule {
    /// The rule as upstream's `last_rule` shows it: the tests' own texts
    /// joined by `&&`, then `:: ` or `!! `.
    pub fn head(&self) -> String {
        let mut s = self
            .tests
            .iter()
            .map(|t| t.text.as_str())
            .collect::<Vec<_>>()
            .join("&&");
        s.push_str(if self.negate { "!! " } else { ":: " });
        s
    }
}

/// A parsed policy: its top-level rules.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub(crate) rules: Vec<Rule>,
}

enum Line {
    Close,
    Rule {
        tests: Vec<Test>,
        negate: bool,
        action: String,
    },
}

fn parse_line(raw: &str) -> Result<Option<Line>, String> {
    let line = raw.split('#').next().unwrap_or("").trim();
    if line.is_empty() {
        return Ok(None);
    }
    if line == "}" {
        return Ok(Some(Line::Close));
    }
    let (pos, negate) = match line.rfind("::") {
        Some(p) => (p, false),
        None => match line.rfind("!!") {
            Some(p) => (p, true),
            None => return Err(format!("bad policy line: {line}")),
        },
    };
    let tests = line[..pos]
        .split("&&")
        .map(|t| handlers::parse_test(t).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Line::Rule {
        tests,
        negate,
        action: line[pos + 2..].trim().to_string(),
    }))
}

impl RuleSet {
    /// Parses policy text, numbering its lines from 1.
    pub fn parse(text: &str) -> Result<RuleSet, ParseError> {
        Self::parse_numbered(text.lines().enumerate().map(|(n, l)| (n + 1, l)))
    }

    /// Parses lines that carry their own numbers (e.g. lines of a config
    /// file), so errors name the line where the author wrote it.
    pub fn parse_numbered<'a, I>(lines: I) -> Result<RuleSet, ParseError>
    where
        I: IntoIterator<Item = (usize, &'a str)>,
    {
        struct Open {
            parent: Vec<Rule>,
            tests: Vec<Test>,
            negate: bool,
            line: usize,
        }
        let mut cursor: Vec<Rule> = vec![];
        let mut stack: Vec<Open> = vec![];
        for (n, raw) in lines {
            let parsed = parse_line(raw).map_err(|message| ParseError { line: n, message })?;
            let (tests, negate, action) = match parsed {
                None => continue,
                Some(Line::Close) => (vec![], false, "}".to_string()),
                Some(Line::Rule {
                    tests,
                    negate,
                    action,
                }) => (tests, negate, action),
            };
            match action.as_str() {
                "{" => stack.push(Open {
                    parent: std::mem::take(&mut cursor),
                    tests,
                    negate,
                    line: n,
                }),
                "}" => {
                    let Some(open) = stack.pop() else {
                        return Err(ParseError {
                            line: n,
                            message: "nesting error in rule set".into(),
                        });
                    };
                    let block = std::mem::replace(&mut cursor, open.parent);
                    cursor.push(Rule {
                        tests: open.tests,
                        negate: open.negate,
                        action: Action::Block(block),
                    });
                }
                _ => cursor.push(Rule {
                    tests,
                    negate,
                    action: Action::Result(action),
                }),
            }
        }
        if let Some(open) = stack.pop() {
            // report the unclosed block's opening line
            return Err(ParseError {
                line: open.line,
                message: "nesting error in rule set".into(),
            });
        }
        Ok(RuleSet { rules: cursor })
    }

    /// Upstream's `all_actions`: the first word of every action, each once.
    pub fn all_actions(&self) -> Vec<String> {
        fn walk(rules: &[Rule], out: &mut Vec<String>) {
            for r in rules {
                match &r.action {
                    Action::Block(b) => walk(b, out),
                    Action::Result(a) => {
                        let w = a.split_whitespace().next().unwrap_or("").to_string();
                        if !out.contains(&w) {
                            out.push(w);
                        }
                    }
                }
            }
        }
        let mut out = vec![];
        walk(&self.rules, &mut out);
        out
    }
}
