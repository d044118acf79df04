//! One error type for the whole hub. Each variant carries upstream Koji's
//! fault code, so every transport reports the same code upstream's hub does.

/// The result type used throughout koji-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error with upstream Koji's fault code (see [`Error::fault_code`]).
///
/// The message is what upstream puts in `faultString`: the exception text,
/// without the class name.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Generic(String),
    #[error("{0}")]
    Lock(String),
    #[error("{0}")]
    Auth(String),
    #[error("{0}")]
    Tag(String),
    #[error("{0}")]
    ActionNotAllowed(String),
    #[error("{0}")]
    Build(String),
    #[error("{0}")]
    AuthLock(String),
    #[error("{0}")]
    AuthExpired(String),
    #[error("{0}")]
    Sequence(String),
    #[error("{0}")]
    Retry(String),
    #[error("{0}")]
    FunctionDeprecated(String),
    #[error("{0}")]
    ServerOffline(String),
    #[error("{0}")]
    Plugin(String),
    #[error("{0}")]
    Parameter(String),
    #[error("{0}")]
    Import(String),
    #[error("{0}")]
    Configuration(String),
    #[error("{0}")]
    NameValidation(String),
    /// A database failure. Reported as a generic fault; the detail is logged.
    #[error("database error: {0}")]
    Db(String),
    /// An I/O failure on the content store.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Any other fault code (a fault received from a remote hub).
    #[error("{message}")]
    Fault { code: i32, message: String },
}

impl Error {
    /// Upstream's `faultCode` for this error.
    pub fn fault_code(&self) -> i32 {
        match self {
            Error::Generic(_) | Error::Db(_) | Error::Io(_) => 1000,
            Error::Lock(_) => 1001,
            Error::Auth(_) => 1002,
            Error::Tag(_) => 1003,
            Error::ActionNotAllowed(_) => 1004,
            Error::Build(_) => 1005,
            Error::AuthLock(_) => 1006,
            Error::AuthExpired(_) => 1007,
            Error::Sequence(_) => 1008,
            Error::Retry(_) => 1009,
            Error::FunctionDeprecated(_) => 1013,
            Error::ServerOffline(_) => 1014,
            Error::Plugin(_) => 1016,
            Error::Parameter(_) => 1019,
            Error::Import(_) => 1020,
            Error::Configuration(_) => 1021,
            Error::NameValidation(_) => 1024,
            Error::Fault { code, .. } => *code,
        }
    }

    /// Rebuild an error from a fault code and string (client side).
    pub fn from_fault(code: i32, message: String) -> Self {
        match code {
            1000 => Error::Generic(message),
            1001 => Error::Lock(message),
            1002 => Error::Auth(message),
            1003 => Error::Tag(message),
            1004 => Error::ActionNotAllowed(message),
            1005 => Error::Build(message),
            1006 => Error::AuthLock(message),
            1007 => Error::AuthExpired(message),
            1008 => Error::Sequence(message),
            1009 => Error::Retry(message),
            1013 => Error::FunctionDeprecated(message),
            1014 => Error::ServerOffline(message),
            1016 => Error::Plugin(message),
            1019 => Error::Parameter(message),
            1020 => Error::Import(message),
            1021 => Error::Configuration(message),
            1024 => Error::NameValidation(message),
            code => Error::Fault { code, message },
        }
    }

    pub fn generic(msg: impl Into<String>) -> Self {
        Error::Generic(msg.into())
    }
    pub fn param(msg: impl Into<String>) -> Self {
        Error::Parameter(msg.into())
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(e: sea_orm::DbErr) -> Self {
        tracing::warn!(error = %e, "database error");
        Error::Db(e.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Parameter(e.to_string())
    }
}

/// `bail!(Generic, "No such tag: {}", name)` style early return.
#[macro_export]
macro_rules! bail {
    ($kind:ident, $($arg:tt)*) => {
        return Err($crate::error::Error::$kind(format!($($arg)*)))
    };
}
