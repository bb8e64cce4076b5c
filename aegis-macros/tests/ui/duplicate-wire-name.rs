use aegis::crud_module;
use serde::{Deserialize, Serialize};

#[crud_module]
#[derive(Serialize, Deserialize, Clone)]
pub struct Budget {
    pub id: i64,
    #[serde(rename = "amount")]
    pub total: f64,
    pub amount: f64,
}

fn main() {}
