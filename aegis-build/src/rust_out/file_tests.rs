//! The event tests' files: per file field, a sample of a type it takes
//! (uploaded where a required field's placeholder stands), and a test
//! that a file makes the round trip through the row and that a type the
//! field does not take is refused.

use aegis_model::{Field, FileSpec};
use heck::ToSnakeCase;
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use crate::collect::Unit;

/// Small files of the types the server tells by their first bytes.
const SAMPLES: &[(&str, &str, &[u8])] = &[
    (
        "application/pdf",
        "sample.pdf",
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n",
    ),
    (
        "image/png",
        "sample.png",
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89",
    ),
    (
        "image/jpeg",
        "sample.jpg",
        b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01",
    ),
    ("image/gif", "sample.gif", b"GIF89a\x01\0\x01\0\0\0\0;"),
    ("text/plain", "sample.txt", b"A sample file.\n"),
];

/// A sample file the field takes: (name, bytes), if one of [`SAMPLES`] is.
pub(super) fn sample_file(spec: &FileSpec) -> Option<(&'static str, &'static [u8])> {
    SAMPLES
        .iter()
        .find(|(ty, _, bytes)| {
            (spec.types.is_empty() || spec.types.iter().any(|t| t == ty))
                && bytes.len() as u64 <= spec.max_bytes
        })
        .map(|(_, name, bytes)| (*name, *bytes))
}

/// A sample file the field does not take, if it takes only some types.
fn refused_file(spec: &FileSpec) -> Option<(&'static str, &'static [u8])> {
    if spec.types.is_empty() {
        return None;
    }
    SAMPLES
        .iter()
        .find(|(ty, _, _)| !spec.types.iter().any(|t| t == ty))
        .map(|(_, name, bytes)| (*name, *bytes))
}

/// What a sample input holds where a required file goes.
pub(super) fn placeholder(field: &Field) -> String {
    format!("@@file:{}@@", field.wire_name)
}

/// The required file fields of a module's input, each with the sample
/// uploaded for it.
pub(super) fn required(unit: &Unit) -> Vec<(&Field, &'static str, &'static [u8])> {
    unit.module
        .input_fields()
        .filter(|f| !f.nullable)
        .filter_map(|f| {
            let (name, bytes) = sample_file(f.file.as_ref()?)?;
            Some((f, name, bytes))
        })
        .collect()
}

/// An expression uploading a sample to `field` of `unit` (`app` in scope)
/// and giving what the upload answered.
pub(super) fn upload(unit: &Unit, field: &Field, name: &str, bytes: &[u8]) -> TokenStream {
    let feature = unit.module.names.feature();
    let wire = &field.wire_name;
    let bytes = Literal::byte_string(bytes);
    quote! {{
        let uploaded = app.upload(#feature, #wire, #name, #bytes).await;
        ::core::assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.text);
        uploaded.body
    }}
}

/// Per file field with a sample: a row created with an uploaded file
/// carries it, in the answer and the event, and gives its bytes back;
/// a type the field does not take is refused with a 422.
pub(super) fn files_tests(unit: &Unit) -> TokenStream {
    let feature = unit.module.names.feature();
    let base = format!("/api/{feature}");
    let id_wire = &unit.module.id_field().wire_name;
    let tests = unit.module.input_fields().filter_map(|field| {
        let spec = field.file.as_ref()?;
        let (name, bytes) = sample_file(spec)?;
        let wire = &field.wire_name;
        let test = format_ident!("file_{}_round_trips_and_refuses_other_types", field.ident.to_snake_case());
        let upload = upload(unit, field, name, bytes);
        let expected = Literal::byte_string(bytes);
        let refused = refused_file(spec).map(|(name, bytes)| {
            let bytes = Literal::byte_string(bytes);
            quote! {
                let refused = app.upload(#feature, #wire, #name, #bytes).await;
                ::core::assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.text);
            }
        });
        Some(quote! {
            #[test]
            fn #test() {
                run(async {
                    let app = app().await;
                    let file = #upload;
                    let mut input = create_input();
                    input[#wire] = file.clone();
                    let mut events = app.events();
                    let reply = app.call("POST", #base, Some(&app.admin()), Some(input), &[]).await;
                    ::core::assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
                    ::core::assert_eq!(reply.body[#wire], file);
                    let created = events.try_recv().expect("a created event");
                    ::core::assert_eq!(created.message.data[#wire], file);
                    let id = match &reply.body[#id_wire] {
                        Value::String(text) => text.clone(),
                        other => other.to_string(),
                    };
                    let path = format!("{}/{id}/files/{}", #base, #wire);
                    let got = app.call("GET", &path, Some(&app.admin()), None, &[]).await;
                    ::core::assert_eq!(got.status, StatusCode::OK, "{}", got.text);
                    ::core::assert_eq!(got.bytes.as_slice(), #expected.as_slice());
                    #refused
                });
            }
        })
    });
    quote!(#(#tests)*)
}
