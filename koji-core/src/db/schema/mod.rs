//! Upstream Koji 1.35's schema, as DDL for PostgreSQL and SQLite.
//!
//! `postgres.sql` is the one source: our own DDL creating upstream's 68
//! tables (names, columns, types, constraints, defaults, indexes), its two
//! SQL functions and its seed rows, in upstream's order so that seeded ids
//! are upstream's. The SQLite schema is derived from it statement by
//! statement by `to_sqlite`, which knows the few PostgreSQL constructs the
//! file uses and refuses any other it recognises as PostgreSQL-only, so a
//! new construct is noticed by the unit tests rather than at a user's
//! migration. The statements that cannot be translated mechanically are
//! rewritten by the explicit table `SQLITE_REWRITES`.
//!
//! `upstream_columns.tsv` and `upstream_catalog.tsv` next to this file were
//! recorded from upstream's own `schema.sql` (see
//! `tests/schema_upstream.rs`), and the tests check our schema against them.

/// Our PostgreSQL DDL and seed rows.
const POSTGRES_SQL: &str = include_str!("postgres.sql");

/// The statements that create the schema and its seed rows on PostgreSQL
/// (11 or later).
pub fn postgres_statements() -> Vec<String> {
    split_statements(POSTGRES_SQL)
}

/// The same schema for SQLite.
pub fn sqlite_statements() -> Vec<String> {
    postgres_statements()
        .iter()
        .filter_map(|stmt| {
            to_sqlite(stmt).unwrap_or_else(|e| panic!("schema: cannot translate to SQLite: {e}"))
        })
        .collect()
}

/// The SQLite default of a column PostgreSQL defaults to `NOW()` or
/// `clock_timestamp()`: the current UTC time as RFC 3339 text, the format in
/// which sqlx writes a `chrono::DateTime<Utc>`, so that stored times compare
/// as text in time order whichever wrote them.
const SQLITE_DEFAULT_NOW: &str = "DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'))";

/// Statement fragments of `postgres.sql` that SQLite spells differently,
/// replaced verbatim before the mechanical translation. Each must occur
/// exactly once in `postgres.sql` (a unit test checks it).
const SQLITE_REWRITES: &[(&str, &str)] = &[
    // build.draft_release_sane: SQLite has no regular expressions or `::`
    // casts; "ends with ,draft_<id>" is a case-sensitive GLOB.
    (
        "release ~ ('^.*,draft_' || id::TEXT || '$')",
        "release GLOB ('*,draft_' || id)",
    ),
    // rpminfo_filename: SQLite indexes have no INCLUDE columns (the rowid
    // is in every index anyway).
    ("\n    INCLUDE (id)", ""),
];

// ---------------------------------------------------------------------------
// lexing

