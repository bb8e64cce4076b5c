//! Problems found while reading a module, with where they are.
//!
//! A module comes from Rust source (tokens with spans) or from modules.toml
//! (byte ranges in the manifest). Both kinds of location live in one
//! [`Location`], so lowering and validation are written once; the macro turns
//! diagnostics into `compile_error!`s and the generator into file:line:column.

use std::fmt;
use std::ops::Range;

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;

/// Where a problem is.
#[derive(Clone, Debug)]
pub enum Location {
    /// Tokens in Rust source, from the first to the last token of the node.
    Tokens { start: Span, end: Span },
    /// A byte range in the modules.toml being read.
    Manifest(Range<usize>),
}

impl Location {
    /// The location of a syntax node, spanning all of its tokens.
    pub fn of(node: &impl ToTokens) -> Self {
        let mut tokens = node.to_token_stream().into_iter();
        let start = tokens.next().map_or_else(Span::call_site, |t| t.span());
        let end = tokens.last().map_or(start, |t| t.span());
        Location::Tokens { start, end }
    }

    /// The location of one span.
    pub fn span(span: Span) -> Self {
        Location::Tokens {
            start: span,
            end: span,
        }
    }

    /// The first span of a token location, if this is one.
    pub fn start_span(&self) -> Option<Span> {
        match self {
            Location::Tokens { start, .. } => Some(*start),
            Location::Manifest(_) => None,
        }
    }
}

/// One problem: a message and where it is.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub location: Location,
    pub message: String,
}

impl Diagnostic {
    pub fn new(location: Location, message: impl fmt::Display) -> Self {
        Diagnostic {
            location,
            message: message.to_string(),
        }
    }

    /// A `syn::Error` covering this problem's tokens (the call site for
    /// manifest locations, which have no tokens).
    pub fn to_syn_error(&self) -> syn::Error {
        match &self.location {
            Location::Tokens { start, end } => {
                // syn spans an error from the first to the last token it is
                // given, which is how a multi-token location is rebuilt.
                let mut tokens = TokenStream::new();
                tokens.extend([
                    TokenTree::Punct(spanned_punct(*start)),
                    TokenTree::Punct(spanned_punct(*end)),
                ]);
                syn::Error::new_spanned(tokens, &self.message)
            }
            Location::Manifest(_) => syn::Error::new(Span::call_site(), &self.message),
        }
    }
}

fn spanned_punct(span: Span) -> proc_macro2::Punct {
    let mut punct = proc_macro2::Punct::new('.', proc_macro2::Spacing::Alone);
    punct.set_span(span);
    punct
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<syn::Error> for Diagnostic {
    fn from(error: syn::Error) -> Self {
        let location = Location::span(error.span());
        Diagnostic::new(location, error)
    }
}

/// Collects every problem of one run, so all are reported together.
#[derive(Debug, Default)]
pub struct Diagnostics {
    found: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn error(&mut self, location: Location, message: impl fmt::Display) {
        self.found.push(Diagnostic::new(location, message));
    }

    /// Records every message of a `syn::Error` (which may hold several).
    pub fn syn_error(&mut self, error: syn::Error) {
        self.found.extend(error.into_iter().map(Diagnostic::from));
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.found.push(diagnostic);
    }

    pub fn extend(&mut self, diagnostics: impl IntoIterator<Item = Diagnostic>) {
        self.found.extend(diagnostics);
    }

    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// `Ok(value)` when nothing was found, else every problem.
    pub fn finish<T>(self, value: T) -> Result<T, Vec<Diagnostic>> {
        if self.found.is_empty() {
            Ok(value)
        } else {
            Err(self.found)
        }
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.found
    }
}

/// Combines diagnostics into one `syn::Error`, for `compile_error!`.
pub fn to_syn_error(diagnostics: &[Diagnostic]) -> syn::Error {
    let mut errors = diagnostics.iter().map(Diagnostic::to_syn_error);
    let mut combined = errors
        .next()
        .unwrap_or_else(|| syn::Error::new(Span::call_site(), "invalid crud_module"));
    for error in errors {
        combined.combine(error);
    }
    combined
}
