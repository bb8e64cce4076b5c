use aegis::crud_module;
use serde::{Deserialize, Serialize};

#[crud_module(with_events, with_imports, name = "")]
#[derive(Serialize, Deserialize, Clone)]
pub struct Budget {
    pub key: i64,
    pub label: &'static str,
    #[crud(skip, readonly)]
    pub code: String,
}

fn main() {}
