//! Binding of upstream-style arguments (positional values plus keyword
//! arguments in a trailing `__starstar` struct) to a method's parameters,
//! with Python's rules and messages for mismatches.

use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value as Json};

/// One declared parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    /// The default value, when the parameter is optional.
    pub default: Option<Json>,
    /// The default as written in upstream's signature (`None`, `False`...).
    pub default_text: Option<String>,
}

/// A method's signature: `name(a, b=None, *args, **kwargs)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub name: String,
    pub params: Vec<Param>,
    pub varargs: Option<String>,
    pub varkw: Option<String>,
}

impl Spec {
    /// Parses `"getTag(tagInfo, strict=False, event=None)"`.
    pub fn parse(sig: &str) -> std::result::Result<Spec, String> {
        let open = sig.find('(').ok_or("missing (")?;
        let name = sig[..open].trim().to_string();
        let inner = sig[open + 1..]
            .trim_end()
            .strip_suffix(')')
            .ok_or("missing )")?;
        let mut spec = Spec {
            name,
            params: vec![],
            varargs: None,
            varkw: None,
        };
        for part in split_top(inner) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            if let Some(kw) = part.strip_prefix("**") {
                spec.varkw = Some(kw.to_string());
            } else if let Some(va) = part.strip_prefix('*') {
                spec.varargs = Some(va.to_string());
            } else if let Some((n, d)) = part.split_once('=') {
                let d = d.trim();
                spec.params.push(Param {
                    name: n.trim().to_string(),
                    default: Some(python_literal(d)?),
                    default_text: Some(d.to_string()),
                });
            } else {
                spec.params.push(Param {
                    name: part.to_string(),
                    default: None,
                    default_text: None,
                });
            }
        }
        Ok(spec)
    }

    /// Binds XML-RPC parameters (keyword arguments in a trailing struct
    /// marked `__starstar`) to this signature, as Python would.
    pub fn bind(&self, mut params: Vec<Json>) -> Result<Args> {
        let mut kwargs = Map::new();
        if let Some(Json::Object(last)) = params.last() {
            if last.get("__starstar").is_some_and(truthy) {
                if let Some(Json::Object(mut m)) = params.pop() {
                    m.remove("__starstar");
                    kwargs = m;
                }
            }
        }
        let n = &self.name;
        let max = self.params.len();
        let mut values: Vec<Option<Json>> = vec![None; max];
        let mut extra_pos = vec![];
        for (i, v) in params.into_iter().enumerate() {
            if i < max {
                values[i] = Some(v);
            } else {
                extra_pos.push(v);
            }
        }
        if !extra_pos.is_empty() && self.varargs.is_none() {
            let given = max + extra_pos.len();
            let required = self.params.iter().filter(|p| p.default.is_none()).count();
            let takes = if required == max {
                format!("{max} positional argument{}", plural(max))
            } else {
                format!("from {required} to {max} positional arguments")
            };
            return Err(Error::Parameter(format!(
                "{n}() takes {takes} but {given} were given"
            )));
        }
        let mut extra_kw = Map::new();
        for (k, v) in kwargs {
            match self.params.iter().position(|p| p.name == k) {
                Some(i) => {
                    if values[i].is_some() {
                        return Err(Error::Parameter(format!(
                            "{n}() got multiple values for argument '{k}'"
                        )));
                    }
                    values[i] = Some(v);
                }
                None if self.varkw.is_some() => {
                    extra_kw.insert(k, v);
                }
                None => {
                    return Err(Error::Parameter(format!(
                        "{n}() got an unexpected keyword argument '{k}'"
                    )))
                }
            }
        }
        let missing: Vec<&str> = self
            .params
            .iter()
            .zip(&values)
            .filter(|(p, v)| v.is_none() && p.default.is_none())
            .map(|(p, _)| p.name.as_str())
            .collect();
        if !missing.is_empty() {
            let names: Vec<String> = missing.iter().map(|m| format!("'{m}'")).collect();
            let list = match names.len() {
                1 => names[0].clone(),
                2 => format!("{} and {}", names[0], names[1]),
                _ => format!(
                    "{}, and {}",
                    names[..names.len() - 1].join(", "),
                    names[names.len() - 1]
                ),
            };
            return Err(Error::Parameter(format!(
                "{n}() missing {} required positional argument{}: {list}",
                missing.len(),
                plural(missing.len())
            )));
        }
        let mut bound = Map::new();
        for (p, v) in self.params.iter().zip(values) {
            bound.insert(
                p.name.clone(),
                v.or_else(|| p.default.clone()).unwrap_or(Json::Null),
            );
        }
        Ok(Args {
            method: self.name.clone(),
            bound,
            varargs: extra_pos,
            kwargs: extra_kw,
        })
    }

    /// `(a, b=None)`, as upstream's `argdesc`.
    pub fn argdesc(&self) -> String {
        let mut parts: Vec<String> = self
            .params
            .iter()
            .map(|p| match &p.default_text {
                Some(d) => format!("{}={}", p.name, d),
                None => p.name.clone(),
            })
            .collect();
        if let Some(v) = &self.varargs {
            parts.push(format!("*{v}"));
        }
        if let Some(k) = &self.varkw {
            parts.push(format!("**{k}"));
        }
        format!("({})", parts.join(", "))
    }

    /// Python's `getfullargspec` tuple, as upstream's `_listapi` returns it.
    pub fn argspec(&self) -> Json {
        let args: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
        let defaults: Vec<Json> = self
            .params
            .iter()
            .filter_map(|p| p.default.clone())
            .collect();
        json!([
            args,
            self.varargs,
            self.varkw,
            if defaults.is_empty() {
                Json::Null
            } else {
                Json::Array(defaults)
            },
            [],
            null,
            {}
        ])
    }

    /// `_listapi`'s `args`: names, or `[name, default]` pairs.
    pub fn args_list(&self) -> Json {
        Json::Array(
            self.params
                .iter()
                .map(|p| match &p.default {
                    Some(d) => json!([p.name, d]),
                    None => json!(p.name),
                })
                .collect(),
        )
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Python truthiness of a JSON value.
pub fn truthy(v: &Json) -> bool {
    match v {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Json::String(s) => !s.is_empty(),
        Json::Array(a) => !a.is_empty(),
        Json::Object(o) => !o.is_empty(),
    }
}

fn split_top(s: &str) -> Vec<&str> {
    let mut out = vec![];
    let (mut depth, mut start, mut quote) = (0i32, 0usize, None::<char>);
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn python_literal(s: &str) -> std::result::Result<Json, String> {
    Ok(match s {
        "None" => Json::Null,
        "True" => Json::Bool(true),
        "False" => Json::Bool(false),
        "[]" | "()" => json!([]),
        "{}" => json!({}),
        _ => {
            if let Ok(i) = s.parse::<i64>() {
                json!(i)
            } else if let Ok(f) = s.parse::<f64>() {
                json!(f)
            } else if (s.starts_with('\'') && s.ends_with('\''))
                || (s.starts_with('"') && s.ends_with('"'))
            {
                Json::from(&s[1..s.len() - 1])
            } else {
                return Err(format!("unsupported default {s}"));
            }
        }
    })
}

/// Arguments bound to a method's parameters.
#[derive(Debug, Clone)]
pub struct Args {
    method: String,
    bound: Map<String, Json>,
    /// Positional values beyond the declared parameters (`*args`).
    pub varargs: Vec<Json>,
    /// Keyword values not declared (`**kwargs`).
    pub kwargs: Map<String, Json>,
}

impl Args {
    /// Every declared parameter's value (given or default), by name.
    pub fn into_map(self) -> Map<String, Json> {
        self.bound
    }

    /// The raw value of parameter `name` (its default when not given).
    pub fn raw(&self, name: &str) -> &Json {
        self.bound.get(name).unwrap_or(&Json::Null)
    }

    /// Parameter `name` decoded as `T`; a type mismatch is a ParameterError.
    pub fn get<T: DeserializeOwned>(&self, name: &str) -> Result<T> {
        serde_json::from_value(self.raw(name).clone()).map_err(|e| {
            Error::Parameter(format!("{}(): invalid value for {name}: {e}", self.method))
        })
    }

    /// Python truthiness of parameter `name`.
    pub fn flag(&self, name: &str) -> bool {
        truthy(self.raw(name))
    }

    /// An integer parameter that may arrive as a string (upstream's
    /// `convert_value(..., cast=int)`).
    pub fn opt_int(&self, name: &str) -> Result<Option<i64>> {
        match self.raw(name) {
            Json::Null => Ok(None),
            Json::Number(n) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| Error::Parameter(format!("Invalid type for value '{n}': float"))),
            Json::String(s) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| Error::Parameter(format!("Invalid type for value '{s}': str"))),
            Json::Bool(b) => Ok(Some(*b as i64)),
            other => Err(Error::Parameter(format!(
                "Invalid type for value '{other}': {}",
                py_type(other)
            ))),
        }
    }
}

