//! Rust names for spec names: modules and fields in snake case, types and variants in upper
//! camel case, with keywords and invalid characters handled.

use proc_macro2::{Ident, Span};

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// Splits a JSON key or spec name into lower-case words (`not-before-policy`, `accessToken`,
/// `session_state` -> words).
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// `snake_case`, never empty, never starting with a digit.
pub fn snake(name: &str) -> String {
    let joined = words(name).join("_");
    match joined.chars().next() {
        None => "field".to_owned(),
        Some(c) if c.is_ascii_digit() => format!("_{joined}"),
        Some(_) => joined,
    }
}

/// `UpperCamelCase`, never empty, never starting with a digit.
pub fn camel(name: &str) -> String {
    let joined: String = words(name)
        .iter()
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect();
    match joined.chars().next() {
        None => "Value".to_owned(),
        Some(c) if c.is_ascii_digit() => format!("V{joined}"),
        Some(_) => joined,
    }
}

/// An identifier, raw (`r#type`) when it is a keyword.
pub fn ident(name: &str) -> Ident {
    if matches!(name, "self" | "Self" | "super" | "crate") {
        return Ident::new(&format!("{name}_"), Span::call_site());
    }
    if KEYWORDS.contains(&name) {
        Ident::new_raw(name, Span::call_site())
    } else {
        Ident::new(name, Span::call_site())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_vendor_keys() {
        assert_eq!(snake("not-before-policy"), "not_before_policy");
        assert_eq!(snake("accessToken"), "access_token");
        assert_eq!(snake("2fa"), "_2fa");
        assert_eq!(camel("access_token"), "AccessToken");
        assert_eq!(camel("production"), "Production");
        assert_eq!(ident("type").to_string(), "r#type");
        assert_eq!(ident("self").to_string(), "self_");
    }
}

/// A spec author's description as a doc sentence: trimmed, ending with a period (or another
/// final mark) so that what the generated doc adds after it reads as a new sentence.
pub(crate) fn sentence(text: &str) -> String {
    let text = text.trim();
    if text.ends_with(['.', '!', '?']) {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}

#[cfg(test)]
mod sentence_tests {
    use super::sentence;

    #[test]
    fn a_description_becomes_a_sentence() {
        assert_eq!(sentence("The user's password"), "The user's password.");
        assert_eq!(sentence("  Apiax production.  "), "Apiax production.");
        assert_eq!(sentence("Really?"), "Really?");
    }
}
