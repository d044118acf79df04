//! `db::fetch_json_rows`: big reads come from the database as one JSON
//! document, decoded into typed rows, the same on both backends.

use koji_core::db::{exec, fetch_json_rows, fetch_json_rows_with, json_bool, json_opt_bool};
use koji_core::params;
use koji_core::testing::TestHub;
use koji_core::Result;

#[derive(serde::Deserialize, Debug, PartialEq)]
struct Row {
    id: i64,
    name: String,
    #[serde(deserialize_with = "json_bool")]
    flag: bool,
    #[serde(deserialize_with = "json_opt_bool")]
    maybe: Option<bool>,
    text: Option<String>,
    time: String,
}

#[tokio::test]
async fn json_rows_keep_types_order_and_nulls() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let db = th.hub.db();
        let mut tx = db.begin().await?;
        let ev = tx.event().await?;
        for name in ["b\"q\\uote\n", "a-é", "c"] {
            exec(
                &*tx,
                "INSERT INTO package (name) VALUES (?)",
                params![name.to_string()],
            )
            .await?;
        }
        tx.commit().await?;
        // booleans computed by the database: 0/1 on SQLite, true/false on
        // PostgreSQL
        let cols = [
            "package.id",
            "package.name",
            "package.name <> 'a-é'",
            "CASE WHEN package.name = 'a-é' THEN NULL ELSE package.name = 'c' END",
            "NULL",
            "events.time",
        ];
        let from = "FROM package JOIN events ON events.id = ? WHERE package.name <> ?";
        let rows: Vec<Row> = fetch_json_rows_with(
            db.conn(),
            "",
            &cols,
            from,
            "package.name DESC",
            params![ev, "nothing".to_string()],
        )
        .await?;
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["c", "b\"q\\uote\n", "a-é"], "{l}");
        assert_eq!(
            rows.iter().map(|r| (r.flag, r.maybe)).collect::<Vec<_>>(),
            [(true, Some(true)), (true, Some(false)), (false, None)],
            "{l}"
        );
        assert!(rows.iter().all(|r| r.text.is_none() && r.id > 0), "{l}");
        // times as texts the hub's time parsing reads
        assert!(
            rows.iter()
                .all(|r| r.time.starts_with("20") && r.time.len() >= 19),
            "{l}: {rows:?}"
        );
        // no rows: an empty list (PostgreSQL's json_agg gives NULL)
        let empty: Vec<(i64,)> = fetch_json_rows(
            db.conn(),
            &["package.id"],
            "FROM package WHERE package.name = ?",
            params!["no such package".to_string()],
        )
        .await?;
        assert!(empty.is_empty(), "{l}");
        // a row that does not fit the type is an error, not a panic
        let bad: Result<Vec<(i64,)>> =
            fetch_json_rows(db.conn(), &["package.name"], "FROM package", params![]).await;
        assert!(bad.is_err(), "{l}");
    }
    Ok(())
}
