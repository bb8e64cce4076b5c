use aegis::crud_module;

#[crud_module]
pub fn budget() {}

fn main() {}
