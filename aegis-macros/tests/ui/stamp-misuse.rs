use aegis::crud_module;
use serde::{Deserialize, Serialize};

#[crud_module]
#[derive(Serialize, Deserialize, Clone)]
pub struct Budget {
    pub id: i64,
    #[crud(created_at)]
    pub created: String,
    #[crud(updated_by)]
    pub editor: i64,
    #[crud(version, updated_at)]
    pub revision: i64,
    #[crud(created_by, updated_by)]
    pub author: String,
}

fn main() {}
