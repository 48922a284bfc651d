//! A crate that is not part of `providers/`: it generates a client for its own vendor YAML with
//! `auth_macros::provider!`, which is how a user adds a vendor the repository does not ship.

auth_macros::provider!("vendor/acme.yaml", doc_parent = "out_of_tree_user");
