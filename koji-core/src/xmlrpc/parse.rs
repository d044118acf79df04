//! Reading `<methodCall>` and `<methodResponse>` documents.
//!
//! The reader walks quick-xml's borrowing events over the input slice, so
//! text that needs no unescaping is never copied twice. It accepts what
//! Python's `xmlrpc.client` (and upstream Koji's extended marshaller, which
//! adds `<i8>` and `<nil/>`) send, and otherwise is strict:
//!
//! - DOCTYPE declarations are refused outright (so no entity declarations,
//!   no "billion laughs"); only the five predefined entities and character
//!   references are understood.
//! - Arrays and structs may nest at most [`MAX_DEPTH`] levels.
//! - Unknown elements, text mixed with a typed value, bad numbers, bad
//!   base64, truncated documents and anything but comments, processing
//!   instructions and whitespace after the root element are errors.
//! - Namespace prefixes are ignored (`<ex:nil/>`, `<ex:i8>` as Apache's
//!   XML-RPC writes them), as Python 3 does.
//! - The document must be UTF-8 (or US-ASCII); an XML declaration naming
//!   ISO-8859-1/Latin-1 is honoured by transcoding; other encodings are
//!   refused.
//! - A struct with repeated member names keeps the first position and the
//!   last value, as a Python `dict` built from it would.

use super::{MethodCall, ParseError, Response, Value};
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::Reader;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// How many arrays/structs may nest inside each other.
pub const MAX_DEPTH: usize = 100;

/// Standard alphabet; padding optional and stray trailing bits tolerated,
/// as Python's `base64.decodebytes` tolerates them.
const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Parses a `<methodCall>` document.
pub fn parse_call(body: &[u8]) -> Result<MethodCall, ParseError> {
    with_encoding(body, |mut p| p.method_call())
}

/// Parses a `<methodResponse>` document: one value or a fault.
pub fn parse_response(body: &[u8]) -> Result<Response, ParseError> {
    with_encoding(body, |mut p| p.method_response())
}

enum Encoding {
    Utf8,
    Latin1,
}

fn with_encoding<T>(
    body: &[u8],
    run: impl for<'b> FnOnce(Parser<'b>) -> Result<T, ParseError>,
) -> Result<T, ParseError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    match declared_encoding(body)? {
        Encoding::Utf8 => run(Parser::new(body)),
        Encoding::Latin1 => {
            let text: String = body.iter().map(|&b| char::from(b)).collect();
            run(Parser::new(text.as_bytes()))
        }
    }
}

/// Looks at the XML declaration, if any, for an `encoding`.
fn declared_encoding(body: &[u8]) -> Result<Encoding, ParseError> {
    if !body.starts_with(b"<?xml") {
        return Ok(Encoding::Utf8);
    }
    let mut r = Reader::from_reader(body);
    let Ok(Event::Decl(decl)) = r.read_event() else {
        // Not a declaration after all (or broken): the main pass reports it.
        return Ok(Encoding::Utf8);
    };
    match decl.encoding() {
        None => Ok(Encoding::Utf8),
        Some(Err(e)) => Err(ParseError(format!("bad XML declaration: {e}"))),
        Some(Ok(enc)) => {
            let enc = enc.to_ascii_lowercase();
            match enc.as_slice() {
                b"utf-8" | b"utf8" | b"us-ascii" | b"ascii" => Ok(Encoding::Utf8),
                b"iso-8859-1" | b"iso8859-1" | b"iso_8859-1" | b"latin-1" | b"latin1" | b"l1" => {
                    Ok(Encoding::Latin1)
                }
                other => Err(ParseError(format!(
                    "unsupported encoding {:?}",
                    clip(&String::from_utf8_lossy(other))
                ))),
            }
        }
    }
}

