//! The hub's rules for names (upstream's `verify_name_internal` and
//! `verify_name_user`), configured by `hub.conf`'s `MaxNameLengthInternal`,
//! `RegexNameInternal` and `RegexUserName`.
//!
//! Names of tags, targets, packages, channels, permissions, groups, hosts,
//! volumes, external repos, archive and build types are "internal" names;
//! user names and Kerberos principals follow the user rule (hosts both).
//! A length of 0 or an empty pattern switches that check off, as upstream.

use super::pyre::Pattern;
use crate::error::{Error, Result};
use serde_json::Value as Json;

/// Upstream's `MaxNameLengthInternal` default.
pub const DEFAULT_MAX_LENGTH: usize = 256;
/// Upstream's `RegexNameInternal` default.
pub const DEFAULT_REGEX_INTERNAL: &str = r"^[A-Za-z0-9/_.+-]+$";
/// Upstream's `RegexUserName` default.
pub const DEFAULT_REGEX_USER: &str = r"^[A-Za-z0-9/_.@-]+$";

/// The configured name rules. Patterns are Python regular expressions
/// applied with `re.match` (see `pyre`).
#[derive(Debug, Clone)]
pub struct NameRules {
    max_length: usize,
    internal: Option<(String, Pattern)>,
    user: Option<(String, Pattern)>,
}

impl Default for NameRules {
    fn default() -> Self {
        NameRules::new(
            DEFAULT_MAX_LENGTH,
            DEFAULT_REGEX_INTERNAL,
            DEFAULT_REGEX_USER,
        )
        .expect("upstream's default name patterns compile")
    }
}

fn compile(option: &str, pattern: &str) -> Result<Option<(String, Pattern)>> {
    if pattern.is_empty() {
        return Ok(None);
    }
    let p = Pattern::compile(pattern)
        .map_err(|e| Error::Generic(format!("{option} = {pattern}: {e}")))?;
    Ok(Some((pattern.to_owned(), p)))
}

impl NameRules {
    /// Rules from `hub.conf`'s values; a pattern that does not compile is
    /// an error naming the option.
    pub fn new(max_length: usize, regex_internal: &str, regex_user: &str) -> Result<NameRules> {
        Ok(NameRules {
            max_length,
            internal: compile("RegexNameInternal", regex_internal)?,
            user: compile("RegexUserName", regex_user)?,
        })
    }

    /// `MaxNameLengthInternal` (0: no limit).
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// `RegexNameInternal` as configured ("" when off).
    pub fn regex_internal(&self) -> &str {
        self.internal.as_ref().map_or("", |(s, _)| s)
    }

    /// `RegexUserName` as configured ("" when off).
    pub fn regex_user(&self) -> &str {
        self.user.as_ref().map_or("", |(s, _)| s)
    }

    fn too_long(&self, s: &str) -> bool {
        self.max_length != 0 && s.chars().count() > self.max_length
    }

