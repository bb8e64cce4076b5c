use aegis::crud_module;
use serde::{Deserialize, Serialize};

#[crud_module]
#[derive(Serialize, Deserialize, Clone)]
pub struct Budget {
    pub id: i64,
    #[serde(skip)]
    #[crud(default = "0")]
    pub cached: i64,
}

fn main() {}
