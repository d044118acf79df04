//! The parser and evaluator against a fake fact source.

use super::env::{BuildFact, BuildrootFact, PolicyEnv, TagEvent, TagFact, UserFact};
use super::*;
use async_trait::async_trait;
use serde_json::json;
use std::collections::HashMap;

#[derive(Default)]
struct Fake {
    caller: Option<UserFact>,
    users: Vec<UserFact>,
    groups: HashMap<i64, Vec<(i64, String)>>,
    perms: HashMap<i64, Vec<String>>,
    packages: Vec<(i64, String)>,
    builds: Vec<BuildFact>,
    build_brs: HashMap<i64, Vec<Option<i64>>>,
    btypes: HashMap<i64, Vec<String>>,
    build_tags: HashMap<i64, Vec<String>>,
    buildroots: HashMap<i64, BuildrootFact>,
    cgs: Vec<String>,
    volumes: Vec<String>,
    tags: Vec<TagFact>,
    targets: HashMap<String, i64>,
    ancestors: HashMap<i64, Vec<String>>,
    task_sources: HashMap<i64, String>,
}

fn user(id: i64, name: &str, usertype: i64) -> UserFact {
    UserFact {
        id,
        name: name.into(),
        usertype,
    }
}

fn build(id: i64, name: &str, version: &str, release: &str) -> BuildFact {
    BuildFact {
        id,
        package_id: id * 10,
        name: name.into(),
        version: version.into(),
        release: release.into(),
        owner_id: 1,
        volume_id: 0,
        volume_name: "DEFAULT".into(),
        draft: false,
        source: None,
        task_id: None,
        extra: None,
    }
}

#[async_trait]
impl PolicyEnv for Fake {
    fn caller_user(&self) -> Option<UserFact> {
        self.caller.clone()
    }
    async fn user(&self, info: &Json) -> Result<Option<UserFact>> {
        Ok(match info {
            Json::Null => self.caller.clone(),
            Json::Number(n) => self
                .users
                .iter()
                .find(|u| Some(u.id) == n.as_i64())
                .cloned(),
            Json::String(s) => self.users.iter().find(|u| &u.name == s).cloned(),
            _ => None,
        })
    }
    async fn user_groups(&self, user_id: i64) -> Result<Vec<(i64, String)>> {
        Ok(self.groups.get(&user_id).cloned().unwrap_or_default())
    }
    async fn user_perms(&self, user_id: i64) -> Result<Vec<String>> {
        Ok(self.perms.get(&user_id).cloned().unwrap_or_default())
    }
    async fn package(&self, info: &Json) -> Result<Option<(i64, String)>> {
        Ok(self
            .packages
            .iter()
            .find(|(id, name)| match info {
                Json::Number(n) => n.as_i64() == Some(*id),
                Json::String(s) => s == name,
                _ => false,
            })
            .cloned())
    }
    async fn build(&self, info: &Json, strict: bool) -> Result<Option<BuildFact>> {
        let found = self
            .builds
            .iter()
            .find(|b| match info {
                Json::Number(n) => n.as_i64() == Some(b.id),
                Json::String(s) => *s == format!("{}-{}-{}", b.name, b.version, b.release),
                _ => false,
            })
            .cloned();
        if found.is_none() && strict {
            return Err(Error::Generic(format!(
                "No such build: {}",
                crate::util::py_str(info)
            )));
        }
        Ok(found)
    }
    async fn build_buildroots(&self, build_id: i64) -> Result<Vec<Option<i64>>> {
        Ok(self.build_brs.get(&build_id).cloned().unwrap_or_default())
    }
    async fn build_types(&self, build: &BuildFact) -> Result<Vec<String>> {
        Ok(self.btypes.get(&build.id).cloned().unwrap_or_default())
    }
    async fn build_tag_names(&self, build_id: i64) -> Result<Vec<String>> {
        Ok(self.build_tags.get(&build_id).cloned().unwrap_or_default())
    }
    async fn buildroot(&self, br_id: &Json) -> Result<BuildrootFact> {
        br_id
            .as_i64()
            .and_then(|id| self.buildroots.get(&id).cloned())
            .ok_or_else(|| Error::Generic(format!("No such buildroot: {br_id}")))
    }
    async fn content_generator(&self, info: &Json) -> Result<String> {
        match info {
            Json::String(s) if self.cgs.contains(s) => Ok(s.clone()),
            other => Err(Error::Generic(format!(
                "No such entry in table content_generator: {}",
                crate::util::py_str(other)
            ))),
        }
    }
    async fn volume(&self, info: &Json) -> Result<Option<String>> {
        Ok(info
            .as_str()
            .filter(|v| self.volumes.iter().any(|x| x == v))
            .map(str::to_string))
    }
    async fn tag(&self, info: &Json, strict: bool, event: TagEvent) -> Result<Option<TagFact>> {
        let found = self
            .tags
            .iter()
            .find(|t| match info {
                Json::Number(n) => n.as_i64() == Some(t.id),
                Json::String(s) => *s == t.name,
                _ => false,
            })
            .cloned()
            .map(|mut t| {
                if let TagEvent::At(e) = event {
                    t.query_event = e;
                }
                t
            });
        if found.is_none() && strict {
            return Err(Error::Generic(format!("No such tagInfo: {info}")));
        }
        Ok(found)
    }
    async fn target_build_tag(&self, info: &Json) -> Result<Option<i64>> {
        Ok(info.as_str().and_then(|t| self.targets.get(t).copied()))
    }
    async fn tag_ancestors(&self, tag_id: i64, _event: Option<i64>) -> Result<Vec<String>> {
        Ok(self.ancestors.get(&tag_id).cloned().unwrap_or_default())
    }
    async fn task_source(&self, task_id: i64) -> Result<Option<String>> {
        Ok(self.task_sources.get(&task_id).cloned())
    }
}

