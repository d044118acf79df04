//! Type-specific information of builds: `maven_builds`, `win_builds`,
//! `image_builds` (upstream's `get_maven_build`, `get_win_build`,
//! `get_image_build`).

use super::builds::find_build_id_in;
use crate::db::{fetch_opt, RowExt};
use crate::error::{Error, Result};
use crate::params;
use crate::util::py_str;
use sea_orm::ConnectionTrait;
use serde_json::{json, Value as Json};

/// One of the build types with a table of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypedBuild {
    Maven,
    Win,
    Image,
}

impl TypedBuild {
    fn table(self) -> &'static str {
        match self {
            TypedBuild::Maven => "maven_builds",
            TypedBuild::Win => "win_builds",
            TypedBuild::Image => "image_builds",
        }
    }

    /// The word upstream's "no such ... build" message uses.
    fn label(self) -> &'static str {
        match self {
            TypedBuild::Maven => "maven",
            TypedBuild::Win => "Windows",
            TypedBuild::Image => "image",
        }
    }
}

/// The type row of a build (keys sorted, as upstream's query returns them),
/// or None when the build is not of that type.
pub async fn get_typed_build_in<C: ConnectionTrait>(
    c: &C,
    kind: TypedBuild,
    info: &Json,
    strict: bool,
) -> Result<Option<Json>> {
    let Some(id) = find_build_id_in(c, info, strict).await? else {
        return Ok(None);
    };
    if id == 0 {
        // upstream: `if not build_id: return None`
        return Ok(None);
    }
    let row = fetch_opt(
        c,
        &format!("SELECT * FROM {} WHERE build_id = ?", kind.table()),
        params![id],
    )
    .await?;
    let Some(r) = row else {
        if strict {
            return Err(Error::Generic(format!(
                "no such {} build: {}",
                kind.label(),
                py_str(info)
            )));
        }
        return Ok(None);
    };
    Ok(Some(match kind {
        TypedBuild::Maven => json!({
            "artifact_id": r.string("artifact_id")?,
            "build_id": r.int("build_id")?,
            "group_id": r.string("group_id")?,
            "version": r.string("version")?,
        }),
        TypedBuild::Win => json!({
            "build_id": r.int("build_id")?,
            "platform": r.string("platform")?,
        }),
        TypedBuild::Image => json!({"build_id": r.int("build_id")?}),
    }))
}
