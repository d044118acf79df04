use super::method;
use crate::api::{ok, truthy, Args, Registry};
use crate::error::{Error, Result};
use crate::hub::query_opts::QueryOpts;
use crate::hub::rpms::ListRpms;
use serde_json::Value as Json;

/// An integer filter of `listRPMs` (upstream formats it with `%i`).
fn int_filter(a: &Args, name: &str) -> Result<Option<i64>> {
    match a.raw(name) {
        Json::Null => Ok(None),
        Json::Bool(b) => Ok(Some(*b as i64)),
        Json::Number(n) if n.is_i64() => Ok(n.as_i64()),
        Json::Number(n) => Ok(n.as_f64().map(|f| f as i64)),
        Json::String(s) => s.trim().parse().map(Some).map_err(|_| Error::Fault {
            code: 1,
            message: "<class 'TypeError'>: %i format: a real number is required, not str".into(),
        }),
        other => Err(Error::Fault {
            code: 1,
            message: format!(
                "<class 'TypeError'>: %i format: a real number is required, not {}",
                crate::api::py_type_of(other)
            ),
        }),
    }
}

pub(super) fn register(r: &mut Registry) {
    method!(
        r,
        "getRPM(rpminfo, strict=False, multi=False)",
        "An RPM by id, N-V-R.A[@location] string or map (with multi: every match).",
        |cx, a| {
            cx.hub
                .rpms()
                .get(a.raw("rpminfo"), a.flag("strict"), a.flag("multi"))
                .await
        }
    );
    method!(
        r,
        "listRPMs(buildID=None, buildrootID=None, imageID=None, componentBuildrootID=None, hostID=None, arches=None, queryOpts=None, draft=None)",
        "RPMs of a build, buildroot, image or host, optionally of some arches.",
        |cx, a| {
            let f = ListRpms {
                build_id: int_filter(&a, "buildID")?,
                buildroot_id: int_filter(&a, "buildrootID")?,
                image_id: int_filter(&a, "imageID")?,
                component_buildroot_id: int_filter(&a, "componentBuildrootID")?,
                host_id: int_filter(&a, "hostID")?,
                arches: a.raw("arches").clone(),
                draft: match a.raw("draft") {
                    Json::Null => None,
                    v => Some(truthy(v)),
                },
            };
            let opts = QueryOpts::parse(a.raw("queryOpts"))?;
            cx.hub.rpms().list(&f, &opts).await
        }
    );
    method!(
        r,
        "listBuildRPMs(build)",
        "The RPMs of a build.",
        |cx, a| { cx.hub.rpms().list_build_rpms(a.raw("build")).await }
    );
    method!(
        r,
        "importRPM(path, basename)",
        "Import an uploaded RPM (admin).",
        |cx, a| {
            cx.hub
                .rpms()
                .import(&cx.caller, a.raw("path"), a.raw("basename"))
                .await
        }
    );
    method!(
        r,
        "addExternalRPM(rpminfo, external_repo, strict=True)",
        "Record an RPM of an external repo (admin).",
        |cx, a| {
            cx.hub
                .rpms()
                .add_external(
                    &cx.caller,
                    a.raw("rpminfo"),
                    a.raw("external_repo"),
                    a.flag("strict"),
                )
                .await
        }
    );
    method!(
        r,
        "getRPMHeaders(rpmID=None, taskID=None, filepath=None, headers=None, strict=False)",
        "Header values of an RPM, by rpm or by task output path.",
        |cx, a| {
            cx.hub
                .rpms()
                .headers(
                    a.raw("rpmID"),
                    a.raw("taskID"),
                    a.raw("filepath"),
                    a.raw("headers"),
                    a.flag("strict"),
                )
                .await
        }
    );
    method!(
        r,
        "getRPMDeps(rpmID, depType=None, queryOpts=None, strict=False)",
        "The dependencies of an RPM.",
        |cx, a| {
            let opts = QueryOpts::parse(a.raw("queryOpts"))?;
            cx.hub
                .rpms()
                .deps(a.raw("rpmID"), a.raw("depType"), &opts, a.flag("strict"))
                .await
        }
    );
    method!(
        r,
        "listRPMFiles(rpmID, queryOpts=None)",
        "The files of an RPM.",
        |cx, a| {
            let opts = QueryOpts::parse(a.raw("queryOpts"))?;
            cx.hub.rpms().files(a.raw("rpmID"), &opts).await
        }
    );
    method!(
        r,
        "getRPMFile(rpmID, filename, strict=False)",
        "One file of an RPM.",
        |cx, a| {
            cx.hub
                .rpms()
                .file(a.raw("rpmID"), a.raw("filename"), a.flag("strict"))
                .await
        }
    );
    method!(
        r,
        "getChangelogEntries(buildID=None, taskID=None, filepath=None, author=None, before=None, after=None, queryOpts=None, strict=False)",
        "The changelog of a build's source RPM or of a task's RPM.",
        |cx, a| {
            let opts = QueryOpts::parse(a.raw("queryOpts"))?;
            cx.hub
                .rpms()
                .changelog(
                    a.raw("buildID"),
                    a.raw("taskID"),
                    a.raw("filepath"),
                    a.raw("author"),
                    a.raw("before"),
                    a.raw("after"),
                    &opts,
                    a.flag("strict"),
                )
                .await
        }
    );
    method!(
        r,
        "getRPMChecksums(rpm_id, checksum_types=None, cacheonly=False)",
        "Checksums of an RPM's signed copies, by signature key.",
        |cx, a| {
            cx.hub
                .rpms()
                .checksums(
                    a.raw("rpm_id"),
                    a.raw("checksum_types"),
                    a.flag("cacheonly"),
                )
                .await
        }
    );
    method!(
        r,
        "addRPMSig(an_rpm, data)",
        "Store a signature header (base64) for an RPM (sign).",
        |cx, a| {
            cx.hub
                .rpms()
                .add_sig(&cx.caller, a.raw("an_rpm"), a.raw("data"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "queryRPMSigs(rpm_id=None, sigkey=None, queryOpts=None)",
        "Stored signatures of RPMs.",
        |cx, a| {
            let opts = QueryOpts::parse(a.raw("queryOpts"))?;
            cx.hub
                .rpms()
                .query_sigs(a.raw("rpm_id"), a.raw("sigkey"), &opts)
                .await
        }
    );
    method!(
        r,
        "deleteRPMSig(rpminfo, sigkey=None, all_sigs=False)",
        "Delete signatures of an RPM (admin).",
        |cx, a| {
            cx.hub
                .rpms()
                .delete_sig(
                    &cx.caller,
                    a.raw("rpminfo"),
                    a.raw("sigkey"),
                    a.flag("all_sigs"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "writeSignedRPM(an_rpm, sigkey, force=False)",
        "Write a signed copy of an RPM from a stored signature (sign).",
        |cx, a| {
            cx.hub
                .rpms()
                .write_signed(
                    &cx.caller,
                    a.raw("an_rpm"),
                    a.raw("sigkey"),
                    a.flag("force"),
                )
                .await?;
            ok(Json::Null)
        }
    );
}
