//! Typed clients from provider specs, at compile time.
//!
//! ```text
//! // In a crate whose Cargo.toml sits next to `providers/` (here: this repository's layout),
//! // with `auth-macros` and `auth-runtime` as dependencies.
//! auth_macros::provider!("../providers/apiax.yaml"); // -> pub mod apiax { ... }
//!
//! assert_eq!(apiax::NAME, "apiax");
//! assert_eq!(apiax::Environment::default().base_url(), Some("https://auth.apiax.io"));
//! ```
//!
//! (Not a doctest here: this crate does not depend on `auth-runtime`, which the generated code
//! needs, so its tests build no runtime. The same calls run in `providers/tests/surface`.)
//!
//! `providers!("dir")` generates one module per YAML in the folder; both take an optional
//! `doc_parent = "my_crate::path"` so that the generated doc examples name the module by its
//! full path and compile as doctests.
//!
//! Paths are relative to the crate's `CARGO_MANIFEST_DIR` (or, failing that, to the file that
//! invokes the macro). The generated code embeds each YAML with `include_str!`, so editing a
//! spec rebuilds the crate. A spec with problems is a compile error per problem, each as
//! `file:line:col: message` with its hint. The generated code needs `auth-runtime` as a
//! dependency (it reaches reqwest, tokio, serde and secrecy through it); this crate itself
//! depends on neither.
//!
//! To have a new YAML file in a `providers!` folder picked up without touching Rust code, add a
//! build script printing `cargo:rerun-if-changed=<folder>` and include one of its outputs (the
//! `providers` crate of this repository does).

use std::path::{Path, PathBuf};

use auth_codegen::{Options, SpecSource};
use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{LitStr, Token};

/// The macro's arguments: a path and optional `doc_parent = "..."`.
struct Args {
    path: LitStr,
    doc_parent: Option<String>,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let path: LitStr = input.parse()?;
        let mut doc_parent = None;
        while input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let key: syn::Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            let value: LitStr = input.parse()?;
            if key == "doc_parent" {
                doc_parent = Some(value.value());
            } else {
                return Err(syn::Error::new(
                    key.span(),
                    format!(
                        "unknown option `{key}`; the only option is `doc_parent = \"crate::path\"`"
                    ),
                ));
            }
        }
        Ok(Self { path, doc_parent })
    }
}

/// Generates `pub mod <name>` for one provider spec (`<name>` = the file stem).
///
/// `provider!("providers/apiax.yaml")`, optionally `, doc_parent = "my_crate::vendors"` so that
/// the generated doc examples name the module by its full path and compile as doctests.
#[proc_macro]
pub fn provider(input: TokenStream) -> TokenStream {
    let args = syn::parse_macro_input!(input as Args);
    match expand_one(&args) {
        Ok(tokens) => tokens.into(),
        Err(errors) => errors.into(),
    }
}

/// Generates one module per `*.yaml` / `*.yml` file in a folder, checked together (environment
/// variables unique across providers).
#[proc_macro]
pub fn providers(input: TokenStream) -> TokenStream {
    let args = syn::parse_macro_input!(input as Args);
    match expand_dir(&args) {
        Ok(tokens) => tokens.into(),
        Err(errors) => errors.into(),
    }
}

/// Finds a path relative to the manifest folder, else to the invoking file's folder.
fn resolve(written: &str, span: Span) -> Result<PathBuf, proc_macro2::TokenStream> {
    if let Ok(dir) = std::env::var("CARGO_MANIFEST_DIR") {
        let candidate = Path::new(&dir).join(written);
        if candidate.exists() {
            return Ok(candidate);
        }
    }
    if let Some(parent) = proc_macro::Span::call_site()
        .local_file()
        .and_then(|f| f.parent().map(Path::to_path_buf))
    {
        let candidate = parent.join(written);
        if candidate.exists() {
            return Ok(candidate);
        }
    }
    // The absolute paths tried are not shown: they differ per machine and checkout.
    let message = format!(
        "{written}: no such file or folder (paths are relative to the crate root, CARGO_MANIFEST_DIR, or to the file that invokes the macro)"
    );
    Err(quote::quote_spanned!(span => compile_error!(#message);))
}

fn diagnostics_error(diagnostics: &auth_spec::Diagnostics, span: Span) -> proc_macro2::TokenStream {
    diagnostics
        .iter()
        .map(|d| {
            let mut message = if d.line == 0 {
                format!("{}: {}", d.file, d.message)
            } else {
                format!("{}:{}:{}: {}", d.file, d.line, d.column, d.message)
            };
            if let Some(hint) = &d.hint {
                message.push_str(&format!("\n  = hint: {hint}"));
            }
            quote::quote_spanned!(span => compile_error!(#message);)
        })
        .collect()
}

fn read(path: &Path, shown: &str, span: Span) -> Result<String, proc_macro2::TokenStream> {
    let bytes = std::fs::read(path).map_err(|e| {
        let message = format!("{shown}: cannot read the file: {e}");
        quote::quote_spanned!(span => compile_error!(#message);)
    })?;
    // Not UTF-8 or binary: reported at the first bad byte, as the validator does.
    auth_spec::spec_text(shown, bytes).map_err(|d| diagnostics_error(&d, span))
}

fn options(path: &Path, shown: &str, args: &Args) -> Options {
    Options {
        source: SpecSource::File(path.display().to_string()),
        display_path: shown.to_owned(),
        doc_parent: args.doc_parent.clone(),
    }
}

fn expand_one(args: &Args) -> Result<proc_macro2::TokenStream, proc_macro2::TokenStream> {
    let span = args.path.span();
    let written = args.path.value();
    let path = resolve(&written, span)?;
    let text = read(&path, &written, span)?;
    let spec = auth_spec::parse(&written, &text).map_err(|d| diagnostics_error(&d, span))?;
    Ok(auth_codegen::generate(
        &spec,
        &options(&path, &written, args),
    ))
}

fn expand_dir(args: &Args) -> Result<proc_macro2::TokenStream, proc_macro2::TokenStream> {
    let span = args.path.span();
    let written = args.path.value();
    let dir = resolve(&written, span)?;
    let files = auth_spec::spec_files(&dir).map_err(|d| diagnostics_error(&d, span))?;
    let mut sources = Vec::new();
    for file in &files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let shown = match written.trim_end_matches('/') {
            "" | "." => name,
            prefix => format!("{prefix}/{name}"),
        };
        let text = read(file, &shown, span)?;
        sources.push((file.clone(), shown, text));
    }
    let set: Vec<(&str, &str)> = sources
        .iter()
        .map(|(_, shown, text)| (shown.as_str(), text.as_str()))
        .collect();
    let specs = auth_spec::parse_set(&set).map_err(|d| diagnostics_error(&d, span))?;
    let modules = specs
        .iter()
        .zip(&sources)
        .map(|(spec, (path, shown, _))| auth_codegen::generate(spec, &options(path, shown, args)));
    Ok(quote!(#(#modules)*))
}
