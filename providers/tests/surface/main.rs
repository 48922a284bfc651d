//! Each generated client's whole public surface, used as a caller would: these compile only
//! while the generated API keeps its shape, and their assertions run as ordinary tests (the
//! macro's compile errors are trybuild cases in `auth-macros/tests/ui`, which need no runtime).

mod apiax;
mod idissuer;
mod intergiro;
mod optional_credentials;
