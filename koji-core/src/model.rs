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
