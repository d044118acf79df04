//! Our schema against upstream Koji 1.35's.
//!
//! `src/db/schema/upstream_columns.tsv` (table, column, PostgreSQL data
//! type) and `src/db/schema/upstream_catalog.tsv` (column details,
//! constraints, indexes, functions, grants and seed rows) were recorded by
//! loading upstream's own `schemas/schema.sql` into PostgreSQL:
//!
//! ```text
//! git -C KOJI_GIT show koji-1.35.0:schemas/schema.sql > /tmp/schema.sql
//! KOJI_UPSTREAM_SCHEMA=/tmp/schema.sql cargo test -p koji-core \
//!     --test schema_upstream -- --ignored record_upstream
//! ```
//!
//! The PostgreSQL tests need a server at
//! `postgres://postgres@127.0.0.1:5432/test` (or `KOJI_TEST_POSTGRES_URL`)
//! whose user may create databases; they fail when it is unreachable unless
//! `KOJI_TEST_NO_POSTGRES=1`.

use koji_core::db::migrate::MIGRATIONS_TABLE;
use koji_core::db::{exec, fetch_all, fetch_one, Backend, Db, RowExt};
use koji_core::params;
use sea_orm::ConnectionTrait;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

type Set = BTreeSet<String>;

// ---------------------------------------------------------------------------
// the recorded files

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/db/schema")
}

fn read_lines(file: &str) -> Set {
    let path = schema_dir().join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

fn write_lines(file: &str, lines: &Set) {
    let mut text = lines.iter().cloned().collect::<Vec<_>>().join("\n");
    text.push('\n');
    std::fs::write(schema_dir().join(file), text).unwrap();
}

/// `upstream_columns.tsv`: `table<TAB>column<TAB>data_type`.
fn upstream_columns() -> Set {
    let lines = read_lines("upstream_columns.tsv");
    for line in &lines {
        assert_eq!(
            line.split('\t').count(),
            3,
            "bad line in upstream_columns.tsv: {line:?}"
        );
    }
    lines
}

/// `upstream_catalog.tsv`: `kind<TAB>table<TAB>name<TAB>detail`.
fn upstream_catalog() -> Set {
    let lines = read_lines("upstream_catalog.tsv");
    for line in &lines {
        assert_eq!(
            line.split('\t').count(),
            4,
            "bad line in upstream_catalog.tsv: {line:?}"
        );
    }
    lines
}

fn of_kind<'a>(catalog: &'a Set, kinds: &'a [&str]) -> impl Iterator<Item = Vec<&'a str>> + 'a {
    catalog
        .iter()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(move |f| kinds.contains(&f[0]))
}

fn upstream_tables() -> BTreeSet<String> {
    upstream_columns()
        .iter()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect()
}

/// Adds the differences between two sets to `problems`.
fn compare(what: &str, expected: &Set, actual: &Set, problems: &mut Vec<String>) {
    for missing in expected.difference(actual) {
        problems.push(format!("{what}: missing {missing:?}"));
    }
    for extra in actual.difference(expected) {
        problems.push(format!("{what}: unexpected {extra:?}"));
    }
}

fn finish(backend: &str, problems: Vec<String>) {
    for p in &problems {
        eprintln!("{backend}: {p}");
    }
    assert!(
        problems.is_empty(),
        "{backend} schema differs from upstream in {} ways (listed above)",
        problems.len()
    );
}

// ---------------------------------------------------------------------------
// PostgreSQL

