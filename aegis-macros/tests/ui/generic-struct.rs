use aegis::crud_module;
use serde::{Deserialize, Serialize};

#[crud_module]
#[derive(Serialize, Deserialize, Clone)]
pub struct Budget<T> {
    pub id: i64,
    pub amount: T,
}

fn main() {}
