use aegis::crud_module;

#[crud_module]
#[derive(Clone)]
pub struct Budget {
    pub id: i64,
    pub rule: Vec<std::sync::Arc<dyn Fn(f64) -> bool>>,
}

fn main() {}
