//! External repos and repo lookups through the real upstream `koji`
//! client (koji==1.36.1): add-external-repo, list-external-repos (basic,
//! per tag, --inherit, --used), edit-external-repo, remove-external-repo,
//! taginfo's "External repos" and "Current repo" lines.

mod support;

use support::{ok, ok_eq, Hub};

#[test]
fn external_repos_through_the_cli() {
    for hub in Hub::each() {
        let h = &hub;
        ok(h, &["add-tag", "base", "--arches", "x86_64"]);
        ok(h, &["add-tag", "child", "--parent", "base"]);
        ok_eq(
            h,
            &["add-external-repo", "ext1", "file:///srv/ext1"],
            "Created external repo 1\n",
        );
        ok_eq(
            h,
            &[
                "add-external-repo",
                "ext2",
                "http://example.com/ext2/",
                "-t",
                "base::10",
                "-m",
                "simple",
            ],
            "Created external repo 2\nAdded external repo ext2 to tag base (priority 10)\n",
        );
        ok_eq(
            h,
            &[
                "add-external-repo",
                "ext1",
                "-t",
                "child",
                "-t",
                "base",
                "-a",
                "x86_64",
            ],
            "Added external repo ext1 to tag child (priority 5)\n\
             Added external repo ext1 to tag base (priority 15)\n",
        );
        h.koji(&["add-external-repo", "ext1", "x"])
            .expect_fault("GenericError: An external repo named \"ext1\" already exists");
        h.koji(&["add-external-repo", "ext1", "-t", "child"])
            .expect_fault("GenericError: tag child already associated with external repo ext1");
        ok_eq(
            h,
            &["list-external-repos"],
            "External repo name        URL\n\
             ------------------------- ----------------------------------------\n\
             ext1                      file:///srv/ext1/\n\
             ext2                      http://example.com/ext2/\n",
        );
        ok_eq(
            h,
            &["list-external-repos", "--tag", "base"],
            "Pri External repo name        Mode       URL\n\
             --- ------------------------- ---------- ----------------------------------------\n\
             10  ext2                      simple     http://example.com/ext2/\n\
             15  ext1                      koji       file:///srv/ext1/\n",
        );
        // the child's own first, then its parent's not yet seen
        ok_eq(
            h,
            &[
                "list-external-repos",
                "--tag",
                "child",
                "--inherit",
                "--quiet",
            ],
            "child                5   koji       ext1\nbase                 10  simple     ext2\n",
        );
        ok_eq(
            h,
            &["list-external-repos", "--used", "--name", "ext1", "--quiet"],
            "child                5   koji       ext1\nbase                 15  koji       ext1\n",
        );
        ok_eq(
            h,
            &[
                "edit-external-repo",
                "ext2",
                "--url",
                "http://example.com/new",
            ],
            "",
        );
        ok_eq(
            h,
            &["edit-external-repo", "ext2", "-t", "base", "-p", "20"],
            "",
        );
        ok_eq(
            h,
            &["list-external-repos", "--tag", "base", "--quiet"],
            "15  ext1                      koji       file:///srv/ext1/\n\
             20  ext2                      simple     http://example.com/new/\n",
        );
        let base: i64 = ok(h, &["call", "getTagID", "base"])
            .trim()
            .parse()
            .expect("id");
        ok_eq(
            h,
            &["taginfo", "base"],
            &format!(
                "Tag: base [{base}]\nArches: x86_64\nGroups: \nTag options:\nCurrent repo: no active repo\n\
                 External repos:\n   15 ext1 (file:///srv/ext1/, merge mode: koji), arches: x86_64\n   \
                 20 ext2 (http://example.com/new/, merge mode: simple), arches: inherited from tag\n\
                 Inheritance:\n"
            ),
        );
        // removal: refused while tags use it, unless from those tags
        let out = h.koji(&["remove-external-repo", "ext1"]);
        assert_eq!(out.code, 1, "{out:?}");
        assert_eq!(
            out.stderr,
            "Error: external repo ext1 used by tag(s): child, base\nUse --force to remove anyway\n"
        );
        ok_eq(h, &["remove-external-repo", "ext1", "child"], "");
        ok_eq(h, &["remove-external-repo", "--force", "ext1"], "");
        ok_eq(
            h,
            &["list-external-repos", "--quiet"],
            "ext2                      http://example.com/new/\n",
        );
        ok_eq(
            h,
            &["list-external-repos", "--tag", "base", "--quiet"],
            "20  ext2                      simple     http://example.com/new/\n",
        );
        // no repos generated yet: getRepo answers None
        ok_eq(h, &["call", "getRepo", "base"], "None\n");
        h.koji(&["call", "getRepo", "nosuch"])
            .expect_fault("GenericError: No such entry in table tag: nosuch");
    }
}
