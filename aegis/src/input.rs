//! What the input types `#[crud_module]` generates (`BudgetCreate`,
//! `BudgetUpdate`) deserialize and serialize with.
//!
//! serde's derive writes, for every struct, a field enum, its visitor (by
//! name, by bytes, by index), and a visitor for maps and for sequences.
//! For two input types per module that was most of what the macro cost the
//! compiler. When every input field is plain (serde's `rename`, `default`
//! and serialize-only attributes at most), an input's `Deserialize` is one
//! call to [`read`] with the tuple of its fields' types, which reads the
//! map into a tuple of `Option`s ([`Slots`]); the impl then takes each
//! field, or fills a missing one. The visitor, its loop and the tuples'
//! `Slots` are compiled here, once, rather than once per struct. The JSON
//! read is the same, and so are the errors: unknown keys are ignored, a
//! repeated key is a `duplicate field`, a missing one a `missing field`
//! unless its type is an `Option` or it has a `default`. Likewise an
//! input's `Serialize` is one call to [`write`] with references to its
//! fields ([`Values`]).

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::forward_to_deserialize_any;
use serde::ser::{Serialize, SerializeStruct, Serializer};

/// Reads the map `deserializer` holds, a struct named `name` whose fields
/// have the JSON names `fields`, into `S`'s `Option`s, each `None` until
/// its key is read, and builds the input from them with `build` (which
/// takes each field with [`take`], or fills it).
pub fn read<'de, S, T, D, F>(
    deserializer: D,
    name: &'static str,
    fields: &'static [&'static str],
    build: F,
) -> Result<T, D::Error>
where
    S: Slots<'de>,
    D: Deserializer<'de>,
    F: FnOnce(S::Values) -> Result<T, FieldError>,
{
    let visitor = Fields::<S, F> {
        name,
        fields,
        build,
        slots: PhantomData,
    };
    deserializer.deserialize_struct(name, fields, visitor)
}

/// A tuple of fields' types, `(T0, T1, ...)`, read as `(Option<T0>,
/// Option<T1>, ...)`: the value of the key at index `i` goes to `.i`.
/// Implemented for tuples of up to [`MAX_FIELDS`]; an input with more
/// fields gets serde's derive.
pub trait Slots<'de> {
    type Values;

    /// Every field not read yet.
    fn empty() -> Self::Values;

    /// Reads the value of the key at `index` among `fields`, or drops the
    /// value of a key no field has.
    fn read<A: MapAccess<'de>>(
        values: &mut Self::Values,
        index: usize,
        map: &mut A,
        fields: &'static [&'static str],
    ) -> Result<(), A::Error>;
}

/// The most fields an input type's tuple of [`Slots`] has.
pub const MAX_FIELDS: usize = 32;

impl<'de> Slots<'de> for () {
    type Values = ();

    fn empty() {}

    fn read<A: MapAccess<'de>>(
        _: &mut (),
        _: usize,
        map: &mut A,
        _: &'static [&'static str],
    ) -> Result<(), A::Error> {
        skip(map)
    }
}

/// `Slots` for the tuples of 1 to 32 types, and `Values` for the tuples
/// of references to them: each invocation implements the tuple of the
/// types done so far plus the next, then recurses.
macro_rules! slots {
    ([$($done:ident $index:tt)*]) => {};
    ([$($done:ident $index:tt)*] $next:ident $at:tt $($rest:tt)*) => {
        impl<'de, $($done: Deserialize<'de>,)* $next: Deserialize<'de>> Slots<'de>
            for ($($done,)* $next,)
        {
            type Values = ($(Option<$done>,)* Option<$next>,);

            fn empty() -> Self::Values {
                ($(None::<$done>,)* None::<$next>,)
            }

            fn read<A: MapAccess<'de>>(
                values: &mut Self::Values,
                index: usize,
                map: &mut A,
                fields: &'static [&'static str],
            ) -> Result<(), A::Error> {
                match index {
                    $($index => value(map, &mut values.$index, fields[$index]),)*
                    $at => value(map, &mut values.$at, fields[$at]),
                    _ => skip(map),
                }
            }
        }
        impl<$($done: Serialize,)* $next: Serialize> Values for ($(&$done,)* &$next,) {
            fn write<S: SerializeStruct>(
                &self,
                fields: &'static [&'static str],
                skipped: &[bool],
                to: &mut S,
            ) -> Result<(), S::Error> {
                $(write_field(to, fields[$index], self.$index, skipped.get($index))?;)*
                write_field(to, fields[$at], self.$at, skipped.get($at))
            }
        }

        slots!([$($done $index)* $next $at] $($rest)*);
    };
}

