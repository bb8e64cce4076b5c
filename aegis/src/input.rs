//! What the input types `#[crud_module]` generates (`BudgetCreate`,
//! `BudgetUpdate`) deserialize with.
//!
//! serde's derive writes, for every struct, a field enum, its visitor (by
//! name, by bytes, by index), and a visitor for maps and for sequences.
//! For two input types per module that was most of what the macro cost the
//! compiler. When every input field is plain (serde's `rename`, `default`
//! and serialize-only attributes at most), the macro writes one map
//! visitor instead, which finds keys and fills missing ones with these
//! shared functions, so each is compiled once rather than once per struct.
//! The JSON read is the same, and so are the errors: unknown keys are
//! ignored, a repeated key is a `duplicate field`, a missing one a `missing
//! field` unless its type is an `Option` or it has a `default`.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::forward_to_deserialize_any;

/// Reads a map's key as its index among `fields` (the JSON names, in
/// order), or `fields.len()` for a key of no field.
#[derive(Clone, Copy, Debug)]
pub struct Key(pub &'static [&'static str]);

impl<'de> DeserializeSeed<'de> for Key {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl Visitor<'_> for Key {
    type Value = usize;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("field identifier")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<usize, E> {
        Ok(self
            .0
            .iter()
            .position(|field| *field == key)
            .unwrap_or(self.0.len()))
    }

    fn visit_bytes<E: de::Error>(self, key: &[u8]) -> Result<usize, E> {
        Ok(self
            .0
            .iter()
            .position(|field| field.as_bytes() == key)
            .unwrap_or(self.0.len()))
    }
}

/// Reads the value of the key just read into `slot`; a second value for
/// the same key is an error, as serde's derive makes it.
pub fn value<'de, T, A>(
    map: &mut A,
    slot: &mut Option<T>,
    name: &'static str,
) -> Result<(), A::Error>
where
    T: de::Deserialize<'de>,
    A: MapAccess<'de>,
{
    if slot.is_some() {
        return Err(de::Error::duplicate_field(name));
    }
    *slot = Some(map.next_value()?);
    Ok(())
}

/// Reads and drops the value of a key no field has.
pub fn skip<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<IgnoredAny>().map(drop)
}

/// The value read for field `name`, or, when its key was missing, what
/// serde's derive takes: `None` for an `Option`, else `missing field`.
pub fn take<'de, T, E>(slot: Option<T>, name: &'static str) -> Result<T, E>
where
    T: de::Deserialize<'de>,
    E: de::Error,
{
    match slot {
        Some(value) => Ok(value),
        None => T::deserialize(Missing(name, PhantomData)),
    }
}

/// What a missing key reads as: nothing for an `Option`, else an error.
struct Missing<E>(&'static str, PhantomData<E>);

impl<'de, E: de::Error> Deserializer<'de> for Missing<E> {
    type Error = E;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, E> {
        Err(de::Error::missing_field(self.0))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        visitor.visit_none()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}