fn fake() -> Fake {
    let mut f = Fake {
        caller: Some(user(1, "alice", 0)),
        users: vec![
            user(1, "alice", 0),
            user(2, "bob", 0),
            user(3, "packagers", 2),
        ],
        packages: vec![(10, "foo".into()), (20, "bar".into())],
        builds: vec![
            build(1, "foo", "1.0", "1.fc40"),
            build(2, "bar", "2.0", "3"),
        ],
        cgs: vec!["osbs".into(), "pungi".into()],
        volumes: vec!["DEFAULT".into(), "archive".into()],
        tags: vec![
            TagFact {
                id: 100,
                name: "f40".into(),
                query_event: None,
            },
            TagFact {
                id: 101,
                name: "f40-build".into(),
                query_event: None,
            },
            TagFact {
                id: 102,
                name: "f40-updates".into(),
                query_event: None,
            },
        ],
        ..Fake::default()
    };
    f.groups.insert(2, vec![(3, "packagers".into())]);
    f.perms.insert(1, vec!["admin".into()]);
    f.perms.insert(2, vec!["tag".into(), "build".into()]);
    f.build_brs.insert(1, vec![Some(5), Some(6)]);
    f.build_brs.insert(2, vec![Some(7), None]);
    f.btypes.insert(1, vec!["rpm".into()]);
    f.btypes.insert(2, vec!["maven".into(), "rpm".into()]);
    f.build_tags
        .insert(1, vec!["f40".into(), "f40-updates".into()]);
    f.buildroots.insert(
        5,
        BuildrootFact {
            cg_name: None,
            tag_name: Some("f40-build".into()),
            repo_create_event: Some(7),
        },
    );
    f.buildroots.insert(
        6,
        BuildrootFact {
            cg_name: None,
            tag_name: Some("f40-build".into()),
            repo_create_event: Some(8),
        },
    );
    f.buildroots.insert(
        7,
        BuildrootFact {
            cg_name: Some("osbs".into()),
            tag_name: None,
            repo_create_event: None,
        },
    );
    f.targets.insert("f40-candidate".into(), 101);
    f.ancestors.insert(101, vec!["f40".into(), "base".into()]);
    f.task_sources.insert(77, "git+https://src/foo#abc".into());
    f
}

fn policies(text: &[(&str, &str)]) -> Policies {
    let mut p = Policies::default();
    for (name, t) in text {
        p.set(name, t).unwrap();
    }
    p
}

/// The action of a one-policy set `text` for `data`.
async fn action(env: &Fake, text: &str, data: Json) -> Result<Option<String>> {
    policies(&[("p", text)]).eval(env, "p", &data).await
}

/// Whether test `test` passes for `data`.
async fn passes(env: &Fake, test: &str, data: Json) -> Result<bool> {
    let a = action(env, &format!("{test} :: yes\nall :: no"), data).await?;
    Ok(a.as_deref() == Some("yes"))
}

async fn t(env: &Fake, test: &str, data: Json) -> bool {
    passes(env, test, data.clone())
        .await
        .unwrap_or_else(|e| panic!("{test} on {data}: {e}"))
}

