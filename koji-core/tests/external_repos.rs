//! External repos through upstream's API: create, list, get, edit,
//! delete, tag associations with priorities, merge modes and arches,
//! inheritance (getExternalRepoList), events, faults and permissions.

use koji_core::testing::{kw, TestHub};
use koji_core::Result;
use serde_json::{json, Value as Json};

fn fault(r: Result<Json>) -> (i32, String) {
    let e = r.expect_err("a fault");
    (e.fault_code(), e.to_string())
}

fn names(v: &Json, key: &str) -> Vec<String> {
    v.as_array()
        .expect("list")
        .iter()
        .map(|r| format!("{}:{}", r[key].as_str().unwrap_or(""), r["priority"]))
        .collect()
}

#[tokio::test]
async fn external_repos_and_tags() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let l = th.label();
        th.call(&admin, "createTag", json!(["base"])).await?;
        th.call(
            &admin,
            "createTag",
            json!(["child", kw(json!({"parent": "base"}))]),
        )
        .await?;
        let r = th
            .call(
                &admin,
                "createExternalRepo",
                json!(["ext1", "file:///srv/ext1"]),
            )
            .await?;
        assert_eq!(
            r,
            json!({"id": 1, "name": "ext1", "url": "file:///srv/ext1/"}),
            "[{l}]"
        );
        th.call(
            &admin,
            "createExternalRepo",
            json!(["ext2", "http://x/ext2/"]),
        )
        .await?;
        assert_eq!(
            fault(
                th.call(&admin, "createExternalRepo", json!(["ext1", "u"]))
                    .await
            ),
            (
                1000,
                "An external repo named \"ext1\" already exists".into()
            )
        );
        assert_eq!(
            fault(
                th.call(&admin, "createExternalRepo", json!(["bad name", "u"]))
                    .await
            ),
            (
                1000,
                "Name bad name does not match RegexNameInternal value".into()
            )
        );
        assert_eq!(
            th.call(&admin, "getExternalRepo", json!([2])).await?,
            json!({"id": 2, "name": "ext2", "url": "http://x/ext2/"})
        );
        assert_eq!(
            th.call(&admin, "getExternalRepo", json!(["nope"])).await?,
            Json::Null
        );
        assert_eq!(
            fault(
                th.call(&admin, "getExternalRepo", json!(["nope", true]))
                    .await
            ),
            (1000, "No such repo: nope".into())
        );
        let listed = th
            .call(
                &admin,
                "listExternalRepos",
                json!([kw(json!({"url": "file:///srv/ext1/"}))]),
            )
            .await?;
        assert_eq!(listed.as_array().map(Vec::len), Some(1));
        let count = th
            .call(
                &admin,
                "listExternalRepos",
                json!([kw(json!({"queryOpts": {"countOnly": true}}))]),
            )
            .await?;
        assert_eq!(count, json!(2));

        let before = th.call(&admin, "getLastEvent", json!([])).await?["id"].clone();
        th.call(&admin, "addExternalRepoToTag", json!(["base", "ext2", 10]))
            .await?;
        th.call(
            &admin,
            "addExternalRepoToTag",
            json!([
                "base",
                "ext1",
                20,
                kw(json!({"merge_mode": "bare", "arches": "x86_64 aarch64"}))
            ]),
        )
        .await?;
        th.call(&admin, "addExternalRepoToTag", json!(["child", "ext1", 5]))
            .await?;
        let tr = th
            .call(
                &admin,
                "getTagExternalRepos",
                json!([kw(json!({"tag_info": "base"}))]),
            )
            .await?;
        assert_eq!(
            serde_json::to_string(&tr[1]).unwrap(),
            r#"{"arches":"x86_64 aarch64","external_repo_id":1,"external_repo_name":"ext1","merge_mode":"bare","priority":20,"tag_id":1,"tag_name":"base","url":"file:///srv/ext1/"}"#,
            "[{l}]"
        );
        assert_eq!(names(&tr, "external_repo_name"), vec!["ext2:10", "ext1:20"]);
        // the child's list: its own, then the parent's not yet seen
        let list = th
            .call(&admin, "getExternalRepoList", json!(["child"]))
            .await?;
        assert_eq!(
            names(&list, "external_repo_name"),
            vec!["ext1:5", "ext2:10"],
            "[{l}]"
        );
        let used = th
            .call(
                &admin,
                "getTagExternalRepos",
                json!([kw(json!({"repo_info": "ext1"}))]),
            )
            .await?;
        assert_eq!(names(&used, "tag_name"), vec!["child:5", "base:20"]);
        // as of an event before the associations
        assert_eq!(
            th.call(&admin, "getExternalRepoList", json!(["child", before]))
                .await?,
            json!([])
        );

        for (args, msg) in [
            (
                json!(["base", "ext1", 30]),
                "tag base already associated with external repo ext1",
            ),
            (
                json!(["child", "ext2", 5]),
                "tag child already associated with an external repo at priority 5",
            ),
            (
                json!(["child", "ext2", 6, "nosuch"]),
                "No such merge mode: nosuch",
            ),
            (json!(["child", "nope", 6]), "No such repo: nope"),
            (json!(["nosuch", "ext2", 6]), "No such tagInfo: 'nosuch'"),
        ] {
            assert_eq!(
                fault(th.call(&admin, "addExternalRepoToTag", args).await),
                (1000, msg.to_string()),
                "[{l}]"
            );
        }

        // editTagExternalRepo: None changes nothing
        assert_eq!(
            th.call(&admin, "editTagExternalRepo", json!(["base", "ext2"]))
                .await?,
            json!(false)
        );
        assert_eq!(
            th.call(
                &admin,
                "editTagExternalRepo",
                json!([
                    "base",
                    "ext2",
                    kw(json!({"priority": 30, "merge_mode": "simple"}))
                ])
            )
            .await?,
            json!(true)
        );
        let tr = th
            .call(
                &admin,
                "getTagExternalRepos",
                json!([kw(json!({"tag_info": "base"}))]),
            )
            .await?;
        assert_eq!(names(&tr, "external_repo_name"), vec!["ext1:20", "ext2:30"]);
        assert_eq!(tr[1]["merge_mode"], json!("simple"));
        assert_eq!(
            fault(
                th.call(&admin, "editTagExternalRepo", json!(["child", "ext2", 1]))
                    .await
            ),
            (
                1000,
                "external repo ext2 not associated with tag child".into()
            )
        );

        // rename, new url (the old config revoked, history kept)
        th.call(
            &admin,
            "editExternalRepo",
            json!(["ext2", kw(json!({"name": "ext3", "url": "http://x/3"}))]),
        )
        .await?;
        assert_eq!(
            th.call(&admin, "getExternalRepo", json!([2])).await?,
            json!({"id": 2, "name": "ext3", "url": "http://x/3/"})
        );
        assert_eq!(
            fault(
                th.call(
                    &admin,
                    "editExternalRepo",
                    json!(["ext3", kw(json!({"name": "ext1"}))])
                )
                .await
            ),
            (
                1000,
                "name \"ext1\" is already taken by external repo 1".into()
            )
        );

        // remove and delete
        th.call(
            &admin,
            "removeExternalRepoFromTag",
            json!(["child", "ext1"]),
        )
        .await?;
        assert_eq!(
            fault(
                th.call(
                    &admin,
                    "removeExternalRepoFromTag",
                    json!(["child", "ext1"])
                )
                .await
            ),
            (
                1000,
                "external repo ext1 not associated with tag child".into()
            )
        );
        th.call(&admin, "deleteExternalRepo", json!(["ext1"]))
            .await?;
        assert_eq!(
            th.call(&admin, "getExternalRepo", json!(["ext1"])).await?,
            Json::Null
        );
        let tr = th
            .call(
                &admin,
                "getTagExternalRepos",
                json!([kw(json!({"tag_info": "base"}))]),
            )
            .await?;
        assert_eq!(names(&tr, "external_repo_name"), vec!["ext3:30"], "[{l}]");
        // a deleted repo's name can be created again (same id, as upstream)
        let again = th
            .call(
                &admin,
                "createExternalRepo",
                json!(["ext1", "file:///other"]),
            )
            .await?;
        assert_eq!(again["id"], json!(1));

        // permissions: admin for repos, tag for associations
        let bob = th.user("bob", "pw", &[]).await?;
        assert_eq!(
            fault(th.call(&bob, "createExternalRepo", json!(["x", "u"])).await),
            (1004, "admin permission required (logged in as bob)".into())
        );
        assert_eq!(
            fault(
                th.call(&bob, "addExternalRepoToTag", json!(["base", "ext1", 1]))
                    .await
            ),
            (1004, "tag permission required (logged in as bob)".into())
        );
        let tagger = th.user("tagger", "pw", &["tag"]).await?;
        th.call(&tagger, "addExternalRepoToTag", json!(["base", "ext1", 1]))
            .await?;
        // kojira's tracking data for an external repo
        assert_eq!(
            th.call(&admin, "repo.getExternalRepoData", json!(["ext1"]))
                .await?,
            Json::Null
        );
        assert_eq!(
            fault(
                th.call(&bob, "repo.setExternalRepoData", json!(["ext1", {"a": 1}]))
                    .await
            ),
            (1004, "repo permission required (logged in as bob)".into())
        );
        let kojira = th.user("kojira", "pw", &["repo"]).await?;
        th.call(
            &kojira,
            "repo.setExternalRepoData",
            json!(["ext1", {"max_ts": 1.5}]),
        )
        .await?;
        th.call(
            &kojira,
            "repo.setExternalRepoData",
            json!([1, {"max_ts": 2.5}]),
        )
        .await?;
        assert_eq!(
            th.call(&admin, "repo.getExternalRepoData", json!([1]))
                .await?,
            json!({"max_ts": 2.5}),
            "[{l}]"
        );
        assert_eq!(
            fault(
                th.call(&kojira, "repo.setExternalRepoData", json!(["ext1", [1]]))
                    .await
            ),
            (1019, "Invalid type for value [1]: list".into())
        );
        assert_eq!(
            fault(
                th.call(&admin, "repo.getExternalRepoData", json!(["nope"]))
                    .await
            ),
            (1000, "No such entry in table external_repo: nope".into())
        );
        // getRepo: no repos yet
        assert_eq!(th.call(&bob, "getRepo", json!(["base"])).await?, Json::Null);
    }
    Ok(())
}
