use aegis::crud_module;
use serde::{Deserialize, Serialize};

#[crud_module]
#[derive(Serialize, Deserialize, Clone)]
pub struct Budget {
    pub id: i64,
    #[crud(references = "departments")]
    pub share: f64,
    #[crud(references = "authors", on_delete = "set_null")]
    pub author: i64,
    #[crud(references = "owners", on_delete = "nullify")]
    pub owner: Option<i64>,
    #[crud(on_delete = "cascade")]
    pub parent: i64,
    #[crud(children_label = "Lines")]
    pub order: i64,
    #[crud(references = "teams", children = false, children_label = "Members")]
    pub team: Option<i64>,
    #[crud(references = "units", children = "no")]
    pub unit: Option<i64>,
    #[crud(many = "tags")]
    pub tag: i64,
    #[crud(many = "tags")]
    pub shares: Vec<f64>,
    #[crud(many = "tags")]
    pub maybe: Option<Vec<i64>>,
    #[crud(references = "tags", many = "tags")]
    pub both: Vec<i64>,
}

fn main() {}
