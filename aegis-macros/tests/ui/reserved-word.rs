use aegis::crud_module;
use serde::{Deserialize, Serialize};

#[crud_module(singular = "class")]
#[derive(Serialize, Deserialize, Clone)]
pub struct Lesson {
    pub id: i64,
}

fn main() {}
