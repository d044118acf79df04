//! Accessors and small constructors for [`Value`] and [`MethodCall`].

use super::{MethodCall, Value};

impl Value {
    /// The text of a `Str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The number of an `Int`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// A `Double`, or an `Int` widened.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Double(d) => Some(*d),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// The flag of a `Bool`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The items of an `Array`.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The members of a `Struct`.
    pub fn as_struct(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Struct(m) => Some(m),
            _ => None,
        }
    }

    /// A member of a `Struct` by name; the last one if the name repeats
    /// (parsed structs never repeat names).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.as_struct()?
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// Python's truth value of what this unmarshals to.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Double(d) => *d != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Base64(b) => !b.is_empty(),
            Value::DateTime(_) => true,
            Value::Array(a) => !a.is_empty(),
            Value::Struct(m) => !m.is_empty(),
        }
    }

    /// The name of the Python type this unmarshals to.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Double(_) => "float",
            Value::Str(_) => "str",
            Value::Base64(_) => "bytes",
            Value::DateTime(_) => "DateTime",
            Value::Array(_) => "list",
            Value::Struct(_) => "dict",
        }
    }

    /// The `{faultCode, faultString}` struct that stands for a failed call
    /// inside a `system.multicall`/`multiCall` result.
    pub fn fault(code: i32, message: impl Into<String>) -> Value {
        Value::Struct(vec![
            ("faultCode".to_owned(), Value::Int(i64::from(code))),
            ("faultString".to_owned(), Value::Str(message.into())),
        ])
    }
}

impl MethodCall {
    /// Removes and returns upstream Koji's keyword arguments: a trailing
    /// struct whose `__starstar` member is true (Python truthiness), minus
    /// that member. `None`, and the parameters untouched, otherwise.
    pub fn take_kwargs(&mut self) -> Option<Vec<(String, Value)>> {
        let marked = self
            .params
            .last()
            .and_then(|last| last.get("__starstar"))
            .is_some_and(Value::truthy);
        if !marked {
            return None;
        }
        match self.params.pop() {
            Some(Value::Struct(mut members)) => {
                members.retain(|(k, _)| k != "__starstar");
                Some(members)
            }
            other => {
                // unreachable: `get` only finds members of structs
                self.params.extend(other);
                None
            }
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Int(i64::from(i))
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<u32> for Value {
    fn from(i: u32) -> Self {
        Value::Int(i64::from(i))
    }
}

impl From<f64> for Value {
    fn from(d: f64) -> Self {
        Value::Double(d)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::Array(items)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Nil, Into::into)
    }
}
