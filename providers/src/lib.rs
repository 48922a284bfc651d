//! The vendor specs of this repository.
//!
//! Each `providers/<name>.yaml` describes one vendor's token authentication; the file stem is the
//! provider name. This crate embeds the files so tools (the CLI, tests) read exactly the specs
//! that were built, and adding a YAML file here adds a provider with no Rust edit.

include!(concat!(env!("OUT_DIR"), "/specs.rs"));

/// The YAML text of a provider's spec, by name.
pub fn spec_source(name: &str) -> Option<&'static str> {
    SPECS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// The names of all providers, sorted.
pub fn names() -> impl Iterator<Item = &'static str> {
    SPECS.iter().map(|(name, _)| *name)
}
