//! XML-RPC in upstream Koji's flavour: the standard value types plus
//! `<nil/>` and `<i8>`; keyword arguments travel as a trailing struct with
//! `__starstar: true`.
//!
//! Both directions are here: the hub parses calls and writes responses, the
//! client writes calls and parses responses.
//!
//! - [`parse_call`] / [`parse_response`]: strict, allocation-light readers
//!   that never panic; nesting is limited to [`MAX_DEPTH`] arrays/structs,
//!   DOCTYPEs (and with them entity declarations) are refused.
//! - [`write_response`], [`write_fault`], [`write_call`]: writers producing
//!   the same layout as Python's `xmlrpc.client`.
//! - `From` conversions between [`Value`] and `serde_json::Value` (both
//!   owned and borrowed), plus [`Value::to_json`] / [`Value::from_json`]:
//!   JSON objects become structs in order, `null` ↔ `Nil`, integers → `Int`
//!   (a `u64` above `i64::MAX` → `Double`), other numbers → `Double`.
//!   Back to JSON, `Base64` becomes a string of its standard padded base64
//!   text, `DateTime` its text as received, a NaN/infinite `Double` `null`,
//!   and a struct whose member names repeat keeps each name's first position
//!   with its last value (a Python `dict`; parsed structs are already
//!   de-duplicated this way).
//! - Strings are written with `&`, `<`, `>` escaped and `\r` as `&#13;`;
//!   characters XML 1.0 cannot carry (C0 controls but tab/newline/CR,
//!   U+FFFE, U+FFFF) are written as U+FFFD so the document stays readable.

use std::fmt;

mod json;
mod parse;
mod value;
mod write;

#[cfg(test)]
mod tests;

pub use json::{bytes_json, BYTES_KEY};
pub use parse::{parse_call, parse_response, MAX_DEPTH};
pub use write::{
    write_call, write_fault, write_json_response, write_json_value, write_response, write_value,
};

/// An XML-RPC value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Nil,
    Bool(bool),
    /// `<int>`/`<i4>`/`<i8>`; written as `<int>` when it fits 32 bits, else `<i8>`.
    Int(i64),
    Double(f64),
    Str(String),
    Base64(Vec<u8>),
    /// `<dateTime.iso8601>` text as received.
    DateTime(String),
    Array(Vec<Value>),
    /// Members in document order.
    Struct(Vec<(String, Value)>),
}

/// A parsed `<methodCall>`.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodCall {
    pub name: String,
    pub params: Vec<Value>,
}

/// A parsed `<methodResponse>`.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    Value(Value),
    Fault { code: i32, message: String },
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for ParseError {}
