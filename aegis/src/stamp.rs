//! Stamped fields: the time and the user of a change, written by the server
//! into the fields marked `#[crud(created_at)]`, `updated_at`, `created_by`
//! and `updated_by` (clients never send them; a stamped field is readonly).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use crate::entity::{CrudEntity, Stamp};
use crate::error::Error;

/// Which change the stamps are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Moment {
    Created,
    Updated,
}

/// Whether `T` has a stamped field at all (most do not: no work for them).
pub(crate) fn has_stamps<T: CrudEntity>() -> bool {
    T::meta().fields.iter().any(|f| f.stamp.is_some())
}

/// Writes the stamps of a `moment` by `user` at `now` into `entity`: on
/// creation all four, on update `updated_at` and `updated_by`.
pub(crate) fn stamp<T: CrudEntity>(
    entity: &mut T,
    moment: Moment,
    user: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    if !has_stamps::<T>() {
        return Ok(());
    }
    let mut object = crate::rows::to_object(&*entity)?;
    let time = Value::String(now.to_rfc3339_opts(SecondsFormat::Millis, true));
    for field in T::meta().fields {
        let value = match (field.stamp, moment) {
            (Some(Stamp::CreatedAt), Moment::Created) | (Some(Stamp::UpdatedAt), _) => time.clone(),
            (Some(Stamp::CreatedBy), Moment::Created) | (Some(Stamp::UpdatedBy), _) => {
                Value::String(user.to_owned())
            }
            _ => continue,
        };
        object.insert(field.wire_name.to_owned(), value);
    }
    *entity = serde_json::from_value(Value::Object(object)).map_err(|e| {
        Error::Internal(format!(
            "a stamped field of {} does not read what was stamped: {e}",
            T::meta().entity
        ))
    })?;
    Ok(())
}
