use aegis::crud_module;
use serde::{Deserialize, Serialize};

#[crud_module]
#[derive(Serialize, Deserialize, Clone)]
pub struct Budget {
    #[crud(id)]
    pub code: String,
    #[crud(id)]
    pub number: i64,
}

fn main() {}
