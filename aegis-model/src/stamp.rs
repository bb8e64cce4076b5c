//! Stamped fields, filled by the server and never by clients:
//! `#[crud(created_at)]`, `#[crud(updated_at)]` (a zoned time),
//! `#[crud(created_by)]`, `#[crud(updated_by)]` (the token's subject).

use crate::diagnostic::Diagnostics;
use crate::ir::{StorageKind, ValueFormat};
use crate::lower::FieldInput;
use crate::mapping::type_to_string;
use crate::ts::TsType;

/// What the server writes into a stamped field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stamp {
    /// When the entity was created.
    CreatedAt,
    /// When it was last created or updated.
    UpdatedAt,
    /// Who created it: the token's subject.
    CreatedBy,
    /// Who last created or updated it.
    UpdatedBy,
}

/// The `#[crud]` flags, and modules.toml keys, that stamp a field.
pub const STAMP_FLAGS: [&str; 4] = ["created_at", "updated_at", "created_by", "updated_by"];

impl Stamp {
    pub fn from_flag(flag: &str) -> Option<Stamp> {
        match flag {
            "created_at" => Some(Stamp::CreatedAt),
            "updated_at" => Some(Stamp::UpdatedAt),
            "created_by" => Some(Stamp::CreatedBy),
            "updated_by" => Some(Stamp::UpdatedBy),
            _ => None,
        }
    }

    pub fn flag(self) -> &'static str {
        match self {
            Stamp::CreatedAt => "created_at",
            Stamp::UpdatedAt => "updated_at",
            Stamp::CreatedBy => "created_by",
            Stamp::UpdatedBy => "updated_by",
        }
    }

    fn is_time(self) -> bool {
        matches!(self, Stamp::CreatedAt | Stamp::UpdatedAt)
    }
}

/// Checks a stamp against the field's type: a time stamp needs a zoned
/// time that serde reads as RFC 3339 (chrono's `DateTime`, jiff's
/// `Timestamp`), a user stamp plain text.
pub(crate) fn check(
    field: &FieldInput,
    ts: &TsType,
    storage: StorageKind,
    format: Option<ValueFormat>,
    diags: &mut Diagnostics,
) -> Option<Stamp> {
    let (stamp, location) = field.crud.stamp.as_ref()?;
    let stamp = *stamp;
    let rust_type = type_to_string(&field.ty);
    let text = storage == StorageKind::Text
        && ts.any(&|t| *t == TsType::String)
        && !ts.any(&|t| matches!(t, TsType::Named(_) | TsType::Array(_)));
    let fits = if stamp.is_time() {
        format == Some(ValueFormat::Instant) && !rust_type.contains("OffsetDateTime")
    } else {
        text && format.is_none()
    };
    if fits {
        return Some(stamp);
    }
    let expected = if stamp.is_time() {
        "a zoned time serde writes as RFC 3339: chrono's `DateTime<Utc>` or jiff's `Timestamp` \
         (an `Option` of one for rows stored before the field existed)"
    } else {
        "text, the token's subject: a `String` (or an `Option<String>`)"
    };
    diags.error(
        location.clone(),
        format_args!(
            "`{}` stamps {expected}; `{}` is `{rust_type}`",
            stamp.flag(),
            field.ident
        ),
    );
    None
}
