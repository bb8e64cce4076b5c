use aegis::crud_module;
use serde::{Deserialize, Serialize};

#[crud_module]
#[derive(Serialize, Deserialize, Clone)]
pub struct Budget {
    pub id: i64,
    #[crud(sortable = "no")]
    pub name: String,
    #[crud(sortable)]
    pub note: String,
}

fn main() {}
