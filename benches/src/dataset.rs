//! A Fedora-sized dataset, written through koji-core's database layer in
//! upstream's schema: a three-level inheritance chain
//! (`bench-base` <- `bench-updates` <- `bench-candidate`), N packages listed
//! on the base tag, B builds per package tagged over the chain at many
//! events, and R RPMs per build (one source RPM, the rest binaries).
//!
//! Rows are inserted in bulk (multi-row INSERTs in one transaction per
//! table chunk) rather than through the API, which would take hours at this
//! size; the hub's own code paths are what the benchmarks then measure.

use anyhow::{Context, Result};
use koji_core::db::{exec, fetch_one, Db, RowExt, Value};
use std::time::Instant;

pub struct Spec {
    pub packages: usize,
    pub builds_per_package: usize,
    pub rpms_per_build: usize,
}

pub const TAGS: [&str; 3] = ["bench-base", "bench-updates", "bench-candidate"];

/// Rows per INSERT statement (kept under both backends' parameter limits).
const CHUNK_PARAMS: usize = 30_000;

async fn bulk<C: sea_orm::ConnectionTrait>(
    c: &C,
    table: &str,
    cols: &[&str],
    rows: impl Iterator<Item = Vec<Value>>,
) -> Result<usize> {
    let per_row = format!("({})", vec!["?"; cols.len()].join(", "));
    let max_rows = CHUNK_PARAMS / cols.len();
    let head = format!("INSERT INTO {table} ({}) VALUES ", cols.join(", "));
    let mut params: Vec<Value> = Vec::new();
    let mut n = 0usize;
    let mut total = 0usize;
    let flush = |params: Vec<Value>, n: usize| {
        let sql = format!("{head}{}", vec![per_row.as_str(); n].join(", "));
        async move { exec(c, &sql, params).await }
    };
    for row in rows {
        params.extend(row);
        n += 1;
        if n == max_rows {
            flush(std::mem::take(&mut params), n).await?;
            total += n;
            n = 0;
        }
    }
    if n > 0 {
        flush(params, n).await?;
        total += n;
    }
    Ok(total)
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 6)
}

async fn new_event<C: sea_orm::ConnectionTrait>(c: &C) -> Result<i64> {
    Ok(fetch_one(
        c,
        "INSERT INTO events (time) VALUES (?) RETURNING id",
        vec![Value::from(now())],
    )
    .await?
    .int("id")?)
}