/// The Python type name of a JSON value (for messages).
pub fn py_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "NoneType",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::String(_) => "str",
        Json::Array(_) => "list",
        Json::Object(_) => "dict",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        Spec::parse("getTag(tagInfo, strict=False, event=None, blocked=False)").unwrap()
    }

    #[test]
    fn parses_signatures_with_defaults_and_stars() {
        let s = Spec::parse("call(a, b='x', c=[], *args, **kw)").unwrap();
        assert_eq!(s.name, "call");
        assert_eq!(s.params.len(), 3);
        assert_eq!(s.params[1].default, Some(json!("x")));
        assert_eq!(s.varargs.as_deref(), Some("args"));
        assert_eq!(s.varkw.as_deref(), Some("kw"));
        assert_eq!(s.argdesc(), "(a, b='x', c=[], *args, **kw)");
    }

    #[test]
    fn binds_positional_keyword_and_defaults() {
        let a = spec()
            .bind(vec![json!("f40"), json!({"__starstar": true, "event": 5})])
            .unwrap();
        assert_eq!(a.raw("tagInfo"), &json!("f40"));
        assert_eq!(a.get::<Option<i64>>("event").unwrap(), Some(5));
        assert!(!a.flag("strict"));
    }

    #[test]
    fn mismatches_read_like_python() {
        let e = spec().bind(vec![]).unwrap_err();
        assert_eq!(e.fault_code(), 1019);
        assert_eq!(
            e.to_string(),
            "getTag() missing 1 required positional argument: 'tagInfo'"
        );
        let e = spec().bind(vec![json!(1); 5]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "getTag() takes from 1 to 4 positional arguments but 5 were given"
        );
        let e = spec()
            .bind(vec![json!(1), json!({"__starstar": true, "bogus": 1})])
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "getTag() got an unexpected keyword argument 'bogus'"
        );
        let e = spec()
            .bind(vec![json!(1), json!({"__starstar": true, "tagInfo": 1})])
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "getTag() got multiple values for argument 'tagInfo'"
        );
    }

    #[test]
    fn a_plain_trailing_struct_is_positional() {
        let s = Spec::parse("echo(*args)").unwrap();
        let a = s.bind(vec![json!({"x": 1})]).unwrap();
        assert_eq!(a.varargs, vec![json!({"x": 1})]);
    }
}
