//! Writing responses, faults and calls, laid out as Python's
//! `xmlrpc.client` lays them out.
//!
//! Each document is written into one `String` sized from a cheap estimate
//! of the value. Text is escaped (`&`, `<`, `>`; `\r` as `&#13;` so that it
//! survives the reader's line-end normalisation). Characters that XML 1.0
//! cannot carry at all (C0 controls other than tab/newline/CR, U+FFFE,
//! U+FFFF) are written as U+FFFD: Python would write them raw and its own
//! reader would then refuse the whole document.

use super::json::{as_bytes, number_to_value};
use super::Value;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value as Json;
use std::fmt::{self, Write as _};

const HEADER: &str = "<?xml version='1.0'?>\n";

/// A `<methodResponse>` carrying one value.
pub fn write_response(v: &Value) -> String {
    response(estimate(v), |out| write_value(out, v))
}

/// A `<methodResponse>` around the value `write` appends (about `size`
/// bytes).
fn response(size: usize, write: impl FnOnce(&mut String)) -> String {
    let mut out = String::with_capacity(128 + size);
    out.push_str(HEADER);
    out.push_str("<methodResponse>\n<params>\n<param>\n");
    write(&mut out);
    out.push_str("</param>\n</params>\n</methodResponse>\n");
    out
}

/// A `<methodResponse>` carrying a fault.
pub fn write_fault(code: i32, message: &str) -> String {
    let mut out = String::with_capacity(300 + message.len());
    out.push_str(HEADER);
    out.push_str(
        "<methodResponse>\n<fault>\n<value><struct>\n\
         <member>\n<name>faultCode</name>\n<value><int>",
    );
    // i32 Display cannot fail on a String
    let _ = write!(out, "{code}");
    out.push_str(
        "</int></value>\n</member>\n\
         <member>\n<name>faultString</name>\n<value><string>",
    );
    escape_into(&mut out, message);
    out.push_str(
        "</string></value>\n</member>\n\
         </struct></value>\n</fault>\n</methodResponse>\n",
    );
    out
}

/// A `<methodCall>`.
pub fn write_call(name: &str, params: &[Value]) -> String {
    let size: usize = params.iter().map(|p| 20 + estimate(p)).sum();
    let mut out = String::with_capacity(128 + name.len() + size);
    out.push_str(HEADER);
    out.push_str("<methodCall>\n<methodName>");
    escape_into(&mut out, name);
    out.push_str("</methodName>\n<params>\n");
    for p in params {
        out.push_str("<param>\n");
        write_value(&mut out, p);
        out.push_str("</param>\n");
    }
    out.push_str("</params>\n</methodCall>\n");
    out
}

/// Appends `<value>...</value>\n` for `v`.
pub fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Nil => out.push_str("<value><nil/></value>\n"),
        Value::Bool(b) => write_bool(out, *b),
        Value::Int(i) => write_int(out, *i),
        Value::Double(d) => write_double(out, *d),
        Value::Str(s) => write_str(out, s),
        Value::Base64(b) => write_base64(out, b),
        Value::DateTime(s) => {
            out.push_str("<value><dateTime.iso8601>");
            escape_into(out, s);
            out.push_str("</dateTime.iso8601></value>\n");
        }
        Value::Array(items) => {
            out.push_str("<value><array><data>\n");
            for item in items {
                write_value(out, item);
            }
            out.push_str("</data></array></value>\n");
        }
        Value::Struct(members) => {
            out.push_str("<value><struct>\n");
            for (k, v) in members {
                write_name(out, k);
                write_value(out, v);
                out.push_str("</member>\n");
            }
            out.push_str("</struct></value>\n");
        }
    }
}

/// A `<methodResponse>` carrying `v`, written straight from the JSON value:
/// the same text as `write_response(&Value::from(v))`, without building
/// the XML-RPC value first (a whole tag's listing is tens of thousands of
/// maps).
pub fn write_json_response(v: &Json) -> String {
    response(estimate_json(v), |out| write_json_value(out, v))
}

/// [`write_value`] of `Value::from(v)`, without the conversion.
pub fn write_json_value(out: &mut String, v: &Json) {
    match v {
        Json::Null => out.push_str("<value><nil/></value>\n"),
        Json::Bool(b) => write_bool(out, *b),
        Json::Number(n) => match number_to_value(n) {
            Value::Int(i) => write_int(out, i),
            Value::Double(d) => write_double(out, d),
            other => write_value(out, &other),
        },
        Json::String(s) => write_str(out, s),
        Json::Array(items) => {
            out.push_str("<value><array><data>\n");
            for item in items {
                write_json_value(out, item);
            }
            out.push_str("</data></array></value>\n");
        }
        Json::Object(map) => match as_bytes(map) {
            Some(b) => write_base64(out, &b),
            None => {
                out.push_str("<value><struct>\n");
                for (k, v) in map {
                    write_name(out, k);
                    write_json_value(out, v);
                    out.push_str("</member>\n");
                }
                out.push_str("</struct></value>\n");
            }
        },
    }
}

fn write_bool(out: &mut String, b: bool) {
    out.push_str(if b {
        "<value><boolean>1</boolean></value>\n"
    } else {
        "<value><boolean>0</boolean></value>\n"
    });
}

fn write_int(out: &mut String, i: i64) {
    if i32::try_from(i).is_ok() {
        out.push_str("<value><int>");
        push_int(out, i);
        out.push_str("</int></value>\n");
    } else {
        out.push_str("<value><i8>");
        push_int(out, i);
        out.push_str("</i8></value>\n");
    }
}