slots!([] T0 0 T1 1 T2 2 T3 3 T4 4 T5 5 T6 6 T7 7 T8 8 T9 9 T10 10 T11 11 T12 12 T13 13
    T14 14 T15 15 T16 16 T17 17 T18 18 T19 19 T20 20 T21 21 T22 22 T23 23 T24 24 T25 25
    T26 26 T27 27 T28 28 T29 29 T30 30 T31 31);

/// Writes an input as serde's derive would: a struct named `name`, each
/// of `values` under its JSON name in `fields`, but those whose place in
/// `skipped` is `true` (its `skip_serializing_if` holds), which are left
/// out and not counted. `skipped` may be shorter than `fields`.
pub fn write<S: Serializer, V: Values>(
    serializer: S,
    name: &'static str,
    fields: &'static [&'static str],
    skipped: &[bool],
    values: V,
) -> Result<S::Ok, S::Error> {
    let len = fields.len() - skipped.iter().filter(|skip| **skip).count();
    let mut to = serializer.serialize_struct(name, len)?;
    values.write(fields, skipped, &mut to)?;
    to.end()
}

/// A tuple of references to an input's fields, `(&T0, &T1, ...)`, as
/// [`write`] writes them. Implemented for tuples of up to [`MAX_FIELDS`].
pub trait Values {
    fn write<S: SerializeStruct>(
        &self,
        fields: &'static [&'static str],
        skipped: &[bool],
        to: &mut S,
    ) -> Result<(), S::Error>;
}

impl Values for () {
    fn write<S: SerializeStruct>(
        &self,
        _: &'static [&'static str],
        _: &[bool],
        _: &mut S,
    ) -> Result<(), S::Error> {
        Ok(())
    }
}

fn write_field<S: SerializeStruct, T: Serialize>(
    to: &mut S,
    name: &'static str,
    value: &T,
    skipped: Option<&bool>,
) -> Result<(), S::Error> {
    match skipped {
        Some(true) => to.skip_field(name),
        _ => to.serialize_field(name, value),
    }
}

/// The visitor of [`read`].
struct Fields<S, F> {
    name: &'static str,
    fields: &'static [&'static str],
    build: F,
    slots: PhantomData<S>,
}

impl<'de, S, T, F> Visitor<'de> for Fields<S, F>
where
    S: Slots<'de>,
    F: FnOnce(S::Values) -> Result<T, FieldError>,
{
    type Value = T;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        write!(formatter, "struct {}", self.name)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut values = S::empty();
        while let Some(index) = map.next_key_seed(Key(self.fields))? {
            S::read(&mut values, index, &mut map, self.fields)?;
        }
        // Still inside the map, where serde_json adds the position.
        (self.build)(values).map_err(FieldError::into_error)
    }
}

/// Reads a map's key as its index among `fields` (the JSON names, in
/// order), or `fields.len()` for a key of no field.
#[derive(Clone, Copy, Debug)]
struct Key(&'static [&'static str]);

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
fn value<'de, T, A>(map: &mut A, slot: &mut Option<T>, name: &'static str) -> Result<(), A::Error>
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
fn skip<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<IgnoredAny>().map(drop)
}

/// The value read for field `name`, or, when its key was missing, what
/// serde's derive takes: `None` for an `Option`, else `missing field`.
pub fn take<'de, T: Deserialize<'de>>(
    slot: Option<T>,
    name: &'static str,
) -> Result<T, FieldError> {
    match slot {
        Some(value) => Ok(value),
        None => T::deserialize(Missing(name, PhantomData)),
    }
}

/// Why [`take`] found no value: the key was missing, or the type refused
/// to read a missing key some other way. [`read`] makes it the
/// deserializer's own error.
#[derive(Debug)]
pub enum FieldError {
    Missing(&'static str),
    Custom(String),
}

impl FieldError {
    fn into_error<E: de::Error>(self) -> E {
        match self {
            FieldError::Missing(name) => E::missing_field(name),
            FieldError::Custom(message) => E::custom(message),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        match self {
            FieldError::Missing(name) => write!(formatter, "missing field `{name}`"),
            FieldError::Custom(message) => formatter.write_str(message),
        }
    }
}

impl std::error::Error for FieldError {}

impl de::Error for FieldError {
    fn custom<M: fmt::Display>(message: M) -> Self {
        FieldError::Custom(message.to_string())
    }

    fn missing_field(name: &'static str) -> Self {
        FieldError::Missing(name)
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
