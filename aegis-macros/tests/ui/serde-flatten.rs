use aegis::crud_module;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone)]
pub struct Audit {
    pub created_by: String,
}

#[crud_module]
#[derive(Serialize, Deserialize, Clone)]
pub struct Budget {
    pub id: i64,
    #[serde(flatten)]
    pub audit: Audit,
}

fn main() {}
