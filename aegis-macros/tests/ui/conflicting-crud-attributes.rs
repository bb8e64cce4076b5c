use aegis::crud_module;
use serde::{Deserialize, Serialize};

#[crud_module]
#[derive(Serialize, Deserialize, Clone)]
pub struct Budget {
    #[crud(id, skip)]
    pub id: i64,
}

fn main() {}
