//! Selection rules: which lines are retained.

use crate::error::ConfigError;

/// How a rule compares the string value found at its key path.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Matcher {
    /// The value equals one of these strings.
    Equals(Vec<String>),
    /// The value contains one of these substrings.
    Contains(Vec<String>),
}

/// One selection rule: a key path and a [`Matcher`].
///
/// The path names object keys from the top-level object, separated by dots: `type` is the
/// top-level key `type`, `item.type` is the key `type` of the object under the top-level key
/// `item`. (A key that itself contains a dot cannot be named.) The rule matches when the value
/// at that path is a JSON string whose *unescaped* text satisfies the matcher; a value of any
/// other JSON type never matches. With duplicate keys the first occurrence counts.
///
/// # Example
///
/// ```
/// use spoolscan::Rule;
///
/// let rule = Rule::equals("item.type", ["agent_message"]).unwrap();
/// assert_eq!(rule.path(), ["item", "type"]);
/// assert!(Rule::equals("item..type", ["x"]).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    path: Vec<String>,
    matcher: Matcher,
}

impl Rule {
    /// A rule that matches when the value at `path` equals one of `values`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::BadPath`] when the path is empty or has an empty segment, and
    /// [`ConfigError::NoValues`] when `values` is empty.
    pub fn equals<I, S>(path: &str, values: I) -> Result<Rule, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Rule::new(
            path,
            Matcher::Equals(values.into_iter().map(Into::into).collect()),
        )
    }

    /// A rule that matches when the value at `path` contains one of `substrings`.
    ///
    /// # Errors
    ///
    /// As [`Rule::equals`].
    pub fn contains<I, S>(path: &str, substrings: I) -> Result<Rule, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Rule::new(
            path,
            Matcher::Contains(substrings.into_iter().map(Into::into).collect()),
        )
    }

    /// A rule from a path and a matcher.
    ///
    /// # Errors
    ///
    /// As [`Rule::equals`].
    pub fn new(path: &str, matcher: Matcher) -> Result<Rule, ConfigError> {
        let segments: Vec<String> = path.split('.').map(str::to_owned).collect();
        if segments.iter().any(String::is_empty) {
            return Err(ConfigError::BadPath {
                path: path.to_owned(),
            });
        }
        let n = match &matcher {
            Matcher::Equals(v) | Matcher::Contains(v) => v.len(),
        };
        if n == 0 {
            return Err(ConfigError::NoValues {
                path: path.to_owned(),
            });
        }
        Ok(Rule {
            path: segments,
            matcher,
        })
    }

    /// The key path, one key per element.
    pub fn path(&self) -> &[String] {
        &self.path
    }

    /// The matcher.
    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }
}

/// A list of rules, OR-ed: a line is retained when any rule matches.
///
/// An empty selector retains every non-blank line.
///
/// # Example
///
/// ```
/// use spoolscan::Selector;
///
/// let sel = Selector::new()
///     .equals("type", ["turn.completed", "error", "turn.failed"])?
///     .equals("item.type", ["agent_message"])?;
/// assert_eq!(sel.rules().len(), 2);
/// # Ok::<(), spoolscan::ConfigError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector {
    rules: Vec<Rule>,
}

impl Selector {
    /// An empty selector (retains every non-blank line).
    pub fn new() -> Selector {
        Selector::default()
    }

    /// Adds a rule.
    pub fn rule(mut self, rule: Rule) -> Selector {
        self.rules.push(rule);
        self
    }

    /// Adds an [`Matcher::Equals`] rule; see [`Rule::equals`].
    ///
    /// # Errors
    ///
    /// As [`Rule::equals`].
    pub fn equals<I, S>(self, path: &str, values: I) -> Result<Selector, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Ok(self.rule(Rule::equals(path, values)?))
    }

    /// Adds a [`Matcher::Contains`] rule; see [`Rule::contains`].
    ///
    /// # Errors
    ///
    /// As [`Rule::equals`].
    pub fn contains<I, S>(self, path: &str, substrings: I) -> Result<Selector, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Ok(self.rule(Rule::contains(path, substrings)?))
    }

    /// The rules, in the order they were added.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// True when there are no rules (every non-blank line is retained).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

impl FromIterator<Rule> for Selector {
    fn from_iter<T: IntoIterator<Item = Rule>>(iter: T) -> Selector {
        Selector {
            rules: iter.into_iter().collect(),
        }
    }
}