    /// Upstream's `verify_name_internal`. Returns the name.
    pub fn internal<'j>(&self, name: &'j Json) -> Result<&'j str> {
        let Json::String(s) = name else {
            return Err(Error::generic("Name should be string"));
        };
        if self.too_long(s) {
            return Err(Error::Generic(format!(
                "Name {s} is too long. Max length is {} characters",
                self.max_length
            )));
        }
        if let Some((_, re)) = &self.internal {
            if !re.match_start(s)? {
                return Err(Error::Generic(format!(
                    "Name {s} does not match RegexNameInternal value"
                )));
            }
        }
        Ok(s)
    }

    /// Upstream's `verify_name_user(name, krb)`; `Json::Null` means "not
    /// given".
    pub fn user(&self, name: &Json, krb: &Json) -> Result<()> {
        if !name.is_null() && !name.is_string() {
            return Err(Error::generic("Name should be string"));
        }
        if !krb.is_null() && !krb.is_string() {
            return Err(Error::generic("Kerberos principal should be string"));
        }
        let name = name.as_str();
        let krb = krb.as_str();
        if let Some(n) = name.filter(|n| self.too_long(n)) {
            return Err(Error::Generic(format!(
                "Name {n} is too long. Max length is {} characters",
                self.max_length
            )));
        }
        if let Some(k) = krb.filter(|k| self.too_long(k)) {
            return Err(Error::Generic(format!(
                "Kerberos principal {k} is too long. Max length is {} characters",
                self.max_length
            )));
        }
        if let Some((_, re)) = &self.user {
            if let Some(n) = name {
                if !re.match_start(n)? {
                    return Err(Error::Generic(format!(
                        "Name {n} does not match RegexUserName value"
                    )));
                }
            }
            if let Some(k) = krb {
                if !re.match_start(k)? {
                    return Err(Error::Generic(format!(
                        "Kerberos principal {k} does not match RegexUserName value"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Upstream's `verify_host_name`: both rules.
    pub fn host<'j>(&self, name: &'j Json) -> Result<&'j str> {
        let s = self.internal(name)?;
        self.user(name, &Json::Null)?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(r: Result<impl std::fmt::Debug>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn internal_names_follow_upstreams_defaults() {
        let r = NameRules::default();
        assert!(r.internal(&json!("f40-build")).is_ok());
        assert!(r.internal(&json!("a/b_c.d+e-1")).is_ok());
        // Python's `$` also matches before one final newline
        assert!(r.internal(&json!("x\n")).is_ok());
        assert_eq!(err(r.internal(&json!(5))), "Name should be string");
        assert_eq!(
            err(r.internal(&json!("bad name"))),
            "Name bad name does not match RegexNameInternal value"
        );
        assert!(r.internal(&json!("")).is_err());
        let long = "x".repeat(257);
        assert_eq!(
            err(r.internal(&json!(long))),
            format!("Name {long} is too long. Max length is 256 characters")
        );
    }

    #[test]
    fn user_names_follow_upstreams_defaults() {
        let r = NameRules::default();
        assert!(r.user(&json!("alice"), &json!("alice@EXAMPLE.COM")).is_ok());
        assert!(r.user(&Json::Null, &Json::Null).is_ok());
        assert!(r.user(&json!("x\n"), &Json::Null).is_ok());
        assert_eq!(
            err(r.user(&json!("a b"), &Json::Null)),
            "Name a b does not match RegexUserName value"
        );
        assert_eq!(
            err(r.user(&json!(""), &Json::Null)),
            "Name  does not match RegexUserName value"
        );
        assert_eq!(
            err(r.user(&Json::Null, &json!("x y"))),
            "Kerberos principal x y does not match RegexUserName value"
        );
        assert_eq!(err(r.user(&json!(5), &Json::Null)), "Name should be string");
        assert_eq!(
            err(r.user(&Json::Null, &json!([1]))),
            "Kerberos principal should be string"
        );
        let long = "a".repeat(257);
        assert_eq!(
            err(r.user(&json!(long), &Json::Null)),
            format!("Name {long} is too long. Max length is 256 characters")
        );
        // a host name must pass both: `@` is a user character only
        assert_eq!(
            err(r.host(&json!("a@b"))),
            "Name a@b does not match RegexNameInternal value"
        );
        assert_eq!(
            err(r.host(&json!("a+b"))),
            "Name a+b does not match RegexUserName value"
        );
    }

    #[test]
    fn configured_rules_replace_the_defaults() {
        let r = NameRules::new(8, r"^[a-z][a-z0-9-]*$", "^[a-z]+$").unwrap();
        assert!(r.internal(&json!("f40-x")).is_ok());
        assert!(r.internal(&json!("F40")).is_err());
        assert_eq!(
            err(r.internal(&json!("abcdefghi"))),
            "Name abcdefghi is too long. Max length is 8 characters"
        );
        assert!(r.user(&json!("al1"), &Json::Null).is_err());
        // re.match: a pattern without `$` needs only a matching prefix
        let r = NameRules::new(0, "[a-z]", "").unwrap();
        assert!(r.internal(&json!("a b c")).is_ok());
        assert!(r.internal(&json!(" a")).is_err());
        // 0 and "" switch the checks off
        assert!(r.internal(&json!("x".repeat(1000))).is_ok());
        assert!(r.user(&json!("any thing!"), &json!("x y")).is_ok());
        assert_eq!(r.regex_user(), "");
        assert_eq!(r.regex_internal(), "[a-z]");
        assert!(NameRules::new(1, "(", "")
            .unwrap_err()
            .to_string()
            .starts_with("RegexNameInternal = (:"));
    }
}