/// Fills an empty, migrated database with user `admin` present.
pub async fn generate(db_url: &str, spec: &Spec) -> Result<()> {
    let t0 = Instant::now();
    let db = Db::connect(db_url).await?;
    db.migrate().await?;
    let admin = fetch_one(
        db.conn(),
        "SELECT id FROM users WHERE name = 'admin'",
        vec![],
    )
    .await
    .context("user admin must exist (koji-hub create-admin)")?
    .int("id")?;

    // tags and inheritance, one event
    let tx = db.begin().await?;
    let ev = new_event(&*tx).await?;
    let mut tag_ids = vec![];
    for name in TAGS {
        let id = fetch_one(
            &*tx,
            "INSERT INTO tag (name) VALUES (?) RETURNING id",
            vec![Value::from(name)],
        )
        .await?
        .int("id")?;
        exec(
            &*tx,
            "INSERT INTO tag_config (tag_id, arches, locked, maven_support, maven_include_all, \
             create_event, creator_id, active) VALUES (?, 'x86_64 aarch64', FALSE, FALSE, FALSE, ?, ?, TRUE)",
            vec![id.into(), ev.into(), admin.into()],
        )
        .await?;
        if let Some(parent) = tag_ids.last() {
            exec(
                &*tx,
                "INSERT INTO tag_inheritance (tag_id, parent_id, priority, intransitive, noconfig, \
                 create_event, creator_id, active) VALUES (?, ?, 0, FALSE, FALSE, ?, ?, TRUE)",
                vec![id.into(), Value::from(*parent), ev.into(), admin.into()],
            )
            .await?;
        }
        tag_ids.push(id);
    }
    tx.commit().await?;

    // packages and the base tag's package list
    let tx = db.begin().await?;
    let ev = new_event(&*tx).await?;
    let first_pkg = fetch_one(
        &*tx,
        "SELECT COALESCE(MAX(id), 0) + 1 AS id FROM package",
        vec![],
    )
    .await?
    .int("id")?;
    bulk(
        &*tx,
        "package",
        &["id", "name"],
        (0..spec.packages).map(|p| {
            vec![
                Value::from(first_pkg + p as i64),
                Value::from(format!("pkg{p:05}")),
            ]
        }),
    )
    .await?;
    bulk(
        &*tx,
        "tag_packages",
        &[
            "package_id",
            "tag_id",
            "blocked",
            "create_event",
            "creator_id",
            "active",
        ],
        (0..spec.packages).map(|p| {
            vec![
                Value::from(first_pkg + p as i64),
                Value::from(tag_ids[0]),
                Value::from(false),
                Value::from(ev),
                Value::from(admin),
                Value::from(true),
            ]
        }),
    )
    .await?;
    bulk(
        &*tx,
        "tag_package_owners",
        &[
            "package_id",
            "tag_id",
            "owner",
            "create_event",
            "creator_id",
            "active",
        ],
        (0..spec.packages).map(|p| {
            vec![
                Value::from(first_pkg + p as i64),
                Value::from(tag_ids[0]),
                Value::from(admin),
                Value::from(ev),
                Value::from(admin),
                Value::from(true),
            ]
        }),
    )
    .await?;
    if db.backend() == koji_core::db::Backend::Postgres {
        exec(
            &*tx,
            "SELECT setval('package_id_seq', (SELECT MAX(id) FROM package))",
            vec![],
        )
        .await?;
    }
    tx.commit().await?;
    eprintln!(
        "dataset: tags and {} packages in {:.1?}",
        spec.packages,
        t0.elapsed()
    );

    // builds: round k makes build k of every package, in chunks of
    // packages, each chunk at its own event; the build is tagged into the
    // base tag (rounds 0-1), updates (2-3) or candidate (the rest)
    let first_build = fetch_one(
        db.conn(),
        "SELECT COALESCE(MAX(id), 0) + 1 AS id FROM build",
        vec![],
    )
    .await?
    .int("id")?;
    let first_rpm = fetch_one(
        db.conn(),
        "SELECT COALESCE(MAX(id), 0) + 1 AS id FROM rpminfo",
        vec![],
    )
    .await?
    .int("id")?;
    let pkgs_per_event = 500usize;
    let mut build_id = first_build;
    let mut rpm_id = first_rpm;
    let mut n_builds = 0usize;
    let mut n_rpms = 0usize;
    for round in 0..spec.builds_per_package {
        let tag = tag_ids[match round {
            0 | 1 => 0,
            2 | 3 => 1,
            _ => 2,
        }];
        for chunk_start in (0..spec.packages).step_by(pkgs_per_event) {
            let chunk_end = (chunk_start + pkgs_per_event).min(spec.packages);
            let tx = db.begin().await?;
            let ev = new_event(&*tx).await?;
            let t = now();
            let ids: Vec<(i64, usize)> = (chunk_start..chunk_end)
                .map(|p| {
                    let id = build_id;
                    build_id += 1;
                    (id, p)
                })
                .collect();
            bulk(
                &*tx,
                "build",
                &[
                    "id",
                    "pkg_id",
                    "version",
                    "release",
                    "epoch",
                    "draft",
                    "state",
                    "volume_id",
                    "owner",
                    "start_time",
                    "completion_time",
                    "create_event",
                ],
                ids.iter().map(|(id, p)| {
                    vec![
                        Value::from(*id),
                        Value::from(first_pkg + *p as i64),
                        Value::from(format!("1.{round}")),
                        Value::from("1.fc42".to_string()),
                        Value::from(None::<i64>),
                        Value::from(false),
                        Value::from(1i64),
                        Value::from(0i64),
                        Value::from(admin),
                        Value::from(t),
                        Value::from(t),
                        Value::from(ev),
                    ]
                }),
            )
            .await?;
            bulk(
                &*tx,
                "tag_listing",
                &["build_id", "tag_id", "create_event", "creator_id", "active"],
                ids.iter().map(|(id, _)| {
                    vec![
                        Value::from(*id),
                        Value::from(tag),
                        Value::from(ev),
                        Value::from(admin),
                        Value::from(true),
                    ]
                }),
            )
            .await?;
            let rpms_per_build = spec.rpms_per_build;
            let rows = ids.iter().flat_map(|(id, p)| {
                let id = *id;
                let p = *p;
                (0..rpms_per_build).map(move |i| (id, p, i))
            });
            let mut rows_with_ids = vec![];
            for (bid, p, i) in rows {
                let (name, arch) = match i {
                    0 => (format!("pkg{p:05}"), "src"),
                    1 => (format!("pkg{p:05}"), "x86_64"),
                    i if i % 3 == 0 => (format!("pkg{p:05}-sub{i}"), "noarch"),
                    i if i % 3 == 1 => (format!("pkg{p:05}-sub{i}"), "x86_64"),
                    i => (format!("pkg{p:05}-sub{i}"), "aarch64"),
                };
                rows_with_ids.push(vec![
                    Value::from(rpm_id),
                    Value::from(bid),
                    Value::from(name),
                    Value::from(format!("1.{round}")),
                    Value::from("1.fc42".to_string()),
                    Value::from(None::<i64>),
                    Value::from(arch.to_string()),
                    Value::from(false),
                    Value::from(0i64),
                    Value::from(format!("{:032x}", rpm_id as u128 * 2654435761)),
                    Value::from(100_000i64 + i as i64),
                    Value::from(1_700_000_000i64 + round as i64),
                    Value::from(false),
                ]);
                rpm_id += 1;
            }
            n_rpms += bulk(
                &*tx,
                "rpminfo",
                &[
                    "id",
                    "build_id",
                    "name",
                    "version",
                    "release",
                    "epoch",
                    "arch",
                    "draft",
                    "external_repo_id",
                    "payloadhash",
                    "size",
                    "buildtime",
                    "metadata_only",
                ],
                rows_with_ids.into_iter(),
            )
            .await?;
            n_builds += ids.len();
            tx.commit().await?;
        }
        eprintln!(
            "dataset: round {}/{}: {n_builds} builds, {n_rpms} rpms ({:.1?})",
            round + 1,
            spec.builds_per_package,
            t0.elapsed()
        );
    }
    if db.backend() == koji_core::db::Backend::Postgres {
        for (seq, table) in [("build_id_seq", "build"), ("rpminfo_id_seq", "rpminfo")] {
            exec(
                db.conn(),
                &format!("SELECT setval('{seq}', (SELECT MAX(id) FROM {table}))"),
                vec![],
            )
            .await?;
        }
        exec(db.conn(), "ANALYZE", vec![]).await?;
    } else {
        exec(db.conn(), "ANALYZE", vec![]).await?;
    }
    eprintln!(
        "dataset: {} packages, {n_builds} builds, {n_rpms} rpms in {:.1?}",
        spec.packages,
        t0.elapsed()
    );
    Ok(())
}
