//! Validation rules at run time: each field's [`Rules`], checked on what a
//! client sends (REST create and update, each CSV row). The generated front
//! end's validators (`rules.ts`) give the same verdict and the same message
//! for every value; a corpus shared by both test suites proves it.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};

use regex::Regex;
use serde::Serialize;
use serde_json::Value;

use crate::entity::{CrudEntity, RuleValue, Rules};
use crate::error::Error;
use crate::protocol::FieldError;

impl Rules {
    pub fn is_empty(&self) -> bool {
        *self == Rules::NONE
    }

    /// Why `value` breaks these rules (the first rule it breaks, in the
    /// order of the fields above), or `None` when it keeps them all.
    pub fn violation(&self, value: &Value) -> Option<String> {
        match value {
            Value::Number(number) => number.as_f64().and_then(|n| self.number_violation(n)),
            Value::String(text) => self.text_violation(text),
            _ => None,
        }
    }

    fn number_violation(&self, n: f64) -> Option<String> {
        if let Some(min) = self.min.filter(|min| n < *min) {
            return Some(format!("must be at least {}", number_text(min)));
        }
        if let Some(max) = self.max.filter(|max| n > *max) {
            return Some(format!("must be at most {}", number_text(max)));
        }
        let allowed = |v: &RuleValue| matches!(v, RuleValue::Number(m) if *m == n);
        if !self.one_of.is_empty() && !self.one_of.iter().any(allowed) {
            return Some(self.one_of_message());
        }
        None
    }

    fn text_violation(&self, text: &str) -> Option<String> {
        let length = text.chars().count();
        if let Some(min) = self.min_length.filter(|min| length < *min as usize) {
            return Some(format!("must be at least {}", characters(min)));
        }
        if let Some(max) = self.max_length.filter(|max| length > *max as usize) {
            return Some(format!("must be at most {}", characters(max)));
        }
        if let Some(pattern) = self.pattern {
            match whole_match(pattern) {
                Some(regex) if regex.is_match(text) => {}
                Some(_) => return Some(format!("must match the pattern {pattern}")),
                None => return Some(format!("has a pattern the server cannot read: {pattern}")),
            }
        }
        if self.email && !EMAIL.is_match(text) {
            return Some("must be an email address".to_owned());
        }
        if self.url && !is_web_url(text) {
            return Some("must be a web address starting with http:// or https://".to_owned());
        }
        let allowed = |v: &RuleValue| matches!(v, RuleValue::Text(t) if *t == text);
        if !self.one_of.is_empty() && !self.one_of.iter().any(allowed) {
            return Some(self.one_of_message());
        }
        None
    }

    fn one_of_message(&self) -> String {
        let values: Vec<String> = self
            .one_of
            .iter()
            .map(|v| match v {
                RuleValue::Text(t) => (*t).to_owned(),
                RuleValue::Number(n) => number_text(*n),
            })
            .collect();
        format!("must be one of {}", values.join(", "))
    }
}

/// An email address as the HTML standard's `type=email` input accepts it.
pub const EMAIL_PATTERN: &str = "^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$";

static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(EMAIL_PATTERN).expect("the email pattern parses"));

/// Patterns compiled once each, anchored at both ends.
static PATTERNS: LazyLock<Mutex<HashMap<&'static str, Option<Regex>>>> =
    LazyLock::new(Mutex::default);

fn whole_match(pattern: &'static str) -> Option<Regex> {
    let mut patterns = PATTERNS.lock().unwrap_or_else(PoisonError::into_inner);
    patterns
        .entry(pattern)
        .or_insert_with(|| Regex::new(&format!("^(?:{pattern})$")).ok())
        .clone()
}

fn is_web_url(text: &str) -> bool {
    url::Url::parse(text)
        .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
}

/// A number as JavaScript's `String(n)` writes it, for the values rules
/// hold (whole numbers without a fraction).
fn number_text(n: f64) -> String {
    format!("{n}")
}

fn characters(n: u32) -> String {
    if n == 1 {
        "1 character".to_owned()
    } else {
        format!("{n} characters")
    }
}

/// Every field of `input` that breaks its rules, or `Ok` when none does.
pub(crate) fn field_errors<T: CrudEntity>(input: &impl Serialize) -> Vec<FieldError> {
    let ruled: Vec<_> = T::meta()
        .fields
        .iter()
        .filter(|f| !f.rules.is_empty() || f.many.is_some())
        .collect();
    if ruled.is_empty() {
        return Vec::new();
    }
    let Ok(object) = crate::rows::to_object(input) else {
        return Vec::new();
    };
    ruled
        .into_iter()
        .filter_map(|field| {
            let value = object.get(field.wire_name)?;
            let broken = match field.many {
                Some(_) => crate::links::violation(value),
                None => field.rules.violation(value),
            };
            broken.map(|message| FieldError {
                field: field.wire_name.to_owned(),
                message,
            })
        })
        .collect()
}

/// A 422 listing every field of `input` that breaks its rules.
pub(crate) fn check<T: CrudEntity>(input: &impl Serialize) -> Result<(), Error> {
    let fields = field_errors::<T>(input);
    if fields.is_empty() {
        return Ok(());
    }
    Err(Error::fields(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_broken_rule_speaks() {
        let rules = Rules {
            min_length: Some(2),
            max_length: Some(5),
            email: true,
            ..Rules::NONE
        };
        assert_eq!(
            rules.violation(&Value::from("a")).as_deref(),
            Some("must be at least 2 characters")
        );
        assert_eq!(
            rules.violation(&Value::from("abcdef")).as_deref(),
            Some("must be at most 5 characters")
        );
        assert_eq!(
            rules.violation(&Value::from("abc")).as_deref(),
            Some("must be an email address")
        );
        assert_eq!(rules.violation(&Value::from("a@b.c")), None);
        assert_eq!(rules.violation(&Value::Null), None);
        assert!(Rules::NONE.is_empty() && !rules.is_empty());
    }
}
