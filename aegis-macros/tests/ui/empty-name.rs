use aegis::crud_module;
use serde::{Deserialize, Serialize};

#[crud_module(name = "")]
#[derive(Serialize, Deserialize, Clone)]
pub struct Budget {
    pub id: i64,
}

fn main() {}
