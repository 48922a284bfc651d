// The file does not exist: the macro says where it looked.
auth_macros::provider!("no_such_vendor.yaml");

fn main() {}
