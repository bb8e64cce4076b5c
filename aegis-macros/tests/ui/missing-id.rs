use aegis::crud_module;
use serde::{Deserialize, Serialize};

#[crud_module]
#[derive(Serialize, Deserialize, Clone)]
pub struct Budget {
    pub key: i64,
    pub name: String,
}

fn main() {}