/// The elements of the XML-RPC vocabulary.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum El {
    MethodCall,
    MethodName,
    MethodResponse,
    Params,
    Param,
    Fault,
    Value,
    /// `int`, `i4`, `i8`, `i1`, `i2`, `biginteger`
    Int,
    Boolean,
    String,
    /// `double`, `float`, `bigdecimal`
    Double,
    DateTime,
    Base64,
    Nil,
    Array,
    Data,
    Struct,
    Member,
    Name,
}

impl El {
    fn tag(self) -> &'static str {
        match self {
            El::MethodCall => "methodCall",
            El::MethodName => "methodName",
            El::MethodResponse => "methodResponse",
            El::Params => "params",
            El::Param => "param",
            El::Fault => "fault",
            El::Value => "value",
            El::Int => "int",
            El::Boolean => "boolean",
            El::String => "string",
            El::Double => "double",
            El::DateTime => "dateTime.iso8601",
            El::Base64 => "base64",
            El::Nil => "nil",
            El::Array => "array",
            El::Data => "data",
            El::Struct => "struct",
            El::Member => "member",
            El::Name => "name",
        }
    }
}

fn classify(start: &BytesStart<'_>) -> Result<El, String> {
    let local = start.local_name();
    Ok(match local.as_ref() {
        b"value" => El::Value,
        b"string" => El::String,
        b"int" | b"i4" | b"i8" | b"i1" | b"i2" | b"biginteger" => El::Int,
        b"member" => El::Member,
        b"name" => El::Name,
        b"struct" => El::Struct,
        b"array" => El::Array,
        b"data" => El::Data,
        b"boolean" => El::Boolean,
        b"nil" => El::Nil,
        b"double" | b"float" | b"bigdecimal" => El::Double,
        b"base64" => El::Base64,
        b"dateTime.iso8601" => El::DateTime,
        b"param" => El::Param,
        b"params" => El::Params,
        b"methodCall" => El::MethodCall,
        b"methodName" => El::MethodName,
        b"methodResponse" => El::MethodResponse,
        b"fault" => El::Fault,
        other => {
            return Err(format!(
                "unknown element <{}>",
                clip(&String::from_utf8_lossy(other))
            ))
        }
    })
}

/// One step of the document, comments and processing instructions skipped.
enum Ev<'a> {
    Open(El),
    Empty(El),
    Close,
    Text(Cow<'a, str>),
    /// A character reference.
    Char(char),
    Eof,
}

/// Like [`Ev`], with whitespace between elements skipped.
#[derive(Clone, Copy)]
enum Tag {
    Open(El),
    Empty(El),
    Close,
    Eof,
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tag::Open(el) => write!(f, "<{}>", el.tag()),
            Tag::Empty(el) => write!(f, "<{}/>", el.tag()),
            Tag::Close => f.write_str("end tag"),
            Tag::Eof => f.write_str("end of document"),
        }
    }
}

