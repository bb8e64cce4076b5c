use aegis::crud_module;
use serde::{Deserialize, Serialize};

#[crud_module(with_events)]
#[derive(Serialize, Deserialize, Clone)]
pub struct Budget {
    pub id: i64,
    pub version: String,
}

fn main() {}
