//! References between modules: `#[crud(references = "authors")]` on a
//! field holding another module's id, with `on_delete = "restrict"`
//! (the default), `"cascade"` or `"set_null"`, and `children = false` or
//! `children_label = "..."` for the panel the referenced row shows of
//! the rows that reference it. What one declaration can
//! check is checked here; whether `authors` exists and its id has the
//! field's type, aegis-build checks with every module in view.

use crate::diagnostic::Diagnostics;
use crate::ir::{StorageKind, ValueFormat};
use crate::lower::FieldInput;

/// What deleting a referenced row does to the rows that reference it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnDelete {
    /// The delete is refused (409) while a row references it.
    Restrict,
    /// The referencing rows are deleted too.
    Cascade,
    /// The referencing rows' field becomes `null`.
    SetNull,
}

impl OnDelete {
    pub fn name(self) -> &'static str {
        match self {
            OnDelete::Restrict => "restrict",
            OnDelete::Cascade => "cascade",
            OnDelete::SetNull => "set_null",
        }
    }
}

/// A field's reference to another module's rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// The referenced module's name, such as `authors`.
    pub module: String,
    pub on_delete: OnDelete,
    /// The referenced module's rows show a panel of the rows referencing
    /// them through this field (`children = false` says no).
    pub children: bool,
    /// `children_label`: that panel's title, when not the module's own.
    pub children_label: Option<String>,
}

/// A field listing another module's ids (`#[crud(many = "tags")]`): the
/// links are stored in a table of their own, `<module>_<field>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Many {
    /// The linked module's name, such as `tags`.
    pub module: String,
    /// How each id is stored (an integer, or text), and what its text holds.
    pub ids: StorageKind,
    pub format: Option<ValueFormat>,
}

/// The field's `many`, checked as far as one declaration allows: a `Vec`
/// of ids (integers, `String` or `Uuid`), and no `references` beside it.
pub(crate) fn check_many(field: &FieldInput, diags: &mut Diagnostics) -> Option<Many> {
    let many = field.crud.many.as_ref()?;
    if field.crud.references.is_some() {
        diags.error(
            many.location.clone(),
            "a field holds one id (`references`) or a list of them (`many`), not both",
        );
        return None;
    }
    let element = crate::mapping::vec_inner(&field.ty)
        .and_then(|inner| crate::mapping::map_type(inner, &field.ident).ok())
        .filter(|mapped| !mapped.nullable);
    let id_like = |m: &crate::mapping::Mapped| {
        m.storage == StorageKind::Integer
            || (m.storage == StorageKind::Text
                && matches!(m.format, None | Some(ValueFormat::Uuid)))
    };
    let Some(element) = element.filter(id_like) else {
        diags.error(
            many.location.clone(),
            format_args!(
                "`{}` links rows by their ids, so it is a `Vec` of the linked module's id type \
                 (an integer, `String` or `Uuid`)",
                field.ident
            ),
        );
        return None;
    };
    let module = module_name(&many.value, "many", &many.location, diags)?;
    Some(Many {
        module,
        ids: element.storage,
        format: element.format,
    })
}

/// A module name as an option gives it, such as `authors`.
fn module_name(
    value: &str,
    key: &str,
    at: &crate::diagnostic::Location,
    diags: &mut Diagnostics,
) -> Option<String> {
    let module = value.trim();
    if module
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Some(module.to_owned());
    }
    diags.error(
        at.clone(),
        format_args!("`{key}` names a module, such as `authors`; found `{module}`"),
    );
    None
}