struct Parser<'a> {
    r: Reader<&'a [u8]>,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(body: &'a [u8]) -> Self {
        let mut r = Reader::from_reader(body);
        let c = r.config_mut();
        c.trim_text(false);
        c.expand_empty_elements = false;
        c.check_end_names = true;
        c.allow_unmatched_ends = false;
        c.allow_dangling_amp = false;
        Parser { r, depth: 0 }
    }

    fn err(&self, msg: impl fmt::Display) -> ParseError {
        ParseError(format!("{msg} (at byte {})", self.r.buffer_position()))
    }

    fn unexpected(&self, found: Tag, expected: &str) -> ParseError {
        match found {
            Tag::Eof => self.err(format!("document truncated: expected {expected}")),
            found => self.err(format!("unexpected {found}, expected {expected}")),
        }
    }

    fn next_ev(&mut self) -> Result<Ev<'a>, ParseError> {
        loop {
            let event = match self.r.read_event() {
                Ok(e) => e,
                Err(e) => {
                    return Err(ParseError(format!(
                        "malformed XML: {e} (at byte {})",
                        self.r.error_position()
                    )))
                }
            };
            return Ok(match event {
                Event::Start(s) => Ev::Open(classify(&s).map_err(|m| self.err(m))?),
                Event::Empty(s) => Ev::Empty(classify(&s).map_err(|m| self.err(m))?),
                Event::End(_) => Ev::Close,
                Event::Text(t) => Ev::Text(
                    t.xml10_content()
                        .map_err(|e| self.err(format!("bad text: {e}")))?,
                ),
                Event::CData(t) => Ev::Text(
                    t.xml10_content()
                        .map_err(|e| self.err(format!("bad CDATA: {e}")))?,
                ),
                Event::GeneralRef(r) => resolve_ref(&r).map_err(|m| self.err(m))?,
                Event::Comment(_) | Event::PI(_) => continue,
                Event::Decl(_) => return Err(self.err("misplaced XML declaration")),
                Event::DocType(_) => return Err(self.err("DOCTYPE is not allowed")),
                Event::Eof => Ev::Eof,
            });
        }
    }

    /// The next tag, skipping whitespace; other text is an error.
    fn next_tag(&mut self) -> Result<Tag, ParseError> {
        loop {
            return Ok(match self.next_ev()? {
                Ev::Open(el) => Tag::Open(el),
                Ev::Empty(el) => Tag::Empty(el),
                Ev::Close => Tag::Close,
                Ev::Eof => Tag::Eof,
                Ev::Text(t) if is_ws(&t) => continue,
                Ev::Char(c) if is_ws_char(c) => continue,
                Ev::Text(t) => {
                    return Err(self.err(format!("unexpected text {:?}", clip(t.trim()))))
                }
                Ev::Char(c) => return Err(self.err(format!("unexpected text {c:?}"))),
            });
        }
    }

    /// Expects the end tag of the element `what` (whitespace before it is fine).
    fn close(&mut self, what: &str) -> Result<(), ParseError> {
        match self.next_tag()? {
            Tag::Close => Ok(()),
            other => Err(self.unexpected(other, &format!("</{what}>"))),
        }
    }

    /// Text content up to the end tag of the current element.
    fn text(&mut self, what: El) -> Result<Cow<'a, str>, ParseError> {
        let mut acc = Cow::Borrowed("");
        loop {
            match self.next_ev()? {
                Ev::Text(t) => append(&mut acc, t),
                Ev::Char(c) => acc.to_mut().push(c),
                Ev::Close => return Ok(acc),
                Ev::Open(el) | Ev::Empty(el) => {
                    return Err(self.err(format!(
                        "unexpected <{}> inside <{}>",
                        el.tag(),
                        what.tag()
                    )))
                }
                Ev::Eof => {
                    return Err(self.err(format!("document truncated inside <{}>", what.tag())))
                }
            }
        }
    }

    /// Prolog up to and including the root's start tag.
    fn root(&mut self, want: El) -> Result<(), ParseError> {
        let mut first = true;
        loop {
            let event = match self.r.read_event() {
                Ok(e) => e,
                Err(e) => {
                    return Err(ParseError(format!(
                        "malformed XML: {e} (at byte {})",
                        self.r.error_position()
                    )))
                }
            };
            match event {
                Event::Decl(_) if first => {}
                Event::Comment(_) | Event::PI(_) => {}
                Event::Text(t) if t.iter().all(|b| is_ws_byte(*b)) => {}
                Event::Start(s) => {
                    let el = classify(&s).map_err(|m| self.err(m))?;
                    if el == want {
                        return Ok(());
                    }
                    return Err(self.err(format!(
                        "expected <{}>, found <{}>",
                        want.tag(),
                        el.tag()
                    )));
                }
                Event::Empty(_) => return Err(self.err(format!("empty <{}>", want.tag()))),
                Event::DocType(_) => return Err(self.err("DOCTYPE is not allowed")),
                Event::Decl(_) => return Err(self.err("misplaced XML declaration")),
                Event::Eof => {
                    return Err(self.err(format!("no <{}> element", want.tag())));
                }
                _ => return Err(self.err("text before the root element")),
            }
            first = false;
        }
    }

    /// After the root: only comments, PIs and whitespace.
    fn epilog(&mut self) -> Result<(), ParseError> {
        loop {
            match self.next_ev()? {
                Ev::Eof => return Ok(()),
                Ev::Text(t) if is_ws(&t) => {}
                Ev::Char(c) if is_ws_char(c) => {}
                _ => return Err(self.err("junk after the document element")),
            }
        }
    }

    fn method_call(&mut self) -> Result<MethodCall, ParseError> {
        self.root(El::MethodCall)?;
        let name = match self.next_tag()? {
            Tag::Open(El::MethodName) => self.text(El::MethodName)?.into_owned(),
            Tag::Empty(El::MethodName) => String::new(),
            other => return Err(self.unexpected(other, "<methodName>")),
        };
        let mut params = Vec::new();
        match self.next_tag()? {
            Tag::Open(El::Params) => {
                self.params(&mut params)?;
                self.close("methodCall")?;
            }
            Tag::Empty(El::Params) => self.close("methodCall")?,
            Tag::Close => {}
            other => return Err(self.unexpected(other, "<params>")),
        }
        self.epilog()?;
        Ok(MethodCall { name, params })
    }

    fn method_response(&mut self) -> Result<Response, ParseError> {
        self.root(El::MethodResponse)?;
        let response = match self.next_tag()? {
            Tag::Open(El::Params) => {
                let mut params = Vec::with_capacity(1);
                self.params(&mut params)?;
                match (params.pop(), params.is_empty()) {
                    (Some(v), true) => Response::Value(v),
                    _ => return Err(self.err("a response needs exactly one <param>")),
                }
            }
            Tag::Open(El::Fault) => {
                let v = match self.next_tag()? {
                    Tag::Open(El::Value) => self.value_body()?,
                    other => return Err(self.unexpected(other, "<value>")),
                };
                self.close("fault")?;
                fault_from(v).map_err(|m| self.err(m))?
            }
            other => return Err(self.unexpected(other, "<params> or <fault>")),
        };
        self.close("methodResponse")?;
        self.epilog()?;
        Ok(response)
    }

    /// The `<param>`s of an open `<params>`, through its end tag.
    fn params(&mut self, out: &mut Vec<Value>) -> Result<(), ParseError> {
        loop {
            match self.next_tag()? {
                Tag::Open(El::Param) => {
                    let v = match self.next_tag()? {
                        Tag::Open(El::Value) => self.value_body()?,
                        Tag::Empty(El::Value) => Value::Str(String::new()),
                        other => return Err(self.unexpected(other, "<value>")),
                    };
                    self.close("param")?;
                    out.push(v);
                }
                Tag::Close => return Ok(()),
                other => return Err(self.unexpected(other, "<param> or </params>")),
            }
        }
    }

    /// The content of an open `<value>`, through its end tag.
    fn value_body(&mut self) -> Result<Value, ParseError> {
        let mut text = Cow::Borrowed("");
        loop {
            let (el, empty) = match self.next_ev()? {
                Ev::Text(t) => {
                    append(&mut text, t);
                    continue;
                }
                Ev::Char(c) => {
                    text.to_mut().push(c);
                    continue;
                }
                // untyped: a string
                Ev::Close => return Ok(Value::Str(text.into_owned())),
                Ev::Open(el) => (el, false),
                Ev::Empty(el) => (el, true),
                Ev::Eof => return Err(self.err("document truncated inside <value>")),
            };
            if !is_ws(&text) {
                return Err(self.err(format!("text mixed with <{}> in <value>", el.tag())));
            }
            let v = if empty {
                self.typed_empty(el)?
            } else {
                self.typed(el)?
            };
            self.close("value")?;
            return Ok(v);
        }
    }

    /// The value of an open typed element, through its end tag.
    fn typed(&mut self, el: El) -> Result<Value, ParseError> {
        Ok(match el {
            El::String => Value::Str(self.text(el)?.into_owned()),
            El::Int => {
                let t = self.text(el)?;
                Value::Int(parse_int(&t).map_err(|m| self.err(m))?)
            }
            El::Boolean => {
                let t = self.text(el)?;
                Value::Bool(parse_bool(&t).map_err(|m| self.err(m))?)
            }
            El::Double => {
                let t = self.text(el)?;
                Value::Double(parse_double(&t).map_err(|m| self.err(m))?)
            }
            El::DateTime => Value::DateTime(self.text(el)?.trim().to_owned()),
            El::Base64 => {
                let t = self.text(el)?;
                Value::Base64(decode_base64(&t).map_err(|m| self.err(m))?)
            }
            El::Nil => {
                let t = self.text(el)?;
                if !is_ws(&t) {
                    return Err(self.err("<nil> must be empty"));
                }
                Value::Nil
            }
            El::Array => self.array()?,
            El::Struct => self.structure()?,
            other => return Err(self.err(format!("unexpected <{}> inside <value>", other.tag()))),
        })
    }

    /// The value of a self-closing typed element.
    fn typed_empty(&mut self, el: El) -> Result<Value, ParseError> {
        Ok(match el {
            El::String => Value::Str(String::new()),
            El::Nil => Value::Nil,
            El::Base64 => Value::Base64(Vec::new()),
            El::DateTime => Value::DateTime(String::new()),
            El::Array => Value::Array(Vec::new()),
            El::Struct => Value::Struct(Vec::new()),
            El::Int | El::Boolean | El::Double => {
                return Err(self.err(format!("empty <{}>", el.tag())))
            }
            other => return Err(self.err(format!("unexpected <{}/> inside <value>", other.tag()))),
        })
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(format!(
                "arrays/structs nested deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(())
    }

    /// An open `<array>`, through its end tag. `<data>` may be left out.
    fn array(&mut self) -> Result<Value, ParseError> {
        self.enter()?;
        let mut items = Vec::new();
        match self.next_tag()? {
            Tag::Open(El::Data) => {
                self.values(&mut items)?;
                self.close("array")?;
            }
            Tag::Empty(El::Data) => self.close("array")?,
            Tag::Close => {}
            Tag::Open(El::Value) => {
                items.push(self.value_body()?);
                self.values(&mut items)?;
            }
            Tag::Empty(El::Value) => {
                items.push(Value::Str(String::new()));
                self.values(&mut items)?;
            }
            other => return Err(self.unexpected(other, "<data>")),
        }
        self.depth -= 1;
        Ok(Value::Array(items))
    }

    /// `<value>`s up to the end tag of the enclosing element.
    fn values(&mut self, out: &mut Vec<Value>) -> Result<(), ParseError> {
        loop {
            match self.next_tag()? {
                Tag::Open(El::Value) => out.push(self.value_body()?),
                Tag::Empty(El::Value) => out.push(Value::Str(String::new())),
                Tag::Close => return Ok(()),
                other => return Err(self.unexpected(other, "<value>")),
            }
        }
    }

    /// An open `<struct>`, through its end tag.
    fn structure(&mut self) -> Result<Value, ParseError> {
        self.enter()?;
        let mut members = Vec::new();
        loop {
            match self.next_tag()? {
                Tag::Open(El::Member) => {
                    let name = match self.next_tag()? {
                        Tag::Open(El::Name) => self.text(El::Name)?.into_owned(),
                        Tag::Empty(El::Name) => String::new(),
                        other => return Err(self.unexpected(other, "<name>")),
                    };
                    let value = match self.next_tag()? {
                        Tag::Open(El::Value) => self.value_body()?,
                        Tag::Empty(El::Value) => Value::Str(String::new()),
                        other => return Err(self.unexpected(other, "<value>")),
                    };
                    self.close("member")?;
                    members.push((name, value));
                }
                Tag::Close => break,
                other => return Err(self.unexpected(other, "<member> or </struct>")),
            }
        }
        self.depth -= 1;
        dedup_members(&mut members);
        Ok(Value::Struct(members))
    }
}

fn fault_from(v: Value) -> Result<Response, String> {
    let Value::Struct(members) = v else {
        return Err("<fault> must hold a struct".into());
    };
    let mut code = None;
    let mut message = String::new();
    for (k, v) in members {
        match (k.as_str(), v) {
            ("faultCode", Value::Int(c)) => {
                code = Some(i32::try_from(c).map_err(|_| format!("faultCode {c} out of range"))?)
            }
            ("faultCode", _) => return Err("faultCode must be an int".into()),
            ("faultString", Value::Str(s)) => message = s,
            ("faultString", _) => return Err("faultString must be a string".into()),
            _ => {}
        }
    }
    match code {
        Some(code) => Ok(Response::Fault { code, message }),
        None => Err("fault without faultCode".into()),
    }
}

/// Python's `dict` semantics for repeated names: first position, last value.
fn dedup_members(members: &mut Vec<(String, Value)>) {
    let n = members.len();
    if n < 2 {
        return;
    }
    let has_dup = if n <= 16 {
        (1..n).any(|i| members[..i].iter().any(|(k, _)| *k == members[i].0))
    } else {
        let mut seen = HashSet::with_capacity(n);
        !members.iter().all(|(k, _)| seen.insert(k.as_str()))
    };
    if !has_dup {
        return;
    }
    let old = std::mem::take(members);
    let mut index: HashMap<String, usize> = HashMap::with_capacity(n);
    for (k, v) in old {
        match index.get(&k) {
            Some(&i) => {
                if let Some(slot) = members.get_mut(i) {
                    slot.1 = v;
                }
            }
            None => {
                index.insert(k.clone(), members.len());
                members.push((k, v));
            }
        }
    }
}

fn resolve_ref<'a>(r: &BytesRef<'a>) -> Result<Ev<'a>, String> {
    if r.is_char_ref() {
        return match r.resolve_char_ref() {
            Ok(Some(c)) => Ok(Ev::Char(c)),
            _ => Err(format!(
                "bad character reference &{};",
                clip(&String::from_utf8_lossy(r))
            )),
        };
    }
    Ok(Ev::Text(Cow::Borrowed(match &**r {
        b"amp" => "&",
        b"lt" => "<",
        b"gt" => ">",
        b"quot" => "\"",
        b"apos" => "'",
        other => {
            return Err(format!(
                "undefined entity &{};",
                clip(&String::from_utf8_lossy(other))
            ))
        }
    })))
}