async fn err(env: &Fake, test: &str, data: Json) -> String {
    passes(env, test, data).await.expect_err(test).to_string()
}

// ---------------------------------------------------------------------------
// The language
// ---------------------------------------------------------------------------

#[test]
fn parse_errors_name_the_line() {
    let e = |text: &str| RuleSet::parse(text).unwrap_err();
    assert_eq!(
        e("all :: allow\n\nnonsense here\n"),
        ParseError {
            line: 3,
            message: "bad policy line: nonsense here".into()
        }
    );
    assert_eq!(
        e("all :: allow\nfrobnicate x :: deny").message,
        "missing test handler: frobnicate"
    );
    assert_eq!(e("all :: allow\nfrobnicate x :: deny").line, 2);
    assert_eq!(
        e("all :: allow\n}\n"),
        ParseError {
            line: 2,
            message: "nesting error in rule set".into()
        }
    );
    assert_eq!(
        e("# c\nhas x :: {\n  all :: allow\n"),
        ParseError {
            line: 2,
            message: "nesting error in rule set".into()
        }
    );
    assert_eq!(
        e("has :: allow").message,
        "Invalid or missing field in policy test"
    );
    assert_eq!(
        e("compare x ~ 3 :: allow").message,
        "Invalid comparison in test."
    );
    assert_eq!(
        e("compare x < :: allow").message,
        "not enough values to unpack (expected 3, got 2)"
    );
    assert_eq!(
        e("compare x < abc :: allow").message,
        "could not convert string to float: 'abc '"
    );
    assert_eq!(e(":: allow").message, "empty test in policy rule");
    // a comment hides everything after '#', separators included
    assert_eq!(e("all # :: allow").message, "bad policy line: all");
    // numbered lines keep their numbers
    let lines = [(40, "all :: allow"), (41, "   bogus :: x")];
    assert_eq!(RuleSet::parse_numbered(lines).unwrap_err().line, 41);
}

#[test]
fn every_upstream_test_name_parses() {
    for name in TEST_NAMES {
        let text = match *name {
            "has" => "has x :: a".to_string(),
            "compare" => "compare x > 1 :: a".to_string(),
            n => format!("{n} x y :: a"),
        };
        RuleSet::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    assert_eq!(TEST_NAMES.len(), 37);
}

#[test]
fn defaults_are_upstreams() {
    let p = Policies::default();
    let names: Vec<&str> = p.names().collect();
    assert_eq!(
        names,
        [
            "build_from_repo_id",
            "build_from_scm",
            "build_from_srpm",
            "build_rpm",
            "cg_import",
            "channel",
            "draft_promotion",
            "package_list",
            "priority",
            "vm",
            "volume"
        ]
    );
    assert!(p.missing_policy_ok);
    assert_eq!(
        p.get("package_list").unwrap().all_actions(),
        ["allow", "deny"]
    );
}

#[test]
fn config_overrides_defaults_and_reports_policy_and_line() {
    let p = Policies::with_config([("volume".to_string(), vec![(3, "all :: archive")])]).unwrap();
    assert!(p.get("volume").is_some());
    assert!(p.get("package_list").is_some());
    let e = Policies::with_config([(
        "tag".to_string(),
        vec![(10, "has_perm admin :: allow"), (11, "oops :: deny")],
    )])
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "policy tag, line 11: missing test handler: oops"
    );
}

#[tokio::test]
async fn first_match_wins_and_negation() {
    let env = fake();
    let p = "has a :: first\nhas b :: second\nall :: third";
    assert_eq!(
        action(&env, p, json!({"a": 1, "b": 1}))
            .await
            .unwrap()
            .as_deref(),
        Some("first")
    );
    assert_eq!(
        action(&env, p, json!({"b": 1})).await.unwrap().as_deref(),
        Some("second")
    );
    assert_eq!(
        action(&env, p, json!({})).await.unwrap().as_deref(),
        Some("third")
    );
    // !! applies when the tests do not all pass
    let p = "has a && has b !! incomplete\nall :: complete";
    assert_eq!(
        action(&env, p, json!({"a": 1})).await.unwrap().as_deref(),
        Some("incomplete")
    );
    assert_eq!(
        action(&env, p, json!({"a": 1, "b": 2}))
            .await
            .unwrap()
            .as_deref(),
        Some("complete")
    );
    // no match: None
    assert_eq!(action(&env, "has a :: x", json!({})).await.unwrap(), None);
    // the last '::' separates; the action keeps its words
    let p = "match f a::b :: deny Not   this one";
    assert_eq!(
        action(&env, p, json!({"f": "a::b"}))
            .await
            .unwrap()
            .as_deref(),
        Some("deny Not   this one")
    );
    // an empty action is an action
    assert_eq!(
        action(&env, "all ::", json!({})).await.unwrap().as_deref(),
        Some("")
    );
}

