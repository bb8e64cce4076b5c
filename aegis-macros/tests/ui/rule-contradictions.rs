use aegis::crud_module;
use serde::{Deserialize, Serialize};

#[crud_module]
#[derive(Serialize, Deserialize, Clone)]
pub struct Contact {
    pub id: i64,
    #[crud(min = 10, max = 5)]
    pub age: i32,
    #[crud(email, url)]
    pub address: String,
    #[crud(one_of = ["EUR", 2])]
    pub currency: String,
    #[crud(readonly, length(max = 3))]
    pub stamp: String,
}

fn main() {}