fn append<'a>(acc: &mut Cow<'a, str>, t: Cow<'a, str>) {
    if acc.is_empty() {
        *acc = t;
    } else {
        acc.to_mut().push_str(&t);
    }
}

fn is_ws_byte(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn is_ws_char(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn is_ws(s: &str) -> bool {
    s.bytes().all(is_ws_byte)
}

/// A bounded excerpt of untrusted text for error messages.
fn clip(s: &str) -> &str {
    match s.char_indices().nth(40) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn parse_int(t: &str) -> Result<i64, String> {
    t.trim()
        .parse::<i64>()
        .map_err(|_| format!("bad int value {:?}", clip(t)))
}

fn parse_bool(t: &str) -> Result<bool, String> {
    match t.trim() {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(format!("bad boolean value {:?}", clip(t))),
    }
}

fn parse_double(t: &str) -> Result<f64, String> {
    t.trim()
        .parse::<f64>()
        .map_err(|_| format!("bad double value {:?}", clip(t)))
}

fn decode_base64(t: &str) -> Result<Vec<u8>, String> {
    let result = if t.bytes().any(|b| b.is_ascii_whitespace()) {
        let compact: Vec<u8> = t.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        B64.decode(compact)
    } else {
        B64.decode(t)
    };
    result.map_err(|e| format!("bad base64 data: {e}"))
}
