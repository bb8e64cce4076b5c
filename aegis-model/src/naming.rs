//! The naming oracle: every name a module gives generated code, decided
//! here once. Templates and the macro receive finished strings.
//!
//! A module has a singular and a plural noun, each a snake_case phrase
//! whose last word is inflected (`user_role` / `user_roles`). Casing comes
//! from heck, inflection from pluralizer (plurals of plain ASCII words from
//! `inflect`, which gives the same without compiling its regexes).

use heck::{ToKebabCase, ToLowerCamelCase, ToSnakeCase, ToUpperCamelCase};

use crate::reserved::{is_reserved_word, is_taken_type_name};

/// The singular and plural nouns of a module, and every name built on them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    singular: String,
    plural: String,
}

/// Why a name given for a module cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameError {
    Empty,
    Invalid(String),
}

impl std::fmt::Display for NameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NameError::Empty => f.write_str("a module name cannot be empty"),
            NameError::Invalid(name) => write!(
                f,
                "invalid module name `{name}`, expected ASCII letters, digits, `_` or `-`, \
                 starting with a letter"
            ),
        }
    }
}

/// Normalises a name as written (`userRoles`, `user-roles`, `UserRoles`)
/// to snake_case, refusing anything that is not a plain identifier.
pub fn normalize(name: &str) -> Result<String, NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err(NameError::Invalid(name.to_owned()));
    }
    Ok(name.to_snake_case())
}

/// Changes the last word of a snake_case phrase.
fn inflect_last_word(phrase: &str, count: isize) -> String {
    let (head, last) = match phrase.rsplit_once('_') {
        Some((head, last)) => (Some(head), last),
        None => (None, phrase),
    };
    let inflected = match count {
        1 => pluralizer::pluralize(last, count, false),
        _ => crate::inflect::plural(last)
            .unwrap_or_else(|| pluralizer::pluralize(last, count, false)),
    };
    match head {
        Some(head) => format!("{head}_{inflected}"),
        None => inflected,
    }
}

/// The singular of a snake_case phrase (`user_statuses` → `user_status`).
pub fn singularize(phrase: &str) -> String {
    inflect_last_word(phrase, 1)
}

/// The plural of a snake_case phrase (`person` → `people`).
pub fn pluralize(phrase: &str) -> String {
    inflect_last_word(phrase, 2)
}

impl Names {
    /// From the module (plural) name, as in modules.toml, with an optional
    /// singular override.
    pub fn from_module_name(module: &str, singular: Option<&str>) -> Result<Self, NameError> {
        let plural = normalize(module)?;
        let singular = match singular {
            Some(singular) => normalize(singular)?,
            None => singularize(&plural),
        };
        Ok(Names { singular, plural })
    }

    /// From a struct name (the singular), with optional overrides: `name`
    /// for the module and `singular` for the entity.
    pub fn from_struct_name(
        struct_name: &str,
        module: Option<&str>,
        singular: Option<&str>,
    ) -> Result<Self, NameError> {
        let singular = match singular {
            Some(singular) => normalize(singular)?,
            None => struct_name.to_snake_case(),
        };
        let plural = match module {
            Some(module) => normalize(module)?,
            None => pluralize(&singular),
        };
        Ok(Names { singular, plural })
    }

    /// `user_roles`: the module's name, in snake_case.
    pub fn module(&self) -> &str {
        &self.plural
    }

    /// `user_role`
    pub fn singular_snake(&self) -> &str {
        &self.singular
    }

    /// `user-roles`: the feature, its folder, its URL segment and its
    /// WebSocket channel.
    pub fn feature(&self) -> String {
        self.plural.to_kebab_case()
    }

    /// `userRole`: the entity, as a variable and in events.
    pub fn entity(&self) -> String {
        self.singular.to_lower_camel_case()
    }

    /// `UserRole`: the entity's TypeScript type.
    pub fn entity_type(&self) -> String {
        self.singular.to_upper_camel_case()
    }

    /// `userRoles`: the collection, as a variable.
    pub fn collection(&self) -> String {
        self.plural.to_lower_camel_case()
    }

    /// `UserRoles`
    pub fn collection_type(&self) -> String {
        self.plural.to_upper_camel_case()
    }

    /// `User role`: for labels and messages.
    pub fn title_singular(&self) -> String {
        sentence_case(&self.singular)
    }

    /// `User roles`
    pub fn title_plural(&self) -> String {
        sentence_case(&self.plural)
    }

