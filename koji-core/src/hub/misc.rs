//! Version, liveness and event calls.

use super::Hub;
use crate::db::{fetch_opt, RowExt};
use crate::error::{Error, Result};
use crate::params;
use serde::Serialize;

pub struct Misc<'a>(pub(super) &'a Hub);

/// An event: `{'id': N, 'ts': seconds}`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EventInfo {
    pub id: i64,
    pub ts: f64,
}

impl Misc<'_> {
    /// `getEvent(id, strict=True)`.
    pub async fn event(&self, id: i64, strict: bool) -> Result<Option<EventInfo>> {
        let row = fetch_opt(
            self.0.db().conn(),
            "SELECT id, time FROM events WHERE id = ?",
            params![id],
        )
        .await?;
        match row {
            Some(r) => Ok(Some(EventInfo {
                id: r.int("id")?,
                ts: r.ts("time")?.unwrap_or(0.0),
            })),
            None if strict => Err(Error::Generic("query returned no rows".into())),
            None => Ok(None),
        }
    }

    /// `getLastEvent(before=None, strict=True)`.
    pub async fn last_event(&self, before: Option<f64>, strict: bool) -> Result<Option<EventInfo>> {
        let row = match before {
            None => {
                fetch_opt(
                    self.0.db().conn(),
                    "SELECT id, time FROM events ORDER BY id DESC LIMIT 1",
                    params![],
                )
                .await?
            }
            Some(before) => {
                let t = chrono::DateTime::from_timestamp_micros((before * 1e6) as i64)
                    .ok_or_else(|| Error::Generic(format!("Invalid type for before: {before}")))?;
                fetch_opt(
                    self.0.db().conn(),
                    "SELECT id, time FROM events WHERE time < ? ORDER BY id DESC LIMIT 1",
                    params![t],
                )
                .await?
            }
        };
        match row {
            Some(r) => Ok(Some(EventInfo {
                id: r.int("id")?,
                ts: r.ts("time")?.unwrap_or(0.0),
            })),
            None if strict => Err(Error::Generic("query returned no rows".into())),
            None => Ok(None),
        }
    }
}
