//! The upstream CLI's `search` and `call` of count/filterResults and the
//! archive calls against our hub (expected output derived from upstream's
//! koji_cli/commands.py: `search` prints each result's name on a line).

mod support;

use support::ok;
use support::Hub;

#[test]
fn search_and_counts() {
    for hub in Hub::each() {
        for (n, v) in [("foo_bar", "1"), ("fooxbar", "2"), ("Other", "1")] {
            ok(&hub, &["call", "createEmptyBuild", n, v, "1", "None"]);
        }
        let l = hub.label();
        assert_eq!(
            ok(&hub, &["search", "package", "foo*"]),
            "foo_bar\nfooxbar\n",
            "{l}"
        );
        assert_eq!(
            ok(&hub, &["search", "package", "foo_bar"]),
            "foo_bar\n",
            "{l}"
        );
        assert_eq!(
            ok(&hub, &["search", "-r", "package", "^FOO.bar$"]),
            "foo_bar\nfooxbar\n",
            "{l}"
        );
        assert_eq!(
            ok(&hub, &["search", "--exact", "package", "FOO_BAR"]),
            "",
            "{l}"
        );
        assert_eq!(
            ok(&hub, &["search", "build", "*-1-1"]),
            "foo_bar-1-1\nOther-1-1\n"
        );
        assert_eq!(ok(&hub, &["search", "user", "adm?n"]), "admin\n");
        assert_eq!(ok(&hub, &["search", "maven", "*"]), "");
        assert_eq!(ok(&hub, &["call", "count", "listPackagesSimple"]), "3\n");
        assert_eq!(
            ok(
                &hub,
                &[
                    "call",
                    "--json-output",
                    "--python",
                    "filterResults",
                    "'search'",
                    "'*'",
                    "'package'",
                    "'glob'",
                    "filterOpts={'order': '-name', 'limit': 1}",
                ]
            ),
            "[\n  {\n    \"id\": 2,\n    \"name\": \"fooxbar\"\n  }\n]\n",
            "{l}"
        );
        assert_eq!(
            ok(
                &hub,
                &[
                    "call",
                    "-p",
                    "--json-output",
                    "listBTypes",
                    "{'name': 'image'}"
                ]
            ),
            "[\n  {\n    \"id\": 4,\n    \"name\": \"image\"\n  }\n]\n",
            "{l}"
        );
        assert_eq!(
            ok(&hub, &["call", "getArchiveType", "filename=x.tar.gz"]),
            "{'compression_type': 'tar',\n 'description': 'Tar file',\n \
             'extensions': 'tar tar.gz tar.bz2 tar.xz tgz',\n 'id': 4,\n 'name': 'tar'}\n",
            "{l}"
        );
    }
}