    /// `UserRoleCreate`
    pub fn create_type(&self) -> String {
        format!("{}Create", self.entity_type())
    }

    /// `UserRoleUpdate`
    pub fn update_type(&self) -> String {
        format!("{}Update", self.entity_type())
    }

    /// `UserRoleListQuery`
    pub fn list_query_type(&self) -> String {
        format!("{}ListQuery", self.entity_type())
    }

    /// `UserRoleStateItem`
    pub fn state_item_type(&self) -> String {
        format!("{}StateItem", self.entity_type())
    }

    /// `UserRoleService`
    pub fn service_class(&self) -> String {
        format!("{}Service", self.entity_type())
    }

    /// `UserRoleStateManager`
    pub fn state_manager_class(&self) -> String {
        format!("{}StateManager", self.entity_type())
    }

    /// `UserRolesListComponent`
    pub fn list_component_class(&self) -> String {
        format!("{}ListComponent", self.collection_type())
    }

    /// `UserRoleFormDialogComponent`
    pub fn form_dialog_class(&self) -> String {
        format!("{}FormDialogComponent", self.entity_type())
    }

    /// `USER_ROLES_ROUTES`
    pub fn routes_const(&self) -> String {
        format!("{}_ROUTES", self.plural.to_ascii_uppercase())
    }

    /// `USER_ROLE_REFERENCES`: where each reference of the entity points.
    pub fn references_const(&self) -> String {
        format!("{}_REFERENCES", self.singular.to_ascii_uppercase())
    }

    /// `USER_ROLE_VIEW_FIELDS`: how the list filters, searches and orders.
    pub fn view_fields_const(&self) -> String {
        format!("{}_VIEW_FIELDS", self.singular.to_ascii_uppercase())
    }

    /// Every type or class name this module adds to generated TypeScript.
    pub fn generated_type_names(&self) -> Vec<String> {
        vec![
            self.entity_type(),
            self.create_type(),
            self.update_type(),
            self.list_query_type(),
            self.state_item_type(),
            self.service_class(),
            self.state_manager_class(),
            self.list_component_class(),
            self.form_dialog_class(),
        ]
    }

    /// Feature-relative paths of the generated files.
    pub fn files(&self) -> FeatureFiles {
        let feature = self.feature();
        FeatureFiles {
            types: format!("types/{feature}.types.ts"),
            service: format!("services/{feature}.service.ts"),
            state_manager: format!("state/{feature}-state.manager.ts"),
            list_component: format!("components/{feature}-list.component.ts"),
            list_template: format!("components/{feature}-list.component.html"),
            form_dialog: format!("components/{feature}-form.dialog.ts"),
            routes: format!("{feature}.routes.ts"),
        }
    }

    /// Problems with these names as TypeScript identifiers.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (what, name) in [("entity", self.entity()), ("collection", self.collection())] {
            if is_reserved_word(&name) {
                problems.push(format!(
                    "the {what} name `{name}` is a TypeScript reserved word; choose another \
                     with `name = \"...\"` or `singular = \"...\"`"
                ));
            }
        }
        for name in self.generated_type_names() {
            if is_taken_type_name(&name) {
                problems.push(format!(
                    "the generated type name `{name}` is already used by TypeScript, the \
                     browser, Angular or Aegis; choose another with `singular = \"...\"`"
                ));
            }
        }
        problems
    }
}

/// The paths of one feature's generated files, relative to its folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeatureFiles {
    pub types: String,
    pub service: String,
    pub state_manager: String,
    pub list_component: String,
    pub list_template: String,
    pub form_dialog: String,
    pub routes: String,
}

