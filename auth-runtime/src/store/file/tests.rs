//! The file store's own guarantees; the contract shared by every store is in
//! `tests/store_contract.rs`.
