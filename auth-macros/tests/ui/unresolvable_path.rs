// The spec has a problem: the macro reports it as file:line:col.
auth_macros::provider!("unresolvable_path.yaml");

fn main() {}
