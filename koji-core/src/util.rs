//! Small helpers that keep our answers and messages byte-identical to
//! upstream's (Python reprs, time strings).

use serde_json::Value as Json;

/// Python's `repr()` of a value, as upstream's messages show it
/// (`'name'`, `42`, `None`, `{'a': 1}`).
pub fn py_repr(v: &Json) -> String {
    match v {
        Json::Null => "None".into(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => py_str_repr(s),
        Json::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Json::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, v)| format!("{}: {}", py_str_repr(k), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Python's `repr()` of a str.
pub fn py_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c)
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `str()` of a value (strings bare, the rest as repr).
pub fn py_str(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// A timestamp as upstream returns time columns: Python's `str()` of an
/// aware datetime, e.g. `2024-01-31 12:00:00.123456+00:00`.
pub fn format_time(ts: f64) -> String {
    let micros = (ts * 1e6).round() as i64;
    match chrono::DateTime::from_timestamp_micros(micros) {
        Some(t) if t.timestamp_subsec_micros() == 0 => {
            t.format("%Y-%m-%d %H:%M:%S+00:00").to_string()
        }
        Some(t) => t.format("%Y-%m-%d %H:%M:%S%.6f+00:00").to_string(),
        None => ts.to_string(),
    }
}

/// Date/time texts as PostgreSQL reads them for a `timestamptz` (the common
/// ISO spellings); a text without zone is UTC.
pub fn parse_time_text(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%#z",
        "%Y-%m-%dT%H:%M:%S%.f%#z",
        "%Y-%m-%d %H:%M%:z",
        "%Y-%m-%d %H:%M%#z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// Python's `type()` text of a JSON value, as upstream's messages show it.
pub fn py_class(v: &Json) -> String {
    format!("<class '{}'>", crate::api::py_type_of(v))
}

/// Python's `int(v)` for the values an XML-RPC call can carry.
pub fn py_int(v: &Json) -> Option<i64> {
    match v {
        Json::Bool(b) => Some(*b as i64),
        Json::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f.trunc() as i64)
        }),
        Json::String(s) => s.trim().replace('_', "").parse().ok(),
        _ => None,
    }
}

/// Python's `AttributeError` for `v.attr` (e.g. `.get` on a non-dict
/// argument), as upstream's hub reports it.
pub fn py_no_attribute(v: &Json, attr: &str) -> crate::Error {
    py_fault(
        "AttributeError",
        format!(
            "'{}' object has no attribute '{attr}'",
            crate::api::py_type_of(v)
        ),
    )
}

/// A fault as upstream reports an exception that is not a koji error
/// (fault code 1, `<class 'X'>: message`).
pub fn py_fault(class: &str, msg: impl std::fmt::Display) -> crate::Error {
    crate::Error::Fault {
        code: 1,
        message: format!("<class '{class}'>: {msg}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reprs_match_python() {
        assert_eq!(py_repr(&json!("x")), "'x'");
        assert_eq!(py_repr(&json!("it's")), "\"it's\"");
        assert_eq!(py_repr(&json!(5)), "5");
        assert_eq!(py_repr(&json!(null)), "None");
        assert_eq!(
            py_repr(&json!({"name": "a", "n": [true]})),
            "{'name': 'a', 'n': [True]}"
        );
    }

    #[test]
    fn times_look_like_python_datetimes() {
        assert_eq!(format_time(0.0), "1970-01-01 00:00:00+00:00");
        assert_eq!(format_time(1.5), "1970-01-01 00:00:01.500000+00:00");
    }
}
