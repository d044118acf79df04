//! Plain types and state enums, with upstream Koji's numbers.

use serde::{Deserialize, Serialize};

/// `users.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserStatus {
    Normal = 0,
    Blocked = 1,
}

/// `users.usertype`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserType {
    Normal = 0,
    Host = 1,
    Group = 2,
}

impl UserType {
    pub fn from_i64(v: i64) -> Option<Self> {
        match v {
            0 => Some(Self::Normal),
            1 => Some(Self::Host),
            2 => Some(Self::Group),
            _ => None,
        }
    }
}

/// `sessions.authtype`.
pub mod authtype {
    pub const NORMAL: i64 = 0;
    pub const KERBEROS: i64 = 1;
    pub const SSL: i64 = 2;
    pub const GSSAPI: i64 = 3;
}

/// `build.state` (upstream's `koji.BUILD_STATES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BuildState {
    Building = 0,
    Complete = 1,
    Deleted = 2,
    Failed = 3,
    Canceled = 4,
}

impl BuildState {
    pub const ALL: [BuildState; 5] = [
        BuildState::Building,
        BuildState::Complete,
        BuildState::Deleted,
        BuildState::Failed,
        BuildState::Canceled,
    ];

    pub fn from_i64(v: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|s| *s as i64 == v)
    }

    /// Upstream's name: `BUILDING`, `COMPLETE`, ...
    pub fn name(self) -> &'static str {
        match self {
            BuildState::Building => "BUILDING",
            BuildState::Complete => "COMPLETE",
            BuildState::Deleted => "DELETED",
            BuildState::Failed => "FAILED",
            BuildState::Canceled => "CANCELED",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}