fn write_double(out: &mut String, d: f64) {
    out.push_str("<value><double>");
    push_double(out, d);
    out.push_str("</double></value>\n");
}

fn write_str(out: &mut String, s: &str) {
    out.push_str("<value><string>");
    escape_into(out, s);
    out.push_str("</string></value>\n");
}

fn write_base64(out: &mut String, b: &[u8]) {
    out.push_str("<value><base64>");
    STANDARD.encode_string(b, out);
    out.push_str("</base64></value>\n");
}

/// A struct member's opening and name.
fn write_name(out: &mut String, k: &str) {
    out.push_str("<member>\n<name>");
    escape_into(out, k);
    out.push_str("</name>\n");
}

/// [`estimate`] of a JSON value.
fn estimate_json(v: &Json) -> usize {
    match v {
        Json::Null => 22,
        Json::Bool(_) => 36,
        Json::Number(_) => 50,
        Json::String(s) => 34 + s.len(),
        Json::Array(items) => 48 + items.iter().map(estimate_json).sum::<usize>(),
        Json::Object(map) => {
            36 + map
                .iter()
                .map(|(k, v)| 36 + k.len() + estimate_json(v))
                .sum::<usize>()
        }
    }
}

/// Roughly how many bytes `write_value` produces (escaping not counted).
fn estimate(v: &Value) -> usize {
    match v {
        Value::Nil => 22,
        Value::Bool(_) => 36,
        Value::Int(_) => 46,
        Value::Double(_) => 56,
        Value::Str(s) => 34 + s.len(),
        Value::Base64(b) => 34 + b.len().div_ceil(3) * 4,
        Value::DateTime(s) => 54 + s.len(),
        Value::Array(items) => 48 + items.iter().map(estimate).sum::<usize>(),
        Value::Struct(members) => {
            36 + members
                .iter()
                .map(|(k, v)| 36 + k.len() + estimate(v))
                .sum::<usize>()
        }
    }
}

fn push_int(out: &mut String, i: i64) {
    let mut buf = [0u8; 20];
    let mut pos = buf.len();
    let mut n = i.unsigned_abs();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if i < 0 {
        out.push('-');
    }
    // only ASCII digits were written
    out.push_str(std::str::from_utf8(&buf[pos..]).unwrap_or_default());
}

/// A small stack buffer for float formatting.
struct StackBuf {
    buf: [u8; 48],
    len: usize,
}

impl fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Python's `repr(float)`: the shortest text that reads back as the same
/// float, positional for 1e-4 <= |d| < 1e16 (always with a `.`), else
/// `d.ddde±XX`; `nan`, `inf`, `-inf` as Python writes (and reads) them.
pub(crate) fn push_double(out: &mut String, d: f64) {
    if d.is_nan() {
        out.push_str("nan");
        return;
    }
    if d.is_infinite() {
        out.push_str(if d > 0.0 { "inf" } else { "-inf" });
        return;
    }
    if d == 0.0 {
        out.push_str(if d.is_sign_negative() { "-0.0" } else { "0.0" });
        return;
    }
    let mut sci = StackBuf {
        buf: [0; 48],
        len: 0,
    };
    // `{:e}` is the shortest round-trip form: "-1.5e-7", "1e100"
    let parsed = write!(sci, "{d:e}")
        .ok()
        .and_then(|()| std::str::from_utf8(&sci.buf[..sci.len]).ok())
        .and_then(|s| s.split_once('e'))
        .and_then(|(mantissa, exp)| Some((mantissa, exp.parse::<i32>().ok()?)));
    match parsed {
        Some((mantissa, exp)) if !(-4..16).contains(&exp) => {
            out.push_str(mantissa);
            out.push('e');
            out.push(if exp < 0 { '-' } else { '+' });
            let exp = exp.unsigned_abs();
            if exp < 10 {
                out.push('0');
            }
            push_int(out, i64::from(exp));
        }
        _ => {
            let start = out.len();
            let _ = write!(out, "{d}");
            if !out.as_bytes()[start..].contains(&b'.') {
                out.push_str(".0");
            }
        }
    }
}

/// What each byte needs: 0 nothing, 1 escape, 2 replace with U+FFFD,
/// 3 maybe U+FFFE/U+FFFF (lead byte 0xEF).
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = 2;
        i += 1;
    }
    t[b'\t' as usize] = 0;
    t[b'\n' as usize] = 0;
    t[b'\r' as usize] = 1;
    t[b'&' as usize] = 1;
    t[b'<' as usize] = 1;
    t[b'>' as usize] = 1;
    t[0xEF] = 3;
    t
};

/// Appends `s` as XML character data.
pub(crate) fn escape_into(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut done = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (rep, width) = match CLASS[usize::from(b)] {
            0 => {
                i += 1;
                continue;
            }
            1 => (
                match b {
                    b'&' => "&amp;",
                    b'<' => "&lt;",
                    b'>' => "&gt;",
                    _ => "&#13;",
                },
                1,
            ),
            2 => ("\u{FFFD}", 1),
            _ => {
                if bytes.get(i + 1) == Some(&0xBF) && matches!(bytes.get(i + 2), Some(0xBE | 0xBF))
                {
                    ("\u{FFFD}", 3)
                } else {
                    i += 1;
                    continue;
                }
            }
        };
        out.push_str(s.get(done..i).unwrap_or_default());
        out.push_str(rep);
        i += width;
        done = i;
    }
    out.push_str(s.get(done..).unwrap_or_default());
}
