//! The versions of one `Budget` struct the schema tests move between.

/// The struct as first shipped.
pub mod v1 {
    use aegis::crud_module;
    use serde::{Deserialize, Serialize};

    #[crud_module(with_events)]
    #[derive(Serialize, Deserialize, Clone, Debug)]
    pub struct Budget {
        pub id: i64,
        pub name: String,
        pub amount: f64,
        pub version: i64,
    }
}

/// Additive: a nullable field, one with serde's default, one with an
/// explicit default.
pub mod v2 {
    use aegis::crud_module;
    use serde::{Deserialize, Serialize};

    #[crud_module(with_events)]
    #[derive(Serialize, Deserialize, Clone, Debug)]
    pub struct Budget {
        pub id: i64,
        pub name: String,
        pub amount: f64,
        pub owner: Option<String>,
        #[serde(default)]
        pub currency: String,
        #[crud(default = "2026")]
        pub fiscal_year: i32,
        pub version: i64,
    }
}

/// A rename, and a column made nullable.
pub mod v3 {
    use aegis::crud_module;
    use serde::{Deserialize, Serialize};

    #[crud_module(with_events)]
    #[derive(Serialize, Deserialize, Clone, Debug)]
    pub struct Budget {
        pub id: i64,
        #[crud(renamed_from = "name")]
        pub title: String,
        pub amount: Option<f64>,
        pub owner: Option<String>,
        #[serde(default)]
        pub currency: String,
        #[crud(default = "2026")]
        pub fiscal_year: i32,
        pub version: i64,
    }
}

/// Refused changes, each against v1.
pub mod refused {
    use aegis::crud_module;
    use serde::{Deserialize, Serialize};

    /// `amount` is gone, and holds data.
    pub mod dropped {
        use super::*;
        #[crud_module(with_events)]
        #[derive(Serialize, Deserialize, Clone, Debug)]
        pub struct Budget {
            pub id: i64,
            pub name: String,
            pub version: i64,
        }
    }

    /// `amount` is now text.
    pub mod retyped {
        use super::*;
        #[crud_module(with_events)]
        #[derive(Serialize, Deserialize, Clone, Debug)]
        pub struct Budget {
            pub id: i64,
            pub name: String,
            pub amount: String,
            pub version: i64,
        }
    }

    /// A new required field with nothing to fill old rows with.
    pub mod required {
        use super::*;
        #[crud_module(with_events)]
        #[derive(Serialize, Deserialize, Clone, Debug)]
        pub struct Budget {
            pub id: i64,
            pub name: String,
            pub amount: f64,
            pub priority: i64,
            pub version: i64,
        }
    }

    /// Another id.
    pub mod new_id {
        use super::*;
        #[crud_module(with_events)]
        #[derive(Serialize, Deserialize, Clone, Debug)]
        pub struct Budget {
            #[crud(id)]
            pub code: i64,
            pub name: String,
            pub amount: f64,
            pub version: i64,
        }
    }

    /// The version moved to a new column.
    pub mod new_version {
        use super::*;
        #[crud_module(with_events)]
        #[derive(Serialize, Deserialize, Clone, Debug)]
        pub struct Budget {
            pub id: i64,
            pub name: String,
            pub amount: f64,
            pub version: i64,
            #[crud(version, default = "1")]
            pub revision: i64,
        }
    }
}

/// v2 with `owner` required: refused while rows lack an owner, unless a
/// default fills them.
pub mod owner_required {
    use aegis::crud_module;
    use serde::{Deserialize, Serialize};

    pub mod bare {
        use super::*;
        #[crud_module(with_events)]
        #[derive(Serialize, Deserialize, Clone, Debug)]
        pub struct Budget {
            pub id: i64,
            pub name: String,
            pub amount: f64,
            pub owner: String,
            #[serde(default)]
            pub currency: String,
            #[crud(default = "2026")]
            pub fiscal_year: i32,
            pub version: i64,
        }
    }

    pub mod filled {
        use super::*;
        #[crud_module(with_events)]
        #[derive(Serialize, Deserialize, Clone, Debug)]
        pub struct Budget {
            pub id: i64,
            pub name: String,
            pub amount: f64,
            #[crud(default = "nobody")]
            pub owner: String,
            #[serde(default)]
            pub currency: String,
            #[crud(default = "2026")]
            pub fiscal_year: i32,
            pub version: i64,
        }
    }
}
