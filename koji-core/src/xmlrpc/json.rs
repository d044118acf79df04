//! Conversions between [`Value`] and `serde_json::Value`.
//!
//! JSON → XML-RPC:
//! - `null` → `Nil`, booleans → `Bool`, strings → `Str`, arrays → `Array`,
//!   objects → `Struct` (members in the object's order);
//! - integers → `Int`; an unsigned integer above `i64::MAX` → `Double`;
//!   other numbers → `Double`.
//!
//! XML-RPC → JSON:
//! - `Nil` → `null`, `Int` → integer, `Double` → float (NaN and infinities,
//!   which JSON cannot hold, → `null`);
//! - `Base64` → a string of its standard, padded base64 text (no line
//!   breaks); `DateTime` → its text as received (e.g. `20240102T03:04:05`);
//! - `Struct` → object; a repeated member name keeps its first position and
//!   takes the last value, as a Python `dict` does.
//!
//! Bytes: an answer that upstream sends as `<base64>` (Python `bytes`, e.g.
//! binary RPM headers) is made with [`bytes_json`], an object whose only
//! member is [`BYTES_KEY`]; it becomes `Base64` on the way out.

use super::Value;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{Map, Number, Value as Json};

pub(super) fn number_to_value(n: &Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::Int(i)
    } else if let Some(u) = n.as_u64() {
        Value::Double(u as f64)
    } else {
        Value::Double(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// The member name that marks a JSON object as bytes (see [`bytes_json`]).
pub const BYTES_KEY: &str = "__bytes_base64__";

/// Bytes as JSON: `{BYTES_KEY: "<standard base64>"}`, sent as `<base64>`.
pub fn bytes_json(b: &[u8]) -> Json {
    let mut m = Map::with_capacity(1);
    m.insert(BYTES_KEY.to_string(), Json::String(STANDARD.encode(b)));
    Json::Object(m)
}

/// The bytes of a [`bytes_json`] object.
pub(super) fn as_bytes(map: &Map<String, Json>) -> Option<Vec<u8>> {
    if map.len() != 1 {
        return None;
    }
    match map.get(BYTES_KEY) {
        Some(Json::String(s)) => STANDARD.decode(s).ok(),
        _ => None,
    }
}

fn double_to_json(d: f64) -> Json {
    Number::from_f64(d).map_or(Json::Null, Json::Number)
}

impl From<Json> for Value {
    fn from(j: Json) -> Self {
        match j {
            Json::Null => Value::Nil,
            Json::Bool(b) => Value::Bool(b),
            Json::Number(n) => number_to_value(&n),
            Json::String(s) => Value::Str(s),
            Json::Array(items) => Value::Array(items.into_iter().map(Value::from).collect()),
            Json::Object(map) => match as_bytes(&map) {
                Some(b) => Value::Base64(b),
                None => Value::Struct(map.into_iter().map(|(k, v)| (k, Value::from(v))).collect()),
            },
        }
    }
}

impl From<&Json> for Value {
    fn from(j: &Json) -> Self {
        match j {
            Json::Null => Value::Nil,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => number_to_value(n),
            Json::String(s) => Value::Str(s.clone()),
            Json::Array(items) => Value::Array(items.iter().map(Value::from).collect()),
            Json::Object(map) => match as_bytes(map) {
                Some(b) => Value::Base64(b),
                None => Value::Struct(
                    map.iter()
                        .map(|(k, v)| (k.clone(), Value::from(v)))
                        .collect(),
                ),
            },
        }
    }
}

impl From<Value> for Json {
    fn from(v: Value) -> Self {
        match v {
            Value::Nil => Json::Null,
            Value::Bool(b) => Json::Bool(b),
            Value::Int(i) => Json::from(i),
            Value::Double(d) => double_to_json(d),
            Value::Str(s) => Json::String(s),
            Value::Base64(b) => Json::String(STANDARD.encode(b)),
            Value::DateTime(s) => Json::String(s),
            Value::Array(items) => Json::Array(items.into_iter().map(Json::from).collect()),
            Value::Struct(members) => {
                let mut map = Map::with_capacity(members.len());
                for (k, v) in members {
                    // IndexMap semantics: an existing key keeps its place
                    map.insert(k, Json::from(v));
                }
                Json::Object(map)
            }
        }
    }
}

impl From<&Value> for Json {
    fn from(v: &Value) -> Self {
        match v {
            Value::Nil => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Double(d) => double_to_json(*d),
            Value::Str(s) => Json::String(s.clone()),
            Value::Base64(b) => Json::String(STANDARD.encode(b)),
            Value::DateTime(s) => Json::String(s.clone()),
            Value::Array(items) => Json::Array(items.iter().map(Json::from).collect()),
            Value::Struct(members) => {
                let mut map = Map::with_capacity(members.len());
                for (k, v) in members {
                    map.insert(k.clone(), Json::from(v));
                }
                Json::Object(map)
            }
        }
    }
}

impl Value {
    /// This value as JSON (see the module docs for the mapping).
    pub fn to_json(&self) -> Json {
        Json::from(self)
    }

    /// A value from JSON (see the module docs for the mapping).
    pub fn from_json(j: &Json) -> Value {
        Value::from(j)
    }
}
