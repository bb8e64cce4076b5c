//! What can stop a generation run. Every problem in the inputs is
//! collected first, so one run reports them all, each with file, line and
//! column.

use std::fmt;
use std::path::PathBuf;

/// One problem in an input file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

#[derive(thiserror::Error)]
pub enum Error {
    /// The inputs have mistakes; all of them are listed.
    #[error("{}", list_problems(.0))]
    Invalid(Vec<Problem>),
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("template `{name}`: {message}")]
    Template { name: String, message: String },
    /// Check mode found generated files that differ from what the inputs
    /// give.
    #[error(
        "{} generated file(s) under `{}` are out of date; run `cargo build` without AEGIS_CHECK \
         and commit the result:\n{}",
        .files.len(),
        .web_root.display(),
        .files.iter().map(|d| format!("  {d}")).collect::<Vec<_>>().join("\n")
    )]
    Drifted {
        web_root: PathBuf,
        files: Vec<Drift>,
    },
    #[error("{0}")]
    Config(String),
}

/// The message, so that a build script's `main` returning this error
/// prints the problems as they read, not the enum's structure.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// One generated file that is not what it should be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Drift {
    Missing(PathBuf),
    Changed(PathBuf),
    Stale(PathBuf),
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Drift::Missing(path) => write!(f, "missing: {}", path.display()),
            Drift::Changed(path) => write!(f, "changed: {}", path.display()),
            Drift::Stale(path) => write!(f, "stale (no module renders it): {}", path.display()),
        }
    }
}

fn list_problems(problems: &[Problem]) -> String {
    let mut out = format!(
        "{} problem(s) in the Aegis module declarations:",
        problems.len()
    );
    for problem in problems {
        out.push_str("\n  ");
        out.push_str(&problem.to_string());
    }
    out
}

impl Error {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
