use aegis::crud_module;
use serde::{Deserialize, Serialize};

#[crud_module]
#[derive(Serialize, Deserialize, Clone)]
pub struct Budget {
    pub id: i64,
    pub title: String,
    #[crud(renamed_from = "title")]
    pub name: String,
}

fn main() {}