fn pg_url() -> String {
    std::env::var("KOJI_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_string())
}

fn postgres_skipped() -> bool {
    std::env::var("KOJI_TEST_NO_POSTGRES").is_ok_and(|v| v == "1")
}

/// A uniquely named, freshly created PostgreSQL database, dropped by
/// [`PgScratch::drop_db`].
struct PgScratch {
    admin: Db,
    name: String,
    db: Db,
}

impl PgScratch {
    /// `None` when PostgreSQL is unreachable and KOJI_TEST_NO_POSTGRES=1.
    async fn create(purpose: &str) -> Option<PgScratch> {
        let url = pg_url();
        let admin = match Db::connect(&url).await {
            Ok(db) => db,
            Err(e) if postgres_skipped() => {
                eprintln!(
                    "SKIPPED: PostgreSQL at {url} is unreachable ({e}) and KOJI_TEST_NO_POSTGRES=1"
                );
                return None;
            }
            Err(e) => panic!(
                "PostgreSQL at {url} is unreachable: {e}\n\
                 (start it, point KOJI_TEST_POSTGRES_URL at one, \
                 or set KOJI_TEST_NO_POSTGRES=1 to skip the PostgreSQL tests)"
            ),
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("koji_schema_{purpose}_{}_{nanos}", std::process::id());
        admin
            .conn()
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("cannot create database {name}: {e}"));
        let (base, _) = url.rsplit_once('/').expect("database URL without a path");
        let db = Db::connect(&format!("{base}/{name}")).await.unwrap();
        Some(PgScratch { admin, name, db })
    }

    async fn drop_db(self) {
        let _ = self.db.conn().close_by_ref().await;
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = self.admin.conn().execute_unprepared(&sql).await {
            eprintln!("warning: could not drop database {}: {e}", self.name);
        }
    }
}

async fn strings(db: &Db, sql: &str) -> Set {
    fetch_all(db.conn(), sql, params![])
        .await
        .unwrap_or_else(|e| panic!("{e} in {sql}"))
        .iter()
        .map(|r| r.string("line").unwrap())
        .collect()
}

async fn pg_columns(db: &Db) -> Set {
    strings(
        db,
        &format!(
            "SELECT table_name::text || E'\\t' || column_name::text || E'\\t' || data_type::text AS line
               FROM information_schema.columns
              WHERE table_schema = 'public' AND table_name <> '{MIGRATIONS_TABLE}'"
        ),
    )
    .await
}

/// Everything of the catalog but the columns' types and the rows.
async fn pg_catalog(db: &Db) -> Set {
    let t = MIGRATIONS_TABLE;
    strings(
        db,
        &format!(
            "SELECT concat_ws(E'\\t', kind, tbl, name, detail) AS line FROM (
                SELECT 'column' AS kind, table_name::text AS tbl, column_name::text AS name,
                       COALESCE(NULLIF(concat_ws(' ',
                           CASE WHEN is_nullable = 'NO' THEN 'NOT NULL' END,
                           'LENGTH ' || character_maximum_length,
                           'DEFAULT ' || column_default), ''), '-') AS detail
                  FROM information_schema.columns
                 WHERE table_schema = 'public' AND table_name <> '{t}'
                UNION ALL
                SELECT 'constraint', c.relname::text, k.conname::text, pg_get_constraintdef(k.oid)
                  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
                 WHERE k.connamespace = 'public'::regnamespace AND k.contype <> 'n'
                   AND c.relname <> '{t}'
                UNION ALL
                SELECT 'index', tablename::text, indexname::text, indexdef
                  FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '{t}'
                UNION ALL
                SELECT 'function', '-', p.proname::text,
                       pg_get_function_identity_arguments(p.oid) || ' -> '
                       || pg_get_function_result(p.oid) || ' LANGUAGE ' || l.lanname
                  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
                 WHERE p.pronamespace = 'public'::regnamespace
                UNION ALL
                SELECT 'grant', table_name::text, privilege_type::text, grantee::text
                  FROM information_schema.role_table_grants
                 WHERE table_schema = 'public' AND grantee = 'PUBLIC'
             ) AS catalog"
        ),
    )
    .await
}

// ---------------------------------------------------------------------------
// rows: the seed rows upstream's schema inserts, in a form both databases
// can produce