#[tokio::test]
async fn blocks_nest_and_fall_through() {
    let env = fake();
    let p = "\
        # comment line
        has a :: {
            has b :: {
                has c :: abc
            }
            has d :: ad   # trailing comment
        }

        all :: fallback
    ";
    let pol = policies(&[("p", p)]);
    let run = |d: Json| {
        let pol = &pol;
        let env = &env;
        async move { pol.apply(env, "p", &d).await.unwrap().unwrap() }
    };
    let o = run(json!({"a": 1, "b": 1, "c": 1})).await;
    assert_eq!(o.action.as_deref(), Some("abc"));
    assert_eq!(o.last_rule, "has a :: ... has b :: ... has c :: abc");
    let o = run(json!({"a": 1, "b": 1, "d": 1})).await;
    assert_eq!(o.action.as_deref(), Some("ad"));
    // upstream keeps the matched block head whose rules did not match
    assert_eq!(o.last_rule, "has a :: ... has b :: ... has d :: ad");
    let o = run(json!({"a": 1})).await;
    assert_eq!(o.action.as_deref(), Some("fallback"));
    assert_eq!(o.last_rule, "all :: fallback");
    let pol2 = policies(&[("p", "has a :: {\n has b :: x\n}")]);
    let o = pol2
        .apply(&env, "p", &json!({"a": 1}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(o.action, None);
    assert_eq!(o.last_rule, "has a :: (no match)");
    let o = pol2.apply(&env, "p", &json!({})).await.unwrap().unwrap();
    assert_eq!(o.last_rule, "(no match)");
    let pol3 = policies(&[("p", "has a&&  has b !! nope")]);
    let o = pol3.apply(&env, "p", &json!({})).await.unwrap().unwrap();
    assert_eq!(o.last_rule, "has a&&  has b !! nope");
}

#[tokio::test]
async fn tests_stop_at_the_first_failure() {
    let env = fake();
    // `package` would fail without package data; `false` comes first
    assert!(!t(&env, "false && package foo", json!({})).await);
    assert_eq!(
        err(&env, "true && package foo", json!({})).await,
        "policy requires package data"
    );
}

// ---------------------------------------------------------------------------
// Every test
// ---------------------------------------------------------------------------

#[tokio::test]
async fn generic_tests() {
    let env = fake();
    for (test, data, want) in [
        ("true", json!({}), true),
        ("all", json!({}), true),
        ("false", json!({}), false),
        ("none", json!({}), false),
        ("has x", json!({"x": null}), true),
        ("has x", json!({"y": 1}), false),
        ("bool x", json!({"x": 1}), true),
        ("bool x", json!({"x": ""}), false),
        ("bool x", json!({"x": []}), false),
        ("bool x", json!({}), false),
        ("match x a* b", json!({"x": "apple"}), true),
        ("match x a* b", json!({"x": "b"}), true),
        ("match x a* b", json!({"x": "c"}), false),
        ("match x *", json!({"x": null}), false),
        ("match x *", json!({}), false),
        (
            "match_any x f4? rawhide",
            json!({"x": ["f39", "f40"]}),
            true,
        ),
        ("match_any x f4?", json!({"x": ["f39", null]}), false),
        ("match_any x 1", json!({"x": [1, 2]}), true),
        ("match_any x *", json!({"x": []}), false),
        ("match_any x *", json!({"x": "f40"}), false),
        ("match_all x f*", json!({"x": ["f39", "f40"]}), true),
        ("match_all x f4*", json!({"x": ["f39", "f40"]}), false),
        ("match_all x *", json!({"x": ["a", null]}), false),
        ("match_all x *", json!({"x": []}), false),
        ("target f40-*", json!({"target": "f40-candidate"}), true),
        ("target f40-*", json!({"target": "f39"}), false),
        ("compare n > 2", json!({"n": 3}), true),
        ("compare n > 2", json!({"n": 2}), false),
        ("compare n >= 2", json!({"n": 2}), true),
        ("compare n < 2.5", json!({"n": 2}), true),
        ("compare n <= 2", json!({"n": 2.0}), true),
        ("compare n = 1", json!({"n": true}), true),
        ("compare n != 1", json!({"n": 1}), false),
        ("compare n = 1", json!({"n": "1"}), false),
        ("compare n != 1", json!({"n": "1"}), true),
        ("compare n > 1", json!({}), false),
        ("operation tag*", json!({"operation": "tag"}), true),
        ("operation tag", json!({"operation": "untag"}), false),
        ("method build*", json!({"method": "buildArch"}), true),
        ("vm_name win-*", json!({"vm_name": "win-2019"}), true),
        ("is_child_task", json!({"parent": 5}), true),
        ("is_child_task", json!({"parent": null}), false),
        ("is_child_task", json!({}), false),
        ("skip_tag", json!({"skip_tag": true}), true),
        ("skip_tag", json!({}), false),
    ] {
        assert_eq!(t(&env, test, data.clone()).await, want, "{test} on {data}");
    }
    assert_eq!(
        err(&env, "compare n < 2", json!({"n": "x"})).await,
        "'<' not supported between instances of 'str' and 'int'"
    );
    assert_eq!(
        err(&env, "match x *", json!({"x": 5})).await,
        "expected str, bytes or os.PathLike object, not int"
    );
    assert!(err(&env, "match", json!({"x": 5}))
        .await
        .contains("missing field name"));
}

#[tokio::test]
async fn package_version_release_tests() {
    let env = fake();
    assert!(t(&env, "package foo", json!({"package": "foo"})).await);
    assert!(t(&env, "package fo?", json!({"package": 10})).await);
    assert!(t(&env, "package newpkg", json!({"package": "newpkg"})).await);
    assert!(t(&env, "package bar", json!({"build": "bar-2.0-3"})).await);
    assert!(!t(&env, "package foo", json!({"build": 2})).await);
    assert_eq!(
        err(&env, "package foo", json!({"package": 99})).await,
        "No such package: 99"
    );
    assert!(t(&env, "is_new_package", json!({"package": "newpkg"})).await);
    assert!(!t(&env, "is_new_package", json!({"package": "foo"})).await);
    assert!(!t(&env, "is_new_package", json!({"build": 1})).await);
    assert!(t(&env, "version 1.*", json!({"build": 1})).await);
    assert!(t(&env, "version 3", json!({"version": "3", "build": 1})).await);
    assert!(t(&env, "release *.fc40", json!({"build": "foo-1.0-1.fc40"})).await);
    assert!(!t(&env, "release *.fc40", json!({"release": "1.fc39"})).await);
    assert_eq!(
        err(&env, "version 1", json!({})).await,
        "policy requires version data"
    );
    assert_eq!(
        err(&env, "release 1", json!({})).await,
        "policy requires release data"
    );
    assert_eq!(
        err(&env, "version 1", json!({"build": 42})).await,
        "No such build: 42"
    );
}

#[tokio::test]
async fn tag_tests() {
    let env = fake();
    assert!(t(&env, "tag f40*", json!({"tag": "f40-updates"})).await);
    assert!(t(&env, "tag f40", json!({"tag": 100})).await);
    assert!(!t(&env, "tag f40", json!({"tag": "nosuch"})).await);
    assert!(!t(&env, "tag *", json!({"tag": null})).await);
    assert!(!t(&env, "tag *", json!({})).await);
    assert!(t(&env, "fromtag f40", json!({"fromtag": "f40", "tag": "x"})).await);
    assert!(!t(&env, "fromtag *", json!({"tag": "f40"})).await);
    assert!(t(&env, "hastag f40-up*", json!({"build": 1})).await);
    assert!(!t(&env, "hastag f39", json!({"build": 1})).await);
    assert!(!t(&env, "hastag *", json!({"build": 2})).await);
    assert!(!t(&env, "hastag *", json!({})).await);
    assert_eq!(
        err(&env, "hastag *", json!({"build": 9})).await,
        "No such build: 9"
    );
}

#[tokio::test]
async fn buildtag_tests() {
    let env = fake();
    assert!(
        t(
            &env,
            "buildtag f40-build",
            json!({"build_tag": "f40-build"})
        )
        .await
    );
    assert!(t(&env, "buildtag x f40*", json!({"build_tags": ["f40", 101]})).await);
    assert!(
        t(
            &env,
            "buildtag f40-build",
            json!({"target": "f40-candidate"})
        )
        .await
    );
    assert!(!t(&env, "buildtag *", json!({"target": "nosuch"})).await);
    // from the build's buildroots (5 and 6 are f40-build; 7 is a CG one)
    assert!(t(&env, "buildtag f40-build", json!({"build": 1})).await);
    assert!(!t(&env, "buildtag *", json!({"build": 2})).await);
    assert!(t(&env, "buildtag f40-build", json!({"buildroots": [5, null]})).await);
    assert_eq!(
        err(&env, "buildtag *", json!({"build_tag": "nosuch"})).await,
        "No such tagInfo: \"nosuch\""
    );
    assert!(
        t(
            &env,
            "buildtag_inherits_from bas?",
            json!({"build_tag": 101})
        )
        .await
    );
    assert!(
        !t(
            &env,
            "buildtag_inherits_from f40-build",
            json!({"build_tag": 101})
        )
        .await
    );
    assert!(t(&env, "buildtag_inherits_from f40", json!({"build": 1})).await);
    assert!(
        !t(
            &env,
            "buildtag_inherits_from *",
            json!({"build_tag": "f40"})
        )
        .await
    );
}

#[tokio::test]
async fn build_tests() {
    let mut env = fake();
    assert!(t(&env, "buildtype rpm", json!({"build": 1})).await);
    assert!(t(&env, "buildtype mav*", json!({"build": 2})).await);
    assert!(!t(&env, "buildtype maven", json!({"build": 1})).await);
    assert!(
        t(
            &env,
            "buildtype image",
            json!({"btypes": ["image"], "build": 1})
        )
        .await
    );
    assert!(!t(&env, "buildtype *", json!({})).await);
    assert!(t(&env, "imported", json!({"build": 2})).await);
    assert!(!t(&env, "imported", json!({"build": 1})).await);
    assert_eq!(
        err(&env, "imported", json!({})).await,
        "policy data must contain a build"
    );
    assert!(t(&env, "cg_match_any osbs", json!({"build": 2})).await);
    assert!(!t(&env, "cg_match_all osbs", json!({"build": 2})).await);
    assert!(!t(&env, "cg_match_any *", json!({"build": 1})).await);
    assert!(
        t(
            &env,
            "cg_match_all osbs pungi",
            json!({"cg_list": ["osbs", "pungi"]})
        )
        .await
    );
    assert!(
        !t(
            &env,
            "cg_match_all osbs",
            json!({"cg_list": ["osbs", "pungi"]})
        )
        .await
    );
    assert!(!t(&env, "cg_match_all *", json!({"cg_list": []})).await);
    assert!(t(&env, "cg_match_all osbs", json!({"buildroots": [7]})).await);
    assert_eq!(
        err(&env, "cg_match_any *", json!({"cg_list": ["nosuch"]})).await,
        "No such entry in table content_generator: nosuch"
    );
    assert!(t(&env, "volume DEFAULT", json!({"build": 1})).await);
    assert!(t(&env, "volume arch*", json!({"volume": "archive"})).await);
    assert!(!t(&env, "volume *", json!({"volume": "nosuch"})).await);
    assert!(!t(&env, "volume *", json!({})).await);
    assert!(!t(&env, "is_draft", json!({"build": 1})).await);
    assert!(t(&env, "is_draft", json!({"draft": true, "build": 1})).await);
    assert!(!t(&env, "is_draft", json!({})).await);
    // source: data, the build's own, or its task's request
    assert!(
        t(
            &env,
            "source git+https://*",
            json!({"source": "git+https://x"})
        )
        .await
    );
    assert!(!t(&env, "source *", json!({"source": null})).await);
    assert!(!t(&env, "source *", json!({"build": 1})).await);
    env.builds[0].source = Some("git://a/b".into());
    assert!(t(&env, "source git://*", json!({"build": 1})).await);
    env.builds[1].task_id = Some(77);
    assert!(t(&env, "source *src/foo*", json!({"build": 2})).await);
    env.builds[1].task_id = None;
    env.builds[1].extra = Some(json!({"container_koji_task_id": 77}));
    assert!(t(&env, "source *src/foo*", json!({"build": 2})).await);
    env.builds[1].draft = true;
    assert!(t(&env, "is_draft", json!({"build": "bar-2.0-3"})).await);
}

#[tokio::test]
async fn user_tests() {
    let mut env = fake();
    // the caller (alice, admin) by default; user_id names another
    assert!(t(&env, "user alice", json!({})).await);
    assert!(t(&env, "user b*", json!({"user_id": 2})).await);
    assert!(!t(&env, "user *", json!({"user_id": 99})).await);
    assert!(t(&env, "has_perm admin", json!({})).await);
    assert!(!t(&env, "has_perm admin", json!({"user_id": 2})).await);
    assert!(t(&env, "has_perm foo ta?", json!({"user_id": "bob"})).await);
    assert!(t(&env, "user_in_group pack*", json!({"user_id": 2})).await);
    assert!(!t(&env, "user_in_group pack*", json!({})).await);
    // build 1 is owned by alice (1)
    assert!(t(&env, "is_build_owner", json!({"build": 1})).await);
    assert!(!t(&env, "is_build_owner", json!({"build": 1, "user_id": 2})).await);
    // a group owner: its members own the build
    env.builds[0].owner_id = 3;
    assert!(t(&env, "is_build_owner", json!({"build": 1, "user_id": 2})).await);
    assert!(!t(&env, "is_build_owner", json!({"build": 1})).await);
    // anonymous: no user
    env.caller = None;
    assert!(!t(&env, "user *", json!({})).await);
    assert!(!t(&env, "has_perm *", json!({})).await);
    assert!(!t(&env, "user_in_group *", json!({})).await);
    assert!(!t(&env, "is_build_owner", json!({"build": 1})).await);
}

#[tokio::test]
async fn policy_test_calls_other_policies() {
    let env = fake();
    let p = policies(&[
        ("main", "policy sub :: yes\nall :: no"),
        (
            "sub",
            "has a :: allow\nhas b :: TRUE\nhas c :: allow but not quite\nhas d :: deny",
        ),
        ("loop", "policy loop :: yes\nall :: no"),
        ("missing", "policy nosuch :: yes"),
        ("twice", "policy helper :: yes\nall :: no"),
        ("helper", "policy sub :: allow"),
    ]);
    let ev = |name: &'static str, d: Json| {
        let p = &p;
        let env = &env;
        async move { p.eval(env, name, &d).await }
    };
    assert_eq!(
        ev("main", json!({"a": 1})).await.unwrap().as_deref(),
        Some("yes")
    );
    assert_eq!(
        ev("main", json!({"b": 1})).await.unwrap().as_deref(),
        Some("yes")
    );
    assert_eq!(
        ev("main", json!({"c": 1})).await.unwrap().as_deref(),
        Some("no")
    );
    assert_eq!(
        ev("main", json!({"d": 1})).await.unwrap().as_deref(),
        Some("no")
    );
    assert_eq!(ev("main", json!({})).await.unwrap().as_deref(), Some("no"));
    assert_eq!(
        ev("loop", json!({})).await.unwrap_err().to_string(),
        "encountered policy loop at policy loop "
    );
    assert_eq!(
        ev("missing", json!({})).await.unwrap_err().to_string(),
        "no such policy: nosuch"
    );
    // the same policy used by different tests is no loop
    assert_eq!(
        ev("twice", json!({"a": 1})).await.unwrap().as_deref(),
        Some("yes")
    );
    assert_eq!(
        ev("nosuch", json!({})).await.unwrap_err().to_string(),
        "no such policy: nosuch"
    );
}

// ---------------------------------------------------------------------------
// check_policy
// ---------------------------------------------------------------------------

#[tokio::test]
async fn check_policy_results() {
    let mut p = policies(&[
        ("pl", "has_perm admin :: allow\nhas x :: deny No x here\nhas y :: maybe\nhas z :: ALLOW because"),
        ("partial", "has a :: allow"),
    ]);
    let strict = CheckOpts {
        strict: true,
        ..CheckOpts::default()
    };
    async fn check(p: &Policies, name: &str, d: Json, o: CheckOpts<'_>) -> Result<(bool, String)> {
        let mut env = fake();
        env.caller = Some(user(2, "bob", 0));
        p.check(&env, name, &d, o).await
    }
    assert_eq!(
        check(&p, "pl", json!({"x": 1}), CheckOpts::default())
            .await
            .unwrap(),
        (false, "No x here".to_string())
    );
    assert_eq!(
        check(&p, "pl", json!({"x": 1}), strict)
            .await
            .unwrap_err()
            .to_string(),
        "policy violation (pl): No x here"
    );
    assert_eq!(
        check(&p, "pl", json!({"z": 1}), strict).await.unwrap(),
        (true, "because".to_string())
    );
    assert_eq!(
        check(&p, "pl", json!({"y": 1}), CheckOpts::default())
            .await
            .unwrap(),
        (false, "error in policy".to_string())
    );
    assert_eq!(
        check(&p, "pl", json!({"user_id": 1}), strict)
            .await
            .unwrap(),
        (true, String::new())
    );
    // not covered: the default decides
    assert_eq!(
        check(&p, "partial", json!({}), CheckOpts::default())
            .await
            .unwrap(),
        (false, "not covered by policy".to_string())
    );
    let allow = CheckOpts {
        default: "allow",
        ..CheckOpts::default()
    };
    assert_eq!(
        check(&p, "partial", json!({}), allow).await.unwrap(),
        (true, "not covered by policy".to_string())
    );
    // a missing policy allows unless MissingPolicyOk is off
    assert_eq!(
        check(&p, "tag", json!({}), strict).await.unwrap(),
        (true, "missing policy".to_string())
    );
    p.missing_policy_ok = false;
    assert_eq!(
        check(&p, "tag", json!({}), strict)
            .await
            .unwrap_err()
            .to_string(),
        "policy violation (tag): missing policy"
    );
    // force: an admin passes anyway, others do not
    let force = CheckOpts {
        strict: true,
        force: true,
        ..CheckOpts::default()
    };
    assert_eq!(
        check(&p, "pl", json!({"x": 1}), force)
            .await
            .unwrap_err()
            .to_string(),
        "policy violation (pl): No x here"
    );
    assert_eq!(
        check(
            &p,
            "pl",
            json!({"x": 1, "user_id": 1}),
            CheckOpts {
                force: true,
                ..CheckOpts::default()
            }
        )
        .await
        .unwrap(),
        (true, String::new())
    );
    // verbose: the deciding rule is shown
    p.verbose = true;
    assert_eq!(
        check(&p, "pl", json!({"x": 1}), strict)
            .await
            .unwrap_err()
            .to_string(),
        "policy violation (pl): No x here [rule: has x :: deny No x here]"
    );
    assert_eq!(
        check(&p, "partial", json!({}), strict)
            .await
            .unwrap_err()
            .to_string(),
        "policy violation (partial): not covered by policy [rule: (no match)]"
    );
}

#[tokio::test]
async fn force_overrides_for_admins() {
    let mut env = fake();
    let p = policies(&[("p", "all :: deny never")]);
    let force = CheckOpts {
        strict: true,
        force: true,
        ..CheckOpts::default()
    };
    assert_eq!(
        p.check(&env, "p", &json!({}), force).await.unwrap(),
        (true, "overriden by force".to_string())
    );
    env.caller = Some(user(2, "bob", 0));
    assert_eq!(
        p.check(&env, "p", &json!({}), force)
            .await
            .unwrap_err()
            .to_string(),
        "policy violation (p): never"
    );
    assert_eq!(
        p.check(&env, "p", &json!({"user_id": 1}), force)
            .await
            .unwrap(),
        (true, "overriden by force".to_string())
    );
}

#[tokio::test]
async fn default_policies_behave_like_upstreams() {
    let mut env = fake();
    async fn ev(name: &str, d: Json, env: &Fake) -> Option<String> {
        Policies::default().eval(env, name, &d).await.unwrap()
    }
    assert_eq!(
        ev("channel", json!({"req_channel": "x"}), &env)
            .await
            .as_deref(),
        Some("req")
    );
    assert_eq!(
        ev("channel", json!({"parent": 3}), &env).await.as_deref(),
        Some("parent")
    );
    assert_eq!(
        ev("channel", json!({}), &env).await.as_deref(),
        Some("use default")
    );
    assert_eq!(
        ev("volume", json!({}), &env).await.as_deref(),
        Some("DEFAULT")
    );
    assert_eq!(
        ev("priority", json!({}), &env).await.as_deref(),
        Some("stay")
    );
    assert_eq!(
        ev("package_list", json!({}), &env).await.as_deref(),
        Some("allow")
    );
    env.caller = Some(user(2, "bob", 0));
    assert_eq!(
        ev("package_list", json!({}), &env).await.as_deref(),
        Some("allow")
    );
    assert_eq!(
        ev("build_from_srpm", json!({}), &env).await.as_deref(),
        Some("deny Only admin can do this via default policy")
    );
    assert_eq!(
        ev("draft_promotion", json!({"build": 1}), &env)
            .await
            .as_deref(),
        Some("deny Only draft-promoter and build owner can do this via default policy")
    );
    env.builds[0].owner_id = 2;
    assert_eq!(
        ev("draft_promotion", json!({"build": 1}), &env)
            .await
            .as_deref(),
        Some("allow")
    );
}
