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

use super::Value;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{Map, Number, Value as Json};

fn number_to_value(n: &Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::Int(i)
    } else if let Some(u) = n.as_u64() {
        Value::Double(u as f64)
    } else {
        Value::Double(n.as_f64().unwrap_or(f64::NAN))
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
            Json::Object(map) => {
                Value::Struct(map.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
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
            Json::Object(map) => Value::Struct(
                map.iter()
                    .map(|(k, v)| (k.clone(), Value::from(v)))
                    .collect(),
            ),
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
