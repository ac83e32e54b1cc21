//! Dynamic SQL with `$N` parameters, which both backends accept through the `Any` driver
//! (sqlx's `QueryBuilder` writes the placeholder of the `Any` arguments, not of the backend).

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe};

/// A bound value.
#[derive(Debug, Clone)]
pub enum Arg {
    /// An integer.
    Int(i64),
    /// A text.
    Text(String),
    /// A NULL text.
    NullText,
}

/// A query being built.
#[derive(Debug, Default, Clone)]
pub struct Sql {
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    /// Start with `text`.
    pub fn new(text: &str) -> Sql {
        Sql {
            text: text.to_owned(),
            args: Vec::new(),
        }
    }

    /// Append SQL text.
    pub fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// Append a parameter placeholder bound to `arg`.
    pub fn bind(&mut self, arg: Arg) -> &mut Sql {
        self.args.push(arg);
        self.text.push_str(&format!("${}", self.args.len()));
        self
    }

    /// Append `IN ($a, $b, …)` for a non-empty list of texts.
    pub fn bind_texts(&mut self, values: &[String]) -> &mut Sql {
        self.text.push_str(" IN (");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(Arg::Text(v.clone()));
        }
        self.text.push(')');
        self
    }

    /// Append `IN ($a, $b, …)` for a non-empty list of integers.
    pub fn bind_ints(&mut self, values: &[i64]) -> &mut Sql {
        self.text.push_str(" IN (");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(Arg::Int(*v));
        }
        self.text.push(')');
        self
    }

    /// The same query with `prefix` in front (its parameters keep their numbers).
    pub fn prefixed(&self, prefix: &str) -> Sql {
        Sql {
            text: format!("{prefix}{}", self.text),
            args: self.args.clone(),
        }
    }

    /// A query whose text `build` makes around this one's (which it may embed more than
    /// once: `$N` names the same parameter wherever it stands), with the same parameters.
    pub fn wrapped(&self, build: impl FnOnce(&str) -> String) -> Sql {
        Sql {
            text: build(&self.text),
            args: self.args.clone(),
        }
    }

    /// The statement and its arguments, as one string (a cache key).
    pub fn fingerprint(&self) -> String {
        format!("{}\u{0}{:?}", self.text, self.args)
    }

    /// The text so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The query, ready to run.
    pub fn query(&self) -> Query<'_, Any, AnyArguments> {
        let mut q = sqlx::query(AssertSqlSafe(self.text.as_str()));
        for arg in &self.args {
            q = match arg {
                Arg::Int(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.as_str()),
                Arg::NullText => q.bind(None::<String>),
            };
        }
        q
    }
}

/// `%text%` for `LIKE … ESCAPE '\'`, with `%`, `_` and `\` in `text` taken literally.
pub fn contains_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}
