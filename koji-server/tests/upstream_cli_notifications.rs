//! Build notifications through the real upstream `koji` client
//! (koji==1.36.1): add-notification, list-notifications, edit-notification,
//! remove-notification, block-notification, unblock-notification.

mod support;

use support::{ok, ok_eq, Hub};

/// A line of list-notifications' subscription table (the client's
/// `%6s %-25s %-25s %-20s %-12s`).
fn row(id: &str, tag: &str, pkg: &str, email: &str, success: &str) -> String {
    format!("{id:>6} {tag:<25} {pkg:<25} {email:<20} {success:<12}\n")
}

/// A line of its block table (`%6s %-25s %-25s`).
fn block_row(id: &str, tag: &str, pkg: &str) -> String {
    format!("{id:>6} {tag:<25} {pkg:<25}\n")
}

fn tables(notes: &[String], blocks: &[String]) -> String {
    let head = row("ID", "Tag", "Package", "E-mail", "Success-only");
    let bhead = block_row("ID", "Tag", "Package");
    let mut out = String::new();
    if notes.is_empty() {
        out.push_str("No notifications\n");
    } else {
        out.push_str("Notifications\n");
        out.push_str(&head);
        out.push_str(&"-".repeat(head.len() - 1));
        out.push('\n');
        out.extend(notes.iter().cloned());
    }
    out.push('\n');
    if blocks.is_empty() {
        out.push_str("No notification blocks\n");
    } else {
        out.push_str("Notification blocks\n");
        out.push_str(&bhead);
        out.push_str(&"-".repeat(bhead.len() - 1));
        out.push('\n');
        out.extend(blocks.iter().cloned());
    }
    out
}

#[test]
fn notifications_through_the_cli() {
    for hub in Hub::each() {
        let h = &hub;
        ok(h, &["add-tag", "f40"]);
        ok(h, &["add-pkg", "--owner", "admin", "f40", "bash"]);
        h.add_user("alice", "pw");
        ok_eq(h, &["list-notifications", "--mine"], &tables(&[], &[]));
        ok_eq(
            h,
            &["add-notification", "--package", "bash", "--tag", "f40"],
            "",
        );
        // an admin subscribes someone else
        ok_eq(
            h,
            &[
                "add-notification",
                "--user",
                "alice",
                "--tag",
                "f40",
                "--success-only",
            ],
            "",
        );
        // the same subscription twice is refused by the hub
        let out = h.koji(&["add-notification", "--package", "bash", "--tag", "f40"]);
        assert_ne!(out.code, 0, "{out:?}");
        assert!(
            out.stderr.contains("notification already exists"),
            "{out:?}"
        );
        ok_eq(h, &["block-notification", "--package", "bash"], "");
        let out = h.koji(&["block-notification", "--package", "bash"]);
        assert_ne!(out.code, 0, "{out:?}");
        assert!(
            out.stderr.contains("Notification already exists."),
            "{out:?}"
        );
        ok_eq(
            h,
            &["list-notifications", "--mine"],
            &tables(
                &[row("1", "f40", "bash", "admin@None", "no")],
                &[block_row("1", "*", "bash")],
            ),
        );
        ok_eq(
            h,
            &["list-notifications", "--user", "alice"],
            &tables(&[row("2", "f40", "*", "alice@None", "yes")], &[]),
        );
        // alice edits hers: every package of every tag, failures too
        let alice = |args: &[&str]| h.koji_as("alice", "pw", args);
        let out = alice(&["edit-notification", "--tag", "*", "--no-success-only", "2"]);
        assert_eq!(out.code, 0, "{out:?}");
        let out = alice(&["list-notifications", "--mine"]);
        assert_eq!(
            out.stdout,
            tables(&[row("2", "*", "*", "alice@None", "no")], &[]),
            "[{}] {out:?}",
            h.label()
        );
        // not hers to remove
        let out = alice(&["remove-notification", "1"]);
        assert_ne!(out.code, 0, "{out:?}");
        assert!(
            out.stderr.contains("cannot delete notifications"),
            "{out:?}"
        );
        let out = alice(&["block-notification", "--tag", "f40"]);
        assert_eq!(out.code, 0, "{out:?}");
        let out = alice(&["unblock-notification", "2"]);
        assert_eq!(
            out.stdout, "Notification block 2 successfully removed.\n",
            "{out:?}"
        );
        ok_eq(
            h,
            &["remove-notification", "1", "2"],
            "Notification 1 successfully removed.\nNotification 2 successfully removed.\n",
        );
        ok_eq(
            h,
            &["unblock-notification", "1"],
            "Notification block 1 successfully removed.\n",
        );
        ok_eq(
            h,
            &["list-notifications", "--user", "alice"],
            &tables(&[], &[]),
        );
    }
}
