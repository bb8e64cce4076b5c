use aegis::crud_module;
use serde::{Deserialize, Serialize};

#[crud_module]
#[derive(Serialize, Deserialize, Clone)]
pub struct Budget {
    pub id: i64,
    #[crud(pattern = "\\d{4}")]
    pub code: String,
}

fn main() {}
