use aegis::crud_module;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Stamp(String);

#[crud_module]
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Budget {
    pub id: i64,
    #[crud(readonly)]
    pub created: Stamp,
}

fn main() {}