/// `fiscal_year` → `Fiscal year`.
pub fn sentence_case(snake: &str) -> String {
    let words = snake.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's "Names" table, row by row.
    #[test]
    fn design_naming_table() {
        let table = [
            (
                "budgets",
                "budgets",
                "budget",
                "BudgetStateManager",
                "budgets-state.manager.ts",
            ),
            (
                "authors",
                "authors",
                "author",
                "AuthorStateManager",
                "authors-state.manager.ts",
            ),
            (
                "userRoles",
                "user-roles",
                "userRole",
                "UserRoleStateManager",
                "user-roles-state.manager.ts",
            ),
            (
                "user_roles",
                "user-roles",
                "userRole",
                "UserRoleStateManager",
                "user-roles-state.manager.ts",
            ),
            (
                "categories",
                "categories",
                "category",
                "CategoryStateManager",
                "categories-state.manager.ts",
            ),
            (
                "people",
                "people",
                "person",
                "PersonStateManager",
                "people-state.manager.ts",
            ),
        ];
        for (input, feature, entity, class, file) in table {
            let names = Names::from_module_name(input, None).unwrap();
            assert_eq!(names.feature(), feature, "{input}");
            assert_eq!(names.entity(), entity, "{input}");
            assert_eq!(names.state_manager_class(), class, "{input}");
            assert_eq!(
                names.files().state_manager,
                format!("state/{file}"),
                "{input}"
            );
        }
    }

    #[test]
    fn struct_gives_the_module() {
        let names = Names::from_struct_name("Budget", None, None).unwrap();
        assert_eq!(names.module(), "budgets");
        assert_eq!(names.entity_type(), "Budget");
        let names = Names::from_struct_name("UserRole", None, None).unwrap();
        assert_eq!(names.module(), "user_roles");
        assert_eq!(names.feature(), "user-roles");
        let names = Names::from_struct_name("Person", None, None).unwrap();
        assert_eq!(names.module(), "people");
        assert_eq!(names.collection(), "people");
    }

    #[test]
    fn inflection_is_real() {
        let pairs = [
            ("categories", "category"),
            ("people", "person"),
            ("statuses", "status"),
            ("user_statuses", "user_status"),
            ("children", "child"),
            ("addresses", "address"),
            ("analyses", "analysis"),
            ("series", "series"),
        ];
        for (plural, singular) in pairs {
            assert_eq!(singularize(plural), singular, "{plural}");
            assert_eq!(pluralize(singular), plural, "{singular}");
        }
    }

    #[test]
    fn overrides_win() {
        let names = Names::from_module_name("staff", Some("staff_member")).unwrap();
        assert_eq!(names.module(), "staff");
        assert_eq!(names.entity_type(), "StaffMember");
        assert_eq!(names.feature(), "staff");
        let names =
            Names::from_struct_name("BudgetRecord", Some("budgets"), Some("budget")).unwrap();
        assert_eq!(names.module(), "budgets");
        assert_eq!(names.entity(), "budget");
        let names = Names::from_struct_name("Criterion", Some("criteria"), None).unwrap();
        assert_eq!(names.entity(), "criterion");
    }

    #[test]
    fn every_generated_name() {
        let names = Names::from_module_name("user_roles", None).unwrap();
        assert_eq!(names.collection(), "userRoles");
        assert_eq!(names.collection_type(), "UserRoles");
        assert_eq!(names.title_singular(), "User role");
        assert_eq!(names.title_plural(), "User roles");
        assert_eq!(names.create_type(), "UserRoleCreate");
        assert_eq!(names.update_type(), "UserRoleUpdate");
        assert_eq!(names.service_class(), "UserRoleService");
        assert_eq!(names.list_component_class(), "UserRolesListComponent");
        assert_eq!(names.form_dialog_class(), "UserRoleFormDialogComponent");
        assert_eq!(names.routes_const(), "USER_ROLES_ROUTES");
        let files = names.files();
        assert_eq!(files.types, "types/user-roles.types.ts");
        assert_eq!(files.service, "services/user-roles.service.ts");
        assert_eq!(
            files.list_component,
            "components/user-roles-list.component.ts"
        );
        assert_eq!(files.form_dialog, "components/user-roles-form.dialog.ts");
        assert_eq!(files.routes, "user-roles.routes.ts");
    }

    #[test]
    fn invalid_names() {
        assert_eq!(Names::from_module_name("", None), Err(NameError::Empty));
        for bad in [
            "budget items!",
            "1budgets",
            "bud gets",
            "_budgets",
            "büdgets",
        ] {
            assert_eq!(
                Names::from_module_name(bad, None),
                Err(NameError::Invalid(bad.into())),
                "{bad}"
            );
        }
    }

    #[test]
    fn reserved_and_taken_names_are_problems() {
        let names = Names::from_module_name("classes", None).unwrap();
        assert_eq!(names.entity(), "class");
        assert!(names.problems()[0].contains("`class` is a TypeScript reserved word"));
        let names = Names::from_module_name("events", None).unwrap();
        assert!(names.problems()[0].contains("`Event`"));
        assert!(
            Names::from_module_name("budgets", None)
                .unwrap()
                .problems()
                .is_empty()
        );
    }
}
