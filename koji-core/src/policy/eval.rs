//! Applying a rule set to policy data.

use super::env::PolicyEnv;
use super::handlers::Test;
use super::parse::{Action, Rule, RuleSet};
use super::Policies;
use crate::error::{Error, Result};
use serde_json::Value as Json;
use std::future::Future;
use std::pin::Pin;

/// What applying a rule set gave: the action of the first matching rule
/// (`None`: no rule matched) and upstream's `last_rule` text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub action: Option<String>,
    /// The matched rule's chain (`head:: ... inner:: action`), or
    /// `(no match)` in place of the action.
    pub last_rule: String,
}

type BoxFut<'s, T> = Pin<Box<dyn Future<Output = T> + Send + 's>>;

/// One evaluation: the policies a `policy` test may call, where facts come
/// from, and the `policy` tests now running (for loop detection).
pub(crate) struct Eval<'a> {
    pub policies: &'a Policies,
    pub env: &'a dyn PolicyEnv,
    /// Addresses of the running `policy` tests (each occurrence in a
    /// policy is its own instance, as upstream's loop detection has it).
    running: Vec<usize>,
}

impl<'a> Eval<'a> {
    pub fn new(policies: &'a Policies, env: &'a dyn PolicyEnv) -> Self {
        Eval {
            policies,
            env,
            running: vec![],
        }
    }

    /// Upstream's `SimpleRuleSet.apply`.
    pub async fn apply(&mut self, set: &'a RuleSet, data: &Json) -> Result<Outcome> {
        let mut trail: Vec<&'a Rule> = vec![];
        let action = self.apply_rules(&set.rules, data, true, &mut trail).await?;
        let mut last_rule = trail
            .iter()
            .map(|r| r.head())
            .collect::<Vec<_>>()
            .join("... ");
        last_rule.push_str(action.unwrap_or("(no match)"));
        Ok(Outcome {
            action: action.map(str::to_string),
            last_rule,
        })
    }

    /// The `policy NAME` test: applies policy `name` unless `test` is
    /// already running (a loop).
    pub async fn apply_nested(
        &mut self,
        test: &'a Test,
        name: &str,
        data: &Json,
    ) -> Result<Option<String>> {
        let key = test as *const Test as usize;
        if self.running.contains(&key) {
            return Err(Error::Generic(format!(
                "encountered policy loop at {}",
                test.text
            )));
        }
        let set = self
            .policies
            .get(name)
            .ok_or_else(|| Error::Generic(format!("no such policy: {name}")))?;
        self.running.push(key);
        let out = self.apply_boxed(set, data).await;
        self.running.retain(|k| *k != key);
        Ok(out?.action)
    }

    fn apply_boxed<'s>(
        &'s mut self,
        set: &'a RuleSet,
        data: &'s Json,
    ) -> BoxFut<'s, Result<Outcome>>
    where
        'a: 's,
    {
        Box::pin(self.apply(set, data))
    }

    /// Upstream's `_apply`: the first rule whose tests all pass (or, for
    /// `!!`, do not all pass) gives its action; a block is tried in turn
    /// and, when nothing in it matches, the search goes on after it.
    fn apply_rules<'s>(
        &'s mut self,
        rules: &'a [Rule],
        data: &'s Json,
        top: bool,
        trail: &'s mut Vec<&'a Rule>,
    ) -> BoxFut<'s, Result<Option<&'a str>>>
    where
        'a: 's,
    {
        Box::pin(async move {
            for rule in rules {
                if top {
                    trail.clear();
                }
                let mut value = true;
                for test in &rule.tests {
                    if !test.run(self, data).await? {
                        value = false;
                        break;
                    }
                }
                if rule.negate {
                    value = !value;
                }
                if !value {
                    continue;
                }
                trail.push(rule);
                match &rule.action {
                    Action::Result(a) => return Ok(Some(a.as_str())),
                    Action::Block(inner) => {
                        if let Some(a) = self.apply_rules(inner, data, false, trail).await? {
                            return Ok(Some(a));
                        }
                    }
                }
            }
            Ok(None)
        })
    }
}
