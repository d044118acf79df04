use super::method;
use crate::api::{ok, Registry};

pub(super) fn register(r: &mut Registry) {
    method!(
        r,
        "uploadFile(path, name, size, md5sum, offset, data, volume=None, checksum=None)",
        "Write one base64-encoded chunk of a file into the work area (the legacy upload).",
        |cx, a| {
            let done = cx
                .hub
                .uploads()
                .upload_file(
                    &cx.caller,
                    a.raw("path"),
                    a.raw("name"),
                    a.raw("size"),
                    a.raw("md5sum"),
                    a.raw("offset"),
                    a.raw("data"),
                    a.raw("volume"),
                    a.raw("checksum"),
                )
                .await?;
            ok(done)
        }
    );
    method!(
        r,
        "checkUpload(path, name, verify=None, tail=None, volume=None)",
        "Size, mtime and optionally a checksum of an uploaded file, or None.",
        |cx, a| {
            let info = cx
                .hub
                .uploads()
                .check_upload(
                    &cx.caller,
                    a.raw("path"),
                    a.raw("name"),
                    a.raw("verify"),
                    a.raw("tail"),
                    a.raw("volume"),
                )
                .await?;
            ok(info)
        }
    );
}
