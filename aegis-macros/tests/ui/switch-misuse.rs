use aegis::crud_module;
use serde::{Deserialize, Serialize};

#[crud_module(with_events, cache = "no", optimistic_updates, conflict_detection = false, conflict_detection = true)]
#[derive(Serialize, Deserialize, Clone)]
pub struct Budget {
    pub id: i64,
    pub version: i64,
}

fn main() {}
