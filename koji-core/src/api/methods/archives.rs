use super::method;
use crate::api::{ok, Registry};
use crate::hub::archives::ListArchives;
use serde_json::Value as Json;

pub(super) fn register(r: &mut Registry) {
    method!(r, "listArchives(buildID=None, buildrootID=None, componentBuildrootID=None, hostID=None, type=None, filename=None, size=None, checksum=None, checksum_type=None, typeInfo=None, queryOpts=None, imageID=None, archiveID=None, strict=False)", "Archives by build, buildroot, host, type, file name, size or checksum.", |cx, a| {
        let q = ListArchives {
            build_id: a.raw("buildID").clone(),
            buildroot_id: a.raw("buildrootID").clone(),
            component_buildroot_id: a.raw("componentBuildrootID").clone(),
            host_id: a.raw("hostID").clone(),
            kind: a.raw("type").clone(),
            filename: a.raw("filename").clone(),
            size: a.raw("size").clone(),
            checksum: a.raw("checksum").clone(),
            checksum_type: a.raw("checksum_type").clone(),
            type_info: a.raw("typeInfo").clone(),
            query_opts: a.raw("queryOpts").clone(),
            image_id: a.raw("imageID").clone(),
            archive_id: a.raw("archiveID").clone(),
            strict: a.flag("strict"),
        };
        ok(cx.hub.archives().list(&q).await?)
    });
    method!(
        r,
        "getArchive(archive_id, strict=False)",
        "An archive, with its maven, win or image details.",
        |cx, a| {
            ok(cx
                .hub
                .archives()
                .get(a.raw("archive_id"), a.flag("strict"))
                .await?)
        }
    );
    method!(r, "getArchiveTypes()", "Every archive type.", |cx, a| {
        ok(cx.hub.archives().types().await?)
    });
    method!(
        r,
        "getArchiveType(filename=None, type_name=None, type_id=None, strict=False)",
        "An archive type by id, by name, or by a file name's extension.",
        |cx, a| {
            ok(cx
                .hub
                .archives()
                .get_type(
                    a.raw("filename"),
                    a.raw("type_name"),
                    a.raw("type_id"),
                    a.flag("strict"),
                )
                .await?)
        }
    );
    method!(
        r,
        "addArchiveType(name, description, extensions, compression_type=None)",
        "Add an archive type (admin).",
        |cx, a| {
            cx.hub
                .archives()
                .add_type(
                    &cx.caller,
                    a.raw("name"),
                    a.raw("description"),
                    a.raw("extensions"),
                    a.raw("compression_type"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "listBTypes(query=None, queryOpts=None)",
        "Build types, optionally one by name or id.",
        |cx, a| {
            ok(cx
                .hub
                .archives()
                .list_btypes(a.raw("query"), a.raw("queryOpts"))
                .await?)
        }
    );
    method!(r, "addBType(name)", "Add a build type (admin).", |cx, a| {
        cx.hub
            .archives()
            .add_btype(&cx.caller, a.raw("name"))
            .await?;
        ok(Json::Null)
    });
    method!(
        r,
        "listArchiveFiles(archive_id, queryOpts=None, strict=False)",
        "The entries of a zip or tar archive.",
        |cx, a| {
            ok(cx
                .hub
                .archives()
                .list_files(a.raw("archive_id"), a.raw("queryOpts"), a.flag("strict"))
                .await?)
        }
    );
    method!(
        r,
        "getArchiveFile(archive_id, filename, strict=False)",
        "One entry of a zip or tar archive.",
        |cx, a| {
            ok(cx
                .hub
                .archives()
                .get_file(a.raw("archive_id"), a.raw("filename"), a.flag("strict"))
                .await?)
        }
    );
    method!(
        r,
        "importArchive(filepath, buildinfo, type, typeInfo)",
        "Import a file uploaded to the work directory as an archive of a build.",
        |cx, a| {
            cx.hub
                .archives()
                .import(
                    &cx.caller,
                    a.raw("filepath"),
                    a.raw("buildinfo"),
                    a.raw("type"),
                    a.raw("typeInfo"),
                )
                .await?;
            ok(Json::Null)
        }
    );
}