/// The field's reference, checked as far as one declaration allows.
pub(crate) fn check(
    field: &FieldInput,
    storage: StorageKind,
    format: Option<ValueFormat>,
    nullable: bool,
    diags: &mut Diagnostics,
) -> Option<Reference> {
    let on_delete = on_delete(field, diags)?;
    let Some(references) = &field.crud.references else {
        refuse_orphans(field, diags);
        return None;
    };
    let children = field.crud.children.as_ref().is_none_or(|(on, _)| *on);
    if let (false, Some(label)) = (children, &field.crud.children_label) {
        diags.error(
            label.location.clone(),
            "`children_label` titles the panel that `children = false` turns off; keep one",
        );
        return None;
    }
    let id_like = matches!(storage, StorageKind::Integer)
        || (storage == StorageKind::Text && matches!(format, None | Some(ValueFormat::Uuid)));
    if !id_like {
        diags.error(
            references.location.clone(),
            format_args!(
                "`{}` references rows by id, so it holds an integer, a `String` or a `Uuid` \
                 (or an `Option` of one)",
                field.ident
            ),
        );
        return None;
    }
    if on_delete == OnDelete::SetNull && !nullable {
        let at = field
            .crud
            .on_delete
            .as_ref()
            .map_or(&references.location, |o| &o.location);
        diags.error(
            at.clone(),
            format_args!(
                "`set_null` needs `{}` to be an `Option`, so it can hold no reference",
                field.ident
            ),
        );
        return None;
    }
    let module = module_name(&references.value, "references", &references.location, diags)?;
    Some(Reference {
        module,
        on_delete,
        children,
        children_label: field
            .crud
            .children_label
            .as_ref()
            .map(|o| o.value.trim().to_owned()),
    })
}

/// What `on_delete` says (`restrict` when it is not given).
fn on_delete(field: &FieldInput, diags: &mut Diagnostics) -> Option<OnDelete> {
    let Some(option) = &field.crud.on_delete else {
        return Some(OnDelete::Restrict);
    };
    match option.value.as_str() {
        "restrict" => Some(OnDelete::Restrict),
        "cascade" => Some(OnDelete::Cascade),
        "set_null" => Some(OnDelete::SetNull),
        other => {
            diags.error(
                option.location.clone(),
                format_args!(
                    "unknown `on_delete` `{other}`, expected `restrict`, `cascade` or `set_null`"
                ),
            );
            None
        }
    }
}

/// A reference's options on a field that references nothing.
fn refuse_orphans(field: &FieldInput, diags: &mut Diagnostics) {
    let crud = &field.crud;
    let orphans = [
        crud.on_delete.as_ref().map(|o| ("on_delete", &o.location)),
        crud.children.as_ref().map(|(_, at)| ("children", at)),
        crud.children_label
            .as_ref()
            .map(|o| ("children_label", &o.location)),
    ];
    for (key, at) in orphans.into_iter().flatten() {
        diags.error(
            at.clone(),
            format_args!("`{key}` says what a reference does; add `references = \"<module>\"`"),
        );
    }
}

/// The field that shows a row where it is referenced: the declared
/// `label`, which must be a field the front end sees, else the first plain
/// text field, else the id.
pub(crate) fn label_field(
    input: &crate::lower::ModuleInput,
    fields: &[crate::ir::Field],
    id: usize,
    diags: &mut Diagnostics,
) -> usize {
    if let Some(option) = &input.args.label {
        let wanted = option.value.trim();
        match fields
            .iter()
            .position(|f| (f.ident == wanted || f.wire_name == wanted) && f.is_sent())
        {
            Some(index) => return index,
            None => {
                let sent: Vec<&str> = fields
                    .iter()
                    .filter(|f| f.is_sent())
                    .map(|f| f.ident.as_str())
                    .collect();
                diags.error(
                    option.location.clone(),
                    format_args!(
                        "`label` names the field that shows a row; `{wanted}` is none the \
                         front end sees, which are {}",
                        sent.join(", ")
                    ),
                );
            }
        }
    }
    fields
        .iter()
        .position(|f| {
            f.is_sent()
                && f.role == crate::ir::FieldRole::Data
                && f.storage == StorageKind::Text
                && f.format.is_none()
                && f.ts.any(&|t| *t == crate::ts::TsType::String)
        })
        .unwrap_or(id)
}