/// A piece of SQL text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token<'a> {
    /// Whitespace.
    Space(&'a str),
    /// `-- ...` up to (not including) the end of line, or `/* ... */`.
    Comment(&'a str),
    /// A keyword, identifier or number: letters, digits, `_`.
    Word(&'a str),
    /// A string literal with its quotes, `'it''s'`.
    Str(&'a str),
    /// A quoted identifier with its quotes, `"exclusive"`.
    Ident(&'a str),
    /// A dollar-quoted string with its delimiters, `$$ ... $$`, `$f$ ... $f$`.
    Dollar(&'a str),
    /// Any other single character (`;`, `(`, `:`, ...).
    Punct(&'a str),
}

impl<'a> Token<'a> {
    fn text(&self) -> &'a str {
        match *self {
            Token::Space(s)
            | Token::Comment(s)
            | Token::Word(s)
            | Token::Str(s)
            | Token::Ident(s)
            | Token::Dollar(s)
            | Token::Punct(s) => s,
        }
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Splits SQL text into tokens. Unterminated quotes and comments run to the
/// end of the text. Concatenating the tokens' texts gives `sql` back.
fn lex(sql: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut rest = sql;
    while let Some(c) = rest.chars().next() {
        let len = if c.is_whitespace() {
            rest.find(|c: char| !c.is_whitespace())
                .unwrap_or(rest.len())
        } else if rest.starts_with("--") {
            rest.find('\n').unwrap_or(rest.len())
        } else if let Some(body) = rest.strip_prefix("/*") {
            body.find("*/").map_or(rest.len(), |i| i + 4)
        } else if c == '\'' || c == '"' {
            quoted_len(rest, c)
        } else if let Some(tag) = dollar_tag(rest) {
            rest[tag.len()..]
                .find(tag)
                .map_or(rest.len(), |i| 2 * tag.len() + i)
        } else if is_word_char(c) {
            rest.find(|c: char| !is_word_char(c)).unwrap_or(rest.len())
        } else {
            c.len_utf8()
        };
        let (text, tail) = rest.split_at(len);
        tokens.push(match c {
            _ if c.is_whitespace() => Token::Space(text),
            '-' | '/' if text.len() > 1 => Token::Comment(text),
            '\'' => Token::Str(text),
            '"' => Token::Ident(text),
            '$' if text.len() > 1 => Token::Dollar(text),
            _ if is_word_char(c) => Token::Word(text),
            _ => Token::Punct(text),
        });
        rest = tail;
    }
    tokens
}

/// The length of the quoted text at the start of `s` (quote `q`, doubled
/// to escape it).
fn quoted_len(s: &str, q: char) -> usize {
    let mut chars = s.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        if c == q {
            if chars.peek().map(|&(_, c)| c) == Some(q) {
                chars.next();
            } else {
                return i + 1;
            }
        }
    }
    s.len()
}

/// The opening delimiter of a dollar-quoted string at the start of `s`
/// (`$$` or `$tag$`), if there is one. `$1` is a parameter, not a tag.
fn dollar_tag(s: &str) -> Option<&str> {
    let body = s.strip_prefix('$')?;
    let end = body.find(|c: char| !is_word_char(c))?;
    let tag = &body[..end];
    if !body[end..].starts_with('$') || tag.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some(&s[..end + 2])
}

// ---------------------------------------------------------------------------
// splitting

/// Splits a SQL script into its statements, without comments or the
/// terminating semicolons. Semicolons inside string literals, quoted
/// identifiers and dollar-quoted bodies (function bodies) do not split.
pub(crate) fn split_statements(sql: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut flush = |current: &mut String| {
        let stmt = current.trim();
        if !stmt.is_empty() {
            statements.push(stmt.to_string());
        }
        current.clear();
    };
    // after a comment that filled its line: the line's end, to drop too
    let mut drop_newline = false;
    for token in lex(sql) {
        let text = token.text();
        match token {
            Token::Punct(";") => flush(&mut current),
            // a comment may separate two words: keep them apart
            Token::Comment(_) if text.starts_with("/*") => current.push(' '),
            Token::Comment(_) => {
                let line_start = current.rfind('\n').map_or(0, |i| i + 1);
                if current[line_start..].trim().is_empty() {
                    current.truncate(line_start);
                    drop_newline = true;
                    continue;
                }
                let kept = current.trim_end_matches([' ', '\t']).len();
                current.truncate(kept);
            }
            Token::Space(_) if drop_newline => {
                current.push_str(text.strip_prefix('\n').unwrap_or(text))
            }
            _ => current.push_str(text),
        }
        drop_newline = false;
    }
    flush(&mut current);
    statements
}

// ---------------------------------------------------------------------------
// translation to SQLite

/// One element of a token pattern.
#[derive(Clone, Copy)]
enum Pat {
    /// A word, compared without case.
    W(&'static str),
    /// A punctuation character.
    P(&'static str),
    /// A string literal, compared without case, quotes included.
    S(&'static str),
    /// Any word.
    AnyWord,
}

use Pat::{AnyWord, P, S, W};

/// What a rule does with the tokens it matched.
enum Action {
    /// Replaces them with this text ("" removes them and the space before).
    Emit(&'static str),
    /// Refuses the statement: a PostgreSQL construct SQLite lacks.
    Refuse(&'static str),
}

/// The mechanical PostgreSQL → SQLite rules, tried in order at each token.
const RULES: &[(&[Pat], Action)] = &[
    // SERIAL ids become rowid aliases. AUTOINCREMENT keeps SQLite from
    // reusing the id of a deleted last row, as a sequence never does
    // (repo and task ids name directories).
    (
        &[W("SERIAL"), W("NOT"), W("NULL"), W("PRIMARY"), W("KEY")],
        Action::Emit("INTEGER PRIMARY KEY AUTOINCREMENT"),
    ),
    (
        &[W("SERIAL"), W("PRIMARY"), W("KEY")],
        Action::Emit("INTEGER PRIMARY KEY AUTOINCREMENT"),
    ),
    (
        &[W("SERIAL")],
        Action::Refuse("SERIAL that is not the primary key"),
    ),
    (&[W("BIGSERIAL")], Action::Refuse("BIGSERIAL")),
    (&[W("SMALLSERIAL")], Action::Refuse("SMALLSERIAL")),
    (&[W("WITHOUT"), W("OIDS")], Action::Emit("")),
    // types
    (&[W("TIMESTAMPTZ")], Action::Emit("TIMESTAMP")),
    (
        &[W("TIMESTAMP"), W("WITH"), W("TIME"), W("ZONE")],
        Action::Emit("TIMESTAMP"),
    ),
    (
        &[W("TIMESTAMP"), W("WITHOUT"), W("TIME"), W("ZONE")],
        Action::Emit("TIMESTAMP"),
    ),
    (&[W("JSONB")], Action::Emit("TEXT")),
    (&[W("JSON")], Action::Emit("TEXT")),
    (&[W("UUID")], Action::Emit("TEXT")),
    (&[W("INET")], Action::Emit("TEXT")),
    (&[W("CIDR")], Action::Emit("TEXT")),
    (&[W("BYTEA")], Action::Emit("BLOB")),
    (&[AnyWord, P("["), P("]")], Action::Emit("TEXT")),
    // defaults: the hub always gives create_event itself
    (
        &[W("DEFAULT"), W("get_event"), P("("), P(")")],
        Action::Emit(""),
    ),
    (
        &[W("DEFAULT"), W("NOW"), P("("), P(")")],
        Action::Emit(SQLITE_DEFAULT_NOW),
    ),
    (
        &[W("DEFAULT"), W("clock_timestamp"), P("("), P(")")],
        Action::Emit(SQLITE_DEFAULT_NOW),
    ),
    (
        &[W("DEFAULT"), W("CURRENT_TIMESTAMP")],
        Action::Emit(SQLITE_DEFAULT_NOW),
    ),
    // a quoted boolean would be stored as text, which is false in SQLite
    (&[W("DEFAULT"), S("'true'")], Action::Emit("DEFAULT TRUE")),
    (&[W("DEFAULT"), S("'false'")], Action::Emit("DEFAULT FALSE")),
    // PostgreSQL-only operators and functions
    (&[P(":"), P(":")], Action::Refuse("a :: cast")),
    (&[P("~")], Action::Refuse("a regular expression match (~)")),
    (&[P("[")], Action::Refuse("an array")),
    (&[W("ILIKE")], Action::Refuse("ILIKE")),
    (&[W("INCLUDE")], Action::Refuse("INCLUDE columns")),
    (&[W("NOW")], Action::Refuse("NOW()")),
    (&[W("clock_timestamp")], Action::Refuse("clock_timestamp()")),
    (&[W("get_event")], Action::Refuse("get_event()")),
    (&[W("nextval")], Action::Refuse("nextval()")),
];

/// Statements with no SQLite counterpart, by their leading words: SQLite
/// has no stored functions, no privileges and no procedural blocks.
const SQLITE_SKIPPED: &[&[&str]] = &[
    &["CREATE", "FUNCTION"],
    &["CREATE", "OR", "REPLACE", "FUNCTION"],
    &["GRANT"],
    &["REVOKE"],
    &["DO"],
    &["COMMENT", "ON"],
    &["CREATE", "EXTENSION"],
];

/// Translates one PostgreSQL statement of `postgres.sql` to SQLite:
/// `Ok(None)` when SQLite needs no counterpart, `Err` naming the construct
/// when the statement uses PostgreSQL-only SQL this translator does not
/// know how to express.
pub(crate) fn to_sqlite(stmt: &str) -> Result<Option<String>, String> {
    let mut stmt = stmt.to_string();
    for (pg, lite) in SQLITE_REWRITES {
        stmt = stmt.replace(pg, lite);
    }
    let tokens: Vec<Token> = lex(&stmt)
        .into_iter()
        .filter(|t| !matches!(t, Token::Comment(_)))
        .collect();
    let words: Vec<&str> = tokens
        .iter()
        .filter(|t| !matches!(t, Token::Space(_)))
        .take(4)
        .map(|t| t.text())
        .collect();
    let skipped = SQLITE_SKIPPED.iter().any(|lead| {
        lead.len() <= words.len()
            && lead
                .iter()
                .zip(&words)
                .all(|(a, b)| a.eq_ignore_ascii_case(b))
    });
    if skipped {
        return Ok(None);
    }
    let mut out = String::with_capacity(stmt.len());
    let mut i = 0;
    'tokens: while i < tokens.len() {
        for (pattern, action) in RULES {
            let Some(end) = match_at(&tokens, i, pattern) else {
                continue;
            };
            match action {
                Action::Emit("") => {
                    let kept = out.trim_end().len();
                    out.truncate(kept);
                }
                Action::Emit(text) => out.push_str(text),
                Action::Refuse(what) => {
                    return Err(format!("{what} in statement: {}", first_line(&stmt)))
                }
            }
            i = end;
            continue 'tokens;
        }
        out.push_str(tokens[i].text());
        i += 1;
    }
    Ok(Some(out.trim().to_string()))
}

/// If `pattern` matches the tokens from `start` on (whitespace between its
/// elements ignored), the index after the match.
fn match_at(tokens: &[Token], start: usize, pattern: &[Pat]) -> Option<usize> {
    let mut i = start;
    for (n, pat) in pattern.iter().enumerate() {
        if n > 0 {
            while matches!(tokens.get(i), Some(Token::Space(_))) {
                i += 1;
            }
        }
        let ok = match (pat, tokens.get(i)?) {
            (W(w), Token::Word(t)) => w.eq_ignore_ascii_case(t),
            (AnyWord, Token::Word(_)) => true,
            (P(p), Token::Punct(t)) => p == t,
            (S(s), Token::Str(t)) => s.eq_ignore_ascii_case(t),
            _ => false,
        };
        if !ok {
            return None;
        }
        i += 1;
    }
    Some(i)
}

fn first_line(s: &str) -> &str {
    s.trim().lines().next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexing_round_trips() {
        let sql = "SELECT 'a;b''c', \"x;y\", $$ z; $$, $f$ $$; $f$, $1 -- c;\n/* d; */ e";
        let tokens = lex(sql);
        assert_eq!(tokens.iter().map(|t| t.text()).collect::<String>(), sql);
        assert!(tokens.contains(&Token::Str("'a;b''c'")));
        assert!(tokens.contains(&Token::Ident("\"x;y\"")));
        assert!(tokens.contains(&Token::Dollar("$$ z; $$")));
        assert!(tokens.contains(&Token::Dollar("$f$ $$; $f$")));
        assert!(tokens.contains(&Token::Punct("$")));
        assert!(tokens.contains(&Token::Word("1")));
        assert!(tokens.contains(&Token::Comment("-- c;")));
        assert!(tokens.contains(&Token::Comment("/* d; */")));
    }

    #[test]
    fn splitter_respects_quotes_bodies_and_comments() {
        let sql = "
            -- leading comment; with a semicolon
            CREATE TABLE a (x TEXT DEFAULT 'semi;colon', \"odd;name\" INTEGER);
            INSERT INTO a (x) VALUES ('it''s; fine');

            CREATE FUNCTION f(INTEGER) RETURNS INTEGER LANGUAGE SQL AS $$
                SELECT $1; -- inside the body
            $$;
            CREATE FUNCTION g() RETURNS INTEGER LANGUAGE SQL AS $body$ SELECT 1; $body$;
            /* block; comment */ SELECT 1 ;;
            SELECT 2 -- no final semicolon
        ";
        let got = split_statements(sql);
        assert_eq!(
            got,
            vec![
                "CREATE TABLE a (x TEXT DEFAULT 'semi;colon', \"odd;name\" INTEGER)",
                "INSERT INTO a (x) VALUES ('it''s; fine')",
                "CREATE FUNCTION f(INTEGER) RETURNS INTEGER LANGUAGE SQL AS $$\n                SELECT $1; -- inside the body\n            $$",
                "CREATE FUNCTION g() RETURNS INTEGER LANGUAGE SQL AS $body$ SELECT 1; $body$",
                "SELECT 1",
                "SELECT 2",
            ]
        );
    }

    #[test]
    fn splitter_handles_degenerate_input() {
        assert!(split_statements("").is_empty());
        assert!(split_statements(" ;; -- only a comment\n /* another */ ").is_empty());
        // an unterminated literal swallows the rest rather than splitting it
        assert_eq!(split_statements("SELECT 'a; b"), vec!["SELECT 'a; b"]);
        assert_eq!(split_statements("a/**/b"), vec!["a b"]);
    }

    #[test]
    fn splitter_drops_comment_lines_entirely() {
        let sql = "CREATE TABLE t (\n    a INTEGER, -- note; here\n    -- a whole line\n    \
                   -- another\n    b TEXT\n);";
        assert_eq!(
            split_statements(sql),
            vec!["CREATE TABLE t (\n    a INTEGER,\n    b TEXT\n)"]
        );
    }

    fn lite(sql: &str) -> String {
        to_sqlite(sql).unwrap().unwrap()
    }

    #[test]
    fn translator_rewrites_types_ids_and_defaults() {
        assert_eq!(
            lite(
                "CREATE TABLE t (\n    id SERIAL NOT NULL PRIMARY KEY,\n    \
                 at TIMESTAMPTZ NOT NULL DEFAULT NOW(),\n    \
                 t2 timestamp with time zone default clock_timestamp(),\n    \
                 ev INTEGER NOT NULL REFERENCES events (id) DEFAULT get_event(),\n    \
                 on_ BOOLEAN DEFAULT 'true' CHECK (on_),\n    \
                 off BOOLEAN NOT NULL DEFAULT 'false',\n    \
                 j JSONB, k json NOT NULL, arr TEXT[], name TEXT DEFAULT 'true love'\n) WITHOUT OIDS"
            ),
            "CREATE TABLE t (\n    id INTEGER PRIMARY KEY AUTOINCREMENT,\n    \
             at TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),\n    \
             t2 TIMESTAMP DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),\n    \
             ev INTEGER NOT NULL REFERENCES events (id),\n    \
             on_ BOOLEAN DEFAULT TRUE CHECK (on_),\n    \
             off BOOLEAN NOT NULL DEFAULT FALSE,\n    \
             j TEXT, k TEXT NOT NULL, arr TEXT, name TEXT DEFAULT 'true love'\n)"
        );
        assert_eq!(
            lite("CREATE TABLE c (id serial primary key, name TEXT)"),
            "CREATE TABLE c (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT)"
        );
    }

    #[test]
    fn translator_leaves_literals_and_portable_sql_alone() {
        for sql in [
            "INSERT INTO archivetypes (name, description) VALUES ('json', 'JSON data :: now()')",
            "CREATE INDEX i ON t (a, b) WHERE (expired = FALSE AND master IS NULL)",
            "CREATE UNIQUE INDEX u ON rpminfo (name, arch) WHERE draft IS NOT TRUE",
            "CREATE TABLE \"serial\" (x INTEGER REFERENCES p (id) DEFERRABLE)",
        ] {
            assert_eq!(lite(sql), sql);
        }
    }

    #[test]
    fn translator_skips_postgres_only_statements() {
        for sql in [
            "CREATE FUNCTION get_event() RETURNS INTEGER LANGUAGE SQL AS $$ SELECT 1; $$",
            "create or replace function f() returns integer as $$ select 1 $$ language sql",
            "GRANT SELECT ON build, tag TO PUBLIC",
            "DO $$ BEGIN PERFORM 1; END $$",
        ] {
            assert_eq!(to_sqlite(sql), Ok(None), "{sql}");
        }
    }

    #[test]
    fn translator_refuses_what_it_cannot_express() {
        for (sql, what) in [
            (
                "CREATE TABLE t (c TEXT CHECK (c ~ '^a'))",
                "regular expression",
            ),
            ("CREATE TABLE t (c TEXT CHECK (c::INTEGER > 0))", "cast"),
            ("CREATE TABLE t (id BIGSERIAL PRIMARY KEY)", "BIGSERIAL"),
            ("CREATE TABLE t (n SERIAL)", "SERIAL that"),
            ("CREATE INDEX i ON t (a) INCLUDE (b)", "INCLUDE"),
            ("UPDATE t SET at = NOW()", "NOW()"),
            ("CREATE TABLE t (c TEXT CHECK (c ILIKE 'a%'))", "ILIKE"),
        ] {
            let err = to_sqlite(sql).unwrap_err();
            assert!(err.contains(what), "{sql}: {err}");
        }
    }

    #[test]
    fn every_explicit_rewrite_applies_exactly_once() {
        let statements = postgres_statements();
        for (pg, _) in SQLITE_REWRITES {
            let n: usize = statements.iter().map(|s| s.matches(pg).count()).sum();
            assert_eq!(n, 1, "{pg:?} occurs {n} times in postgres.sql");
        }
    }

    fn created_tables(statements: &[String]) -> Vec<String> {
        statements
            .iter()
            .filter_map(|s| {
                let w: Vec<&str> = s.split_whitespace().take(3).collect();
                (w.len() == 3
                    && w[0].eq_ignore_ascii_case("CREATE")
                    && w[1].eq_ignore_ascii_case("TABLE"))
                .then(|| w[2].to_string())
            })
            .collect()
    }

    #[test]
    fn both_schemas_create_the_same_68_tables() {
        let pg = postgres_statements();
        let lite = sqlite_statements();
        let tables = created_tables(&pg);
        assert_eq!(tables.len(), 68);
        assert_eq!(created_tables(&lite), tables);
        assert!(tables.iter().any(|t| t == "events"));
    }

    #[test]
    fn postgres_schema_has_upstreams_functions_and_grant() {
        let pg = postgres_statements();
        let starts = |p: &str| pg.iter().filter(|s| s.starts_with(p)).count();
        assert_eq!(starts("CREATE FUNCTION get_event()"), 1);
        assert_eq!(starts("CREATE FUNCTION get_event_time(INTEGER)"), 1);
        assert_eq!(starts("GRANT SELECT ON build"), 1);
        // the function is created before the first table that uses it
        let f = pg
            .iter()
            .position(|s| s.starts_with("CREATE FUNCTION get_event()"));
        let u = pg
            .iter()
            .position(|s| s.contains("get_event()") && s.starts_with("CREATE TABLE"));
        assert!(f < u);
    }

    #[test]
    fn sqlite_schema_is_free_of_postgres_constructs() {
        let lite = sqlite_statements();
        // everything except the two functions and the grant
        assert_eq!(lite.len(), postgres_statements().len() - 3);
        for stmt in &lite {
            for word in [
                "SERIAL",
                "TIMESTAMPTZ",
                "JSONB",
                "OIDS",
                "get_event",
                "::",
                "INCLUDE",
            ] {
                let code: String = lex(stmt)
                    .iter()
                    .filter(|t| !matches!(t, Token::Str(_)))
                    .map(|t| t.text())
                    .collect();
                assert!(!code.contains(word), "{word} left in: {stmt}");
            }
            assert!(!stmt.contains("DEFAULT 'true'") && !stmt.contains("DEFAULT 'false'"));
        }
        assert!(lite
            .iter()
            .any(|s| s.contains("release GLOB ('*,draft_' || id)")));
    }

    #[test]
    fn seed_inserts_are_kept_in_order() {
        let pg = postgres_statements();
        let lite = sqlite_statements();
        let inserts = |v: &[String]| {
            v.iter()
                .filter(|s| s.starts_with("INSERT"))
                .cloned()
                .collect::<Vec<_>>()
        };
        // seeds are identical on both databases
        assert_eq!(inserts(&pg), inserts(&lite));
        let order: Vec<String> = inserts(&pg)
            .iter()
            .map(|s| s.split_whitespace().nth(2).unwrap().to_string())
            .collect();
        assert_eq!(
            order,
            [
                "permissions",
                "channels",
                "volume",
                "btype",
                "external_repo",
                "archivetypes",
                "locks"
            ]
        );
        let perms = &inserts(&pg)[0];
        assert!(perms.find("('admin'").unwrap() < perms.find("('appliance'").unwrap());
    }
}
