//! Generated code written as Rust source text, then lexed into tokens in
//! one call.
//!
//! Proc macros run as the debug build compiled them, without
//! optimisation, and `quote!` makes several calls per token: for the bulk
//! of the expansion (the inputs' serde impls, the `CrudEntity` impl, its
//! `ModuleMeta`) that was most of the macro's own run time. Text is
//! written by the standard library's formatting, which is optimised even
//! then, and the compiler's lexer reads it at once. Whatever must keep a
//! span of the user's code (a field's type, where an error about it
//! points) is still built with `quote!`.

extern crate proc_macro;

use std::fmt::{self, Write};

use proc_macro2::{LexError, TokenStream};
use quote::ToTokens;

/// Appends `format!`-style text to a [`Source`].
macro_rules! emit {
    ($source:expr, $($format:tt)*) => {
        $source.write(format_args!($($format)*))
    };
}
pub(crate) use emit;

/// Rust source being written.
#[derive(Default)]
pub struct Source(String);

impl Source {
    /// Appends formatted text; writing to a `String` cannot fail.
    pub fn write(&mut self, args: fmt::Arguments) {
        let _ = self.0.write_fmt(args);
    }

    pub fn push(&mut self, text: &str) {
        self.0.push_str(text);
    }

    /// The tokens of the source written, with the macro's call-site span.
    pub fn into_tokens(self) -> TokenStream {
        let lexed = if proc_macro::is_available() {
            // The compiler's lexer. `proc_macro2` would first check the
            // text with a lexer of its own, built unoptimised too.
            self.0
                .parse::<proc_macro::TokenStream>()
                .map(TokenStream::from)
                .map_err(|error| error.to_string())
        } else {
            self.0.parse().map_err(|error: LexError| error.to_string())
        };
        lexed.unwrap_or_else(|error| panic!("generated source lexes: {error}\n{}", self.0))
    }
}

/// `text` as a Rust string literal.
pub struct Lit<'a>(pub &'a str);

impl fmt::Display for Lit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        // `str`'s `Debug` is a string literal's syntax: quoted, escaped.
        write!(f, "{:?}", self.0)
    }
}

/// Tokens of the user's code (an identifier, a type, a path) as text.
pub fn rust(tokens: &impl ToTokens) -> String {
    tokens.to_token_stream().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_literal_reads_back_as_the_text_it_was_made_of() {
        for text in ["", "plain", "quote \" back \\ tab \t nl \n", "🦀 é \u{1} '"] {
            let mut source = Source::default();
            emit!(source, "{}", Lit(text));
            let literal: syn::LitStr = syn::parse2(source.into_tokens()).unwrap();
            assert_eq!(literal.value(), text);
        }
    }
}
