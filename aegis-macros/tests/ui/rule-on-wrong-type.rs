use aegis::crud_module;
use serde::{Deserialize, Serialize};

#[crud_module]
#[derive(Serialize, Deserialize, Clone)]
pub struct Budget {
    pub id: i64,
    #[crud(length(max = 10))]
    pub year: i32,
    #[crud(min = 0)]
    pub name: String,
    #[crud(min = 0.5)]
    pub pieces: u16,
}

fn main() {}
