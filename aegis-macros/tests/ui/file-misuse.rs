use aegis::crud_module;
use serde::{Deserialize, Serialize};

#[crud_module]
#[derive(Serialize, Deserialize, Clone)]
pub struct Budget {
    pub id: i64,
    #[crud(file(max_bytes = 1000))]
    pub name: String,
    pub scans: Vec<aegis::File>,
    #[crud(file(max_bytes = 0, types = ["PDF"]))]
    pub contract: Option<aegis::File>,
    #[crud(file(limit = 10))]
    pub photo: aegis::File,
    #[crud(file = "pdf")]
    pub badge: Option<aegis::File>,
}

fn main() {}
