use super::method;
use crate::api::{ok, Registry};
use serde_json::Value as Json;

pub(super) fn register(r: &mut Registry) {
    method!(
        r,
        "getRepo(tag, state=None, event=None, dist=False)",
        "A tag's most recent repo (READY by default; with event, the last created by then).",
        |cx, a| {
            ok(cx
                .hub
                .repos()
                .get_old(
                    a.raw("tag"),
                    a.opt_int("state")?,
                    a.opt_int("event")?,
                    a.flag("dist"),
                )
                .await?)
        }
    );
    method!(
        r,
        "createExternalRepo(name, url)",
        "Create an external repo (admins).",
        |cx, a| {
            ok(cx
                .hub
                .external_repos()
                .create(&cx.caller, a.raw("name"), a.raw("url"))
                .await?)
        }
    );
    method!(
        r,
        "listExternalRepos(info=None, url=None, event=None, queryOpts=None)",
        "External repos, by name or id and url.",
        |cx, a| {
            ok(cx
                .hub
                .external_repos()
                .list(
                    a.raw("info"),
                    a.raw("url"),
                    a.opt_int("event")?,
                    a.raw("queryOpts"),
                )
                .await?)
        }
    );
    method!(
        r,
        "getExternalRepo(info, strict=False, event=None)",
        "One external repo.",
        |cx, a| {
            ok(cx
                .hub
                .external_repos()
                .get(a.raw("info"), a.flag("strict"), a.opt_int("event")?)
                .await?)
        }
    );
    method!(
        r,
        "editExternalRepo(info, name=None, url=None)",
        "Rename an external repo or change its url (admins).",
        |cx, a| {
            cx.hub
                .external_repos()
                .edit(&cx.caller, a.raw("info"), a.raw("name"), a.raw("url"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "deleteExternalRepo(info)",
        "Delete an external repo, removing it from every tag (admins).",
        |cx, a| {
            cx.hub
                .external_repos()
                .delete(&cx.caller, a.raw("info"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "addExternalRepoToTag(tag_info, repo_info, priority, merge_mode='koji', arches=None)",
        "Give a tag an external repo at a priority.",
        |cx, a| {
            cx.hub
                .external_repos()
                .add_to_tag(
                    &cx.caller,
                    a.raw("tag_info"),
                    a.raw("repo_info"),
                    a.raw("priority"),
                    a.raw("merge_mode"),
                    a.raw("arches"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "editTagExternalRepo(tag_info, repo_info, priority=None, merge_mode=None, arches=None)",
        "Change a tag's external repo entry; answers whether anything changed.",
        |cx, a| {
            ok(cx
                .hub
                .external_repos()
                .edit_tag(
                    &cx.caller,
                    a.raw("tag_info"),
                    a.raw("repo_info"),
                    a.raw("priority"),
                    a.raw("merge_mode"),
                    a.raw("arches"),
                )
                .await?)
        }
    );
    method!(
        r,
        "removeExternalRepoFromTag(tag_info, repo_info)",
        "Take an external repo from a tag.",
        |cx, a| {
            cx.hub
                .external_repos()
                .remove_from_tag(&cx.caller, a.raw("tag_info"), a.raw("repo_info"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "getTagExternalRepos(tag_info=None, repo_info=None, event=None)",
        "Tag and external repo associations, by priority.",
        |cx, a| {
            ok(cx
                .hub
                .external_repos()
                .tag_repos(a.raw("tag_info"), a.raw("repo_info"), a.opt_int("event")?)
                .await?)
        }
    );
    method!(
        r,
        "getExternalRepoList(tag_info, event=None)",
        "A tag's external repos with its ancestors', depth first.",
        |cx, a| {
            ok(cx
                .hub
                .external_repos()
                .repo_list(a.raw("tag_info"), a.opt_int("event")?)
                .await?)
        }
    );
}

pub(super) fn register_lifecycle(r: &mut Registry) {
    method!(
        r,
        "repoInfo(repo_id, strict=False)",
        "Every field of a repo.",
        |cx, a| {
            ok(cx
                .hub
                .repos()
                .info(a.raw("repo_id"), a.flag("strict"))
                .await?)
        }
    );
    method!(r, "getActiveRepos()", "Every repo not deleted.", |cx, a| {
        ok(cx.hub.repos().active().await?)
    });
    method!(
        r,
        "repoExpire(repo_id)",
        "Mark a repo expired (the repo permission).",
        |cx, a| {
            cx.hub
                .repos()
                .set_state(
                    &cx.caller,
                    a.raw("repo_id"),
                    crate::hub::repos::REPO_EXPIRED,
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "repoProblem(repo_id)",
        "Mark a repo broken (the repo permission).",
        |cx, a| {
            cx.hub
                .repos()
                .set_state(
                    &cx.caller,
                    a.raw("repo_id"),
                    crate::hub::repos::REPO_PROBLEM,
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "repoDelete(repo_id)",
        "Mark a repo deleted unless buildroots use it; answers how many do.",
        |cx, a| { ok(cx.hub.repos().delete(&cx.caller, a.raw("repo_id")).await?) }
    );
}

pub(super) fn register_namespace(r: &mut Registry) {
    method!(
        r,
        "repo.references(repo_id)",
        "The buildroots that still use a repo.",
        |cx, a| { ok(cx.hub.repos().references(a.raw("repo_id")).await?) }
    );
    method!(
        r,
        "repo.setState(repo_id, state)",
        "Set a repo's state (the repo permission).",
        |cx, a| {
            cx.hub
                .repos()
                .set_state_any(&cx.caller, a.raw("repo_id"), a.raw("state"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "repo.getExternalRepoData(erepo)",
        "The tracking data kept for an external repo.",
        |cx, a| { ok(cx.hub.external_repos().data(a.raw("erepo")).await?) }
    );
    method!(
        r,
        "repo.setExternalRepoData(external_repo_id, data)",
        "Replace the tracking data of an external repo (the repo permission).",
        |cx, a| {
            cx.hub
                .external_repos()
                .set_data(&cx.caller, a.raw("external_repo_id"), a.raw("data"))
                .await?;
            ok(Json::Null)
        }
    );
}

pub(super) fn register_generation(r: &mut Registry) {
    method!(
        r,
        "host.repoInit(tag, task_id=None, event=None, opts=None)",
        "Create a repo of a tag in the INIT state with its inputs written (hosts).",
        |cx, a| {
            let (repo, event) = cx
                .hub
                .repos()
                .init(
                    &cx.caller,
                    a.raw("tag"),
                    a.raw("task_id"),
                    a.raw("event"),
                    a.raw("opts"),
                )
                .await?;
            ok(serde_json::json!([repo, event]))
        }
    );
    method!(
        r,
        "host.repoDone(repo_id, data, expire=False, repo_json_updates=None)",
        "Move a repo's uploaded metadata into place and mark it ready (hosts).",
        |cx, a| {
            cx.hub
                .repos()
                .done(
                    &cx.caller,
                    a.raw("repo_id"),
                    a.raw("data"),
                    a.flag("expire"),
                    a.raw("repo_json_updates"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "newRepo(tag, event=None, src=False, debuginfo=False, separate_src=False)",
        "Create a newRepo task for a tag (the repo or regen-repo permission).",
        |cx, a| {
            ok(cx
                .hub
                .repos()
                .new_repo(
                    &cx.caller,
                    a.raw("tag"),
                    a.raw("event"),
                    a.flag("src"),
                    a.flag("debuginfo"),
                    a.flag("separate_src"),
                )
                .await?)
        }
    );
    method!(
        r,
        "repo.get(tag, min_event=None, at_event=None, opts=None)",
        "The newest ready repo of a tag matching the event and options.",
        |cx, a| {
            ok(cx
                .hub
                .repos()
                .get(
                    a.raw("tag"),
                    a.raw("min_event"),
                    a.raw("at_event"),
                    a.raw("opts"),
                )
                .await?)
        }
    );
    method!(
        r,
        "repo.request(tag, min_event=None, at_event=None, opts=None, priority=None, force=False)",
        "Ask for a repo of a tag: a current one, or a queued request.",
        |cx, a| {
            ok(cx
                .hub
                .repos()
                .request(
                    &cx.caller,
                    a.raw("tag"),
                    a.raw("min_event"),
                    a.raw("at_event"),
                    a.raw("opts"),
                    a.raw("priority"),
                    a.flag("force"),
                )
                .await?)
        }
    );
    method!(
        r,
        "repo.checkRequest(req_id)",
        "A repo request, with its repo or task.",
        |cx, a| { ok(cx.hub.repos().check_request(a.raw("req_id")).await?) }
    );
    method!(
        r,
        "repo.setRequestPriority(req_id, priority)",
        "Change a repo request's priority (admins).",
        |cx, a| {
            cx.hub
                .repos()
                .set_request_priority(&cx.caller, a.raw("req_id"), a.raw("priority"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "repo.query(clauses, fields=None, opts=None)",
        "Query repos (upstream's RepoQuery).",
        |cx, a| {
            ok(cx
                .hub
                .repos()
                .query(a.raw("clauses"), a.raw("fields"), a.raw("opts"))
                .await?)
        }
    );
    method!(
        r,
        "repo.queryQueue(clauses=None, fields=None, opts=None)",
        "Query repo requests.",
        |cx, a| {
            ok(cx
                .hub
                .repos()
                .query_queue(a.raw("clauses"), a.raw("fields"), a.raw("opts"))
                .await?)
        }
    );
    method!(
        r,
        "repo.checkQueue()",
        "Make newRepo tasks for waiting requests (the repo permission).",
        |cx, a| {
            cx.hub.repos().check_queue(&cx.caller).await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "repo.autoRequests()",
        "Request repos for tags with repo.auto (the repo permission).",
        |cx, a| {
            cx.hub.repos().auto_requests(&cx.caller).await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "repo.updateEndEvents()",
        "Record when ready repos stopped being current (the repo permission).",
        |cx, a| {
            cx.hub.repos().update_end_events(&cx.caller).await?;
            ok(Json::Null)
        }
    );
}

pub(super) fn register_dist(r: &mut Registry) {
    method!(
        r,
        "distRepo(tag, keys, **task_opts)",
        "Create a dist repo task for a tag (dist-repo permission or the dist_repo policy).",
        |cx, a| {
            ok(cx
                .hub
                .repos()
                .dist_repo(&cx.caller, a.raw("tag"), a.raw("keys"), &a.kwargs)
                .await?)
        }
    );
    method!(
        r,
        "host.distRepoMove(repo_id, uploadpath, arch)",
        "Move one arch of a dist repo into place (hosts).",
        |cx, a| {
            cx.hub
                .repos()
                .dist_repo_move(
                    &cx.caller,
                    a.raw("repo_id"),
                    a.raw("uploadpath"),
                    a.raw("arch"),
                )
                .await?;
            ok(Json::Null)
        }
    );
}
