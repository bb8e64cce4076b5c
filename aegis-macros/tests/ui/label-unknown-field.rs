use aegis::crud_module;
use serde::{Deserialize, Serialize};

#[crud_module(label = "title")]
#[derive(Serialize, Deserialize, Clone)]
pub struct Department {
    pub id: i64,
    pub name: String,
}

fn main() {}