/// A column of a seeded table, as it is rendered into a `row` line.
enum Col {
    /// Rendered as text.
    T(&'static str),
    /// A boolean, rendered `true`/`false`.
    B(&'static str),
}
use Col::{B, T};

const SEEDED: &[(&str, &[Col])] = &[
    ("permissions", &[T("id"), T("name"), T("description")]),
    (
        "channels",
        &[
            T("id"),
            T("name"),
            T("description"),
            B("enabled"),
            T("comment"),
        ],
    ),
    ("volume", &[T("id"), T("name")]),
    ("btype", &[T("id"), T("name")]),
    ("external_repo", &[T("id"), T("name")]),
    (
        "archivetypes",
        &[
            T("id"),
            T("name"),
            T("description"),
            T("extensions"),
            T("compression_type"),
        ],
    ),
    ("locks", &[T("name")]),
];

/// `row<TAB>table<TAB>v1|v2|...<TAB>-` for every row of every table (a
/// table outside [`SEEDED`] with rows gives one line saying so).
async fn rows(db: &Db, tables: &BTreeSet<String>) -> Set {
    let mut lines = Set::new();
    for table in tables {
        let n = fetch_one(
            db.conn(),
            &format!("SELECT COUNT(*) AS n FROM {table}"),
            params![],
        )
        .await
        .unwrap()
        .int("n")
        .unwrap();
        if n == 0 {
            continue;
        }
        let Some((_, cols)) = SEEDED.iter().find(|(t, _)| t == table) else {
            lines.insert(format!(
                "row\t{table}\t{n} rows of a table not in SEEDED\t-"
            ));
            continue;
        };
        let exprs: Vec<String> = cols
            .iter()
            .map(|c| match c {
                T(c) => format!("COALESCE(CAST({c} AS TEXT), 'NULL')"),
                B(c) => format!(
                    "CASE WHEN {c} IS NULL THEN 'NULL' WHEN {c} THEN 'true' ELSE 'false' END"
                ),
            })
            .collect();
        let sql = format!(
            "SELECT 'row' || '\t' || '{table}' || '\t' || {} || '\t' || '-' AS line FROM {table}",
            exprs.join(" || '|' || ")
        );
        lines.extend(strings(db, &sql).await);
    }
    lines
}

fn expected_rows(catalog: &Set) -> Set {
    catalog
        .iter()
        .filter(|l| l.starts_with("row\t"))
        .cloned()
        .collect()
}

// ---------------------------------------------------------------------------
// behaviour: the constraints that matter most, run on both databases

async fn behaviour(db: &Db) -> Vec<String> {
    let c = db.conn();
    let mut problems = Vec::new();
    macro_rules! must {
        ($what:expr, $res:expr) => {
            match $res {
                Ok(v) => Some(v),
                Err(e) => {
                    problems.push(format!("{} failed: {e}", $what));
                    None
                }
            }
        };
    }
    macro_rules! must_fail {
        ($what:expr, $res:expr) => {
            if $res.is_ok() {
                problems.push(format!("{} was accepted", $what));
            }
        };
    }

    // seeded ids and defaults
    for (sql, want) in [
        ("SELECT id FROM permissions WHERE name = 'admin'", 1),
        (
            "SELECT id FROM permissions WHERE name = 'draft-promoter'",
            15,
        ),
        ("SELECT id FROM channels WHERE name = 'default'", 1),
        ("SELECT id FROM channels WHERE name = 'createrepo'", 2),
        ("SELECT id FROM btype WHERE name = 'image'", 4),
        ("SELECT id FROM volume WHERE name = 'DEFAULT'", 0),
        ("SELECT id FROM external_repo WHERE name = 'INTERNAL'", 0),
        ("SELECT COUNT(*) AS id FROM archivetypes", 71),
        ("SELECT id FROM archivetypes WHERE name = 'verified'", 71),
    ] {
        match fetch_one(c, sql, params![]).await.and_then(|r| r.int("id")) {
            Ok(got) if got == want => {}
            other => problems.push(format!("{sql}: want {want}, got {other:?}")),
        }
    }
    if let Some(r) = must!(
        "channel defaults",
        fetch_one(c, "SELECT enabled FROM channels WHERE id = 1", params![]).await
    ) {
        if !r.boolean("enabled").unwrap_or(false) {
            problems.push("channels.enabled does not default to true".into());
        }
    }
    // the serial ids continue after the explicit id 0
    for table in ["volume", "external_repo"] {
        let sql = format!("INSERT INTO {table} (name) VALUES ('second') RETURNING id");
        match fetch_one(c, &sql, params![])
            .await
            .and_then(|r| r.int("id"))
        {
            Ok(1) => {}
            other => problems.push(format!("{sql}: want id 1, got {other:?}")),
        }
    }

    // events get their time by default
    let mut events = Vec::new();
    for _ in 0..3 {
        let Some(r) = must!(
            "event",
            fetch_one(
                c,
                "INSERT INTO events DEFAULT VALUES RETURNING id, time",
                params![]
            )
            .await
        ) else {
            return problems;
        };
        let now = chrono::Utc::now().timestamp() as f64;
        match r.ts("time") {
            Ok(Some(t)) if (t - now).abs() < 3600.0 => {}
            other => problems.push(format!("events.time default: {other:?}")),
        }
        events.push(r.int("id").unwrap());
    }
    let (e1, e2, e3) = (events[0], events[1], events[2]);

    let Some(uid) = must!(
        "user",
        fetch_one(
            c,
            "INSERT INTO users (name, status, usertype) VALUES ('schema-test', 0, 0) RETURNING id",
            params![]
        )
        .await
        .and_then(|r| r.int("id"))
    ) else {
        return problems;
    };

    // versioned rows
    let grant =
        "INSERT INTO user_perms (user_id, perm_id, create_event, creator_id) VALUES (?, 1, ?, ?)";
    must!(
        "a versioned insert",
        exec(c, grant, params![uid, e1, uid]).await
    );
    if let Some(r) = must!(
        "reading active",
        fetch_one(
            c,
            "SELECT active FROM user_perms WHERE user_id = ?",
            params![uid]
        )
        .await
    ) {
        if r.opt_bool("active").ok().flatten() != Some(true) {
            problems.push("user_perms.active does not default to true".into());
        }
    }
    must_fail!(
        "a second active version",
        exec(c, grant, params![uid, e2, uid]).await
    );
    must_fail!(
        "active = FALSE",
        exec(
            c,
            "UPDATE user_perms SET active = FALSE WHERE user_id = ?",
            params![uid]
        )
        .await
    );
    must_fail!(
        "a revocation without revoke_event",
        exec(
            c,
            "UPDATE user_perms SET active = NULL WHERE user_id = ?",
            params![uid]
        )
        .await
    );
    must!(
        "a revocation",
        exec(
            c,
            "UPDATE user_perms SET active = NULL, revoke_event = ?, revoker_id = ? WHERE user_id = ?",
            params![e2, uid, uid]
        )
        .await
    );
    must!(
        "a new version after a revocation",
        exec(c, grant, params![uid, e3, uid]).await
    );

    // sessions: one exclusive session per user ("exclusive" is a keyword)
    let excl = "INSERT INTO sessions (user_id, \"exclusive\") VALUES (?, TRUE)";
    must!("an exclusive session", exec(c, excl, params![uid]).await);
    must_fail!(
        "a second exclusive session",
        exec(c, excl, params![uid]).await
    );

    // builds: a draft's release must end in ,draft_<id>
    let Some(pkg) = must!(
        "package",
        fetch_one(
            c,
            "INSERT INTO package (name) VALUES ('schema-test') RETURNING id",
            params![]
        )
        .await
        .and_then(|r| r.int("id"))
    ) else {
        return problems;
    };
    let build = "INSERT INTO build (id, volume_id, pkg_id, version, release, draft, create_event, \
                 state, owner) VALUES (?, 0, ?, '1', ?, TRUE, ?, 0, ?)";
    must!(
        "a draft build",
        exec(c, build, params![1000, pkg, "1,draft_1000", e1, uid]).await
    );
    must_fail!(
        "a draft build with a wrong release",
        exec(c, build, params![1001, pkg, "2,draft_1000", e1, uid]).await
    );
    must_fail!(
        "a draft build with a release that only contains ,draft_<id>",
        exec(c, build, params![1002, pkg, "3,draft_1002x", e1, uid]).await
    );
    must_fail!(
        "a completed build without completion_time",
        exec(
            c,
            "INSERT INTO build (volume_id, pkg_id, version, release, create_event, state, owner) \
             VALUES (0, ?, '1', '9', ?, 1, ?)",
            params![pkg, e1, uid]
        )
        .await
    );
    must!(
        "a plain build",
        exec(
            c,
            "INSERT INTO build (volume_id, pkg_id, version, release, create_event, state, owner) \
             VALUES (0, ?, '1', '9', ?, 0, ?)",
            params![pkg, e1, uid]
        )
        .await
    );

    // tasks get their create_time and weight by default
    if let Some(r) = must!(
        "a task",
        fetch_one(
            c,
            "INSERT INTO task (channel_id, owner, arch, method) VALUES (1, ?, 'noarch', 'build') \
             RETURNING create_time, weight",
            params![uid]
        )
        .await
    ) {
        if !matches!(r.ts("create_time"), Ok(Some(_))) {
            problems.push(format!(
                "task.create_time default: {:?}",
                r.ts("create_time")
            ));
        }
        if r.get::<f64>("weight").ok() != Some(1.0) {
            problems.push(format!("task.weight default: {:?}", r.get::<f64>("weight")));
        }
    }
    problems
}

// ---------------------------------------------------------------------------
// the tests

#[tokio::test]
async fn postgres_columns_match_upstream() {
    let Some(pg) = PgScratch::create("columns").await else {
        return;
    };
    let mut problems = Vec::new();
    match pg.db.migrate().await {
        Ok(()) => compare(
            "column",
            &upstream_columns(),
            &pg_columns(&pg.db).await,
            &mut problems,
        ),
        Err(e) => problems.push(format!("migration failed: {e}")),
    }
    pg.drop_db().await;
    finish("PostgreSQL", problems);
}

#[tokio::test]
async fn postgres_catalog_rows_and_behaviour_match_upstream() {
    let Some(pg) = PgScratch::create("catalog").await else {
        return;
    };
    let mut problems = Vec::new();
    match pg.db.migrate().await {
        Ok(()) => {
            let catalog = upstream_catalog();
            let structure: Set = catalog
                .iter()
                .filter(|l| !l.starts_with("row\t"))
                .cloned()
                .collect();
            compare(
                "catalog",
                &structure,
                &pg_catalog(&pg.db).await,
                &mut problems,
            );
            let rows_now = rows(&pg.db, &upstream_tables()).await;
            compare("rows", &expected_rows(&catalog), &rows_now, &mut problems);
            problems.extend(behaviour(&pg.db).await);
            // migrating again is a no-op
            if let Err(e) = pg.db.migrate().await {
                problems.push(format!("second migration failed: {e}"));
            }
        }
        Err(e) => problems.push(format!("migration failed: {e}")),
    }
    pg.drop_db().await;
    finish("PostgreSQL", problems);
}

async fn sqlite_db() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(dir.path().join("hub.db").to_str().unwrap())
        .await
        .unwrap();
    assert_eq!(db.backend(), Backend::Sqlite);
    db.migrate().await.expect("SQLite migration");
    (dir, db)
}

/// A query for the tables of a SQLite database, ours only.
fn sqlite_tables() -> String {
    format!(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '{MIGRATIONS_TABLE}'"
    )
}

/// `PRIMARY KEY (a, b)`, `UNIQUE (a)` and `FOREIGN KEY (a) REFERENCES t(b)`
/// lines, `table: definition`, from upstream's recorded constraints.
fn upstream_keys(catalog: &Set) -> Set {
    of_kind(catalog, &["constraint"])
        .filter_map(|f| {
            let def = f[3];
            if def.starts_with("PRIMARY KEY") || def.starts_with("UNIQUE") {
                Some(format!("{}: {def}", f[1]))
            } else if let Some(fk) = def.strip_prefix("FOREIGN KEY ") {
                // "(a, b) REFERENCES t(c, d) ON UPDATE CASCADE" -> without the actions
                let end = fk.find(')').unwrap();
                let rest = &fk[end..];
                let close = rest[1..].find(')').unwrap() + 2;
                Some(format!(
                    "{}: FOREIGN KEY {}{}",
                    f[1],
                    &fk[..end],
                    &rest[..close]
                ))
            } else {
                None
            }
        })
        .collect()
}

async fn sqlite_keys(db: &Db) -> Set {
    let tables = sqlite_tables();
    let c = db.conn();
    let mut keys = Set::new();
    // primary keys, rowid aliases included
    let mut pk: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    let sql = format!(
        "SELECT m.name AS t, p.name AS col, p.pk AS n FROM ({tables}) AS m, \
         pragma_table_info(m.name) AS p WHERE p.pk > 0"
    );
    for r in fetch_all(c, &sql, params![]).await.unwrap() {
        pk.entry(r.string("t").unwrap())
            .or_default()
            .push((r.int("n").unwrap(), r.string("col").unwrap()));
    }
    for (t, mut cols) in pk {
        cols.sort();
        let cols: Vec<_> = cols.into_iter().map(|(_, c)| c).collect();
        keys.insert(format!("{t}: PRIMARY KEY ({})", cols.join(", ")));
    }
    // UNIQUE constraints
    let mut uniq: BTreeMap<(String, String), Vec<(i64, String)>> = BTreeMap::new();
    let sql = format!(
        "SELECT m.name AS t, l.name AS idx, i.seqno AS n, i.name AS col FROM ({tables}) AS m, \
         pragma_index_list(m.name) AS l, pragma_index_info(l.name) AS i WHERE l.origin = 'u'"
    );
    for r in fetch_all(c, &sql, params![]).await.unwrap() {
        uniq.entry((r.string("t").unwrap(), r.string("idx").unwrap()))
            .or_default()
            .push((r.int("n").unwrap(), r.string("col").unwrap()));
    }
    for ((t, _), mut cols) in uniq {
        cols.sort();
        let cols: Vec<_> = cols.into_iter().map(|(_, c)| c).collect();
        keys.insert(format!("{t}: UNIQUE ({})", cols.join(", ")));
    }
    // foreign keys
    type Fk = (String, i64, String); // table, id, referenced table
    let mut fks: BTreeMap<Fk, Vec<(i64, String, String)>> = BTreeMap::new();
    let sql = format!(
        "SELECT m.name AS t, f.id AS id, f.seq AS n, f.\"table\" AS ref, f.\"from\" AS src, \
         f.\"to\" AS dst FROM ({tables}) AS m, pragma_foreign_key_list(m.name) AS f"
    );
    for r in fetch_all(c, &sql, params![]).await.unwrap() {
        fks.entry((
            r.string("t").unwrap(),
            r.int("id").unwrap(),
            r.string("ref").unwrap(),
        ))
        .or_default()
        .push((
            r.int("n").unwrap(),
            r.string("src").unwrap(),
            r.string("dst").unwrap(),
        ));
    }
    for ((t, _, reft), mut cols) in fks {
        cols.sort();
        let src: Vec<_> = cols.iter().map(|c| c.1.as_str()).collect();
        let dst: Vec<_> = cols.iter().map(|c| c.2.as_str()).collect();
        keys.insert(format!(
            "{t}: FOREIGN KEY ({}) REFERENCES {reft}({})",
            src.join(", "),
            dst.join(", ")
        ));
    }
    keys
}

#[tokio::test]
async fn sqlite_schema_matches_upstream() {
    let (_dir, db) = sqlite_db().await;
    let mut problems = Vec::new();
    let c = db.conn();

    // tables and columns
    let expected: Set = upstream_columns()
        .iter()
        .map(|l| l.rsplit_once('\t').unwrap().0.to_string())
        .collect();
    let sql = format!(
        "SELECT m.name || '\t' || p.name AS line FROM ({}) AS m, pragma_table_info(m.name) AS p",
        sqlite_tables()
    );
    compare(
        "column",
        &expected,
        &strings(&db, &sql).await,
        &mut problems,
    );

    // keys
    let catalog = upstream_catalog();
    compare(
        "key",
        &upstream_keys(&catalog),
        &sqlite_keys(&db).await,
        &mut problems,
    );

    // the explicitly created indexes (not those behind a constraint)
    let constraints: BTreeSet<&str> = of_kind(&catalog, &["constraint"]).map(|f| f[2]).collect();
    let expected: Set = of_kind(&catalog, &["index"])
        .filter(|f| !constraints.contains(f[2]))
        .map(|f| format!("{}\t{}", f[1], f[2]))
        .collect();
    let actual = strings(
        &db,
        "SELECT tbl_name || '\t' || name AS line FROM sqlite_master \
         WHERE type = 'index' AND sql IS NOT NULL",
    )
    .await;
    compare("index", &expected, &actual, &mut problems);
    let partial = fetch_all(
        c,
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '%WHERE%'",
        params![],
    )
    .await
    .unwrap()
    .len();
    if partial != 3 {
        problems.push(format!("{partial} partial indexes, want 3"));
    }

    // seed rows, and behaviour
    compare(
        "rows",
        &expected_rows(&catalog),
        &rows(&db, &upstream_tables()).await,
        &mut problems,
    );
    problems.extend(behaviour(&db).await);

    if let Err(e) = db.migrate().await {
        problems.push(format!("second migration failed: {e}"));
    }
    finish("SQLite", problems);
}

/// Records upstream's catalog from upstream's own schema.sql (see the top
/// of this file). Not a check: run it by hand when upstream changes.
#[tokio::test]
#[ignore]
async fn record_upstream() {
    let path = std::env::var("KOJI_UPSTREAM_SCHEMA")
        .expect("KOJI_UPSTREAM_SCHEMA must name upstream's schemas/schema.sql");
    let sql = std::fs::read_to_string(&path).unwrap();
    let pg = PgScratch::create("record").await.expect("PostgreSQL");
    pg.db
        .conn()
        .execute_unprepared(&sql)
        .await
        .expect("loading upstream's schema");
    let columns = pg_columns(&pg.db).await;
    let tables: BTreeSet<String> = columns
        .iter()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    let mut catalog = pg_catalog(&pg.db).await;
    catalog.extend(rows(&pg.db, &tables).await);
    pg.drop_db().await;
    let unseeded: Vec<_> = catalog
        .iter()
        .filter(|l| l.contains("not in SEEDED"))
        .collect();
    assert!(
        unseeded.is_empty(),
        "add these tables to SEEDED: {unseeded:?}"
    );
    write_lines("upstream_columns.tsv", &columns);
    write_lines("upstream_catalog.tsv", &catalog);
    eprintln!(
        "recorded {} tables, {} columns, {} catalog lines",
        tables.len(),
        columns.len(),
        catalog.len()
    );
}
