//! A spec file's bytes as text: UTF-8 holding only characters YAML allows. What is not is
//! reported at the line and column of its first bad byte, with a word on what the file likely
//! is (binary, UTF-16, Latin-1), instead of a parser message without a place.

use std::path::Path;

use crate::diagnostic::{Diagnostic, Diagnostics};

/// Reads a spec file: its text, or one diagnostic (unreadable, not UTF-8, a character YAML
/// does not allow), positioned at the first bad byte where there is one.
pub fn read_spec(file: &Path) -> Result<String, Diagnostics> {
    let shown = crate::display_path(file);
    let bytes = std::fs::read(file).map_err(|e| {
        Diagnostics(vec![Diagnostic {
            file: shown.clone(),
            line: 0,
            column: 0,
            message: format!("cannot read the file: {e}"),
            hint: None,
        }])
    })?;
    spec_text(&shown, bytes)
}

/// The text of a spec file's `bytes`, `shown` as `shown` in diagnostics; see [`read_spec`].
pub fn spec_text(shown: &str, bytes: Vec<u8>) -> Result<String, Diagnostics> {
    match String::from_utf8(bytes) {
        Ok(text) => match not_yaml_char(shown, &text) {
            Some(d) => Err(Diagnostics(vec![d])),
            None => Ok(text),
        },
        Err(e) => {
            let bytes = e.as_bytes();
            let at = e.utf8_error().valid_up_to();
            // Everything before `at` is valid UTF-8.
            let before = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
            let (line, column) = line_column(before);
            let byte = bytes[at];
            let utf16 = bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]);
            let hint = if utf16 {
                "the file is UTF-16; save it as UTF-8"
            } else if looks_binary(bytes) {
                "this looks like a binary file, not a YAML spec"
            } else {
                "save the file as UTF-8 (it may be Latin-1 or Windows-1252)"
            };
            Err(Diagnostics(vec![Diagnostic {
                file: shown.to_owned(),
                line,
                column,
                message: if utf16 {
                    "the file is not UTF-8 text: it starts with a UTF-16 byte order mark".into()
                } else {
                    format!("the file is not UTF-8 text: byte 0x{byte:02X} is not valid UTF-8 here")
                },
                hint: Some(hint.into()),
            }]))
        }
    }
}

/// The first character YAML does not allow (YAML 1.2 `c-printable`), as a diagnostic. Read in
/// one pass, tracking line and column.
pub(crate) fn not_yaml_char(shown: &str, text: &str) -> Option<Diagnostic> {
    let (index, c) = text.char_indices().find(|(_, c)| !is_yaml_printable(*c))?;
    let (line, column) = line_column(&text[..index]);
    let (message, hint) = if c == '\0' {
        (
            "the file contains a NUL character (U+0000), which YAML does not allow".to_owned(),
            if looks_binary(text.as_bytes()) {
                "this looks like a binary file, not a YAML spec"
            } else {
                "remove the character"
            },
        )
    } else {
        (
            format!(
                "the file contains a control character (U+{:04X}), which YAML does not allow",
                u32::from(c)
            ),
            "remove the character; write it as an escape (`\\x01`) in a double-quoted string if the value needs it",
        )
    };
    Some(Diagnostic {
        file: shown.to_owned(),
        line,
        column,
        message,
        hint: Some(hint.into()),
    })
}

/// YAML 1.2 `c-printable`: tab, line breaks, and printable Unicode.
fn is_yaml_printable(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\r' | ' '..='~' | '\u{85}'
        | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Git's heuristic: a NUL in the first 8000 bytes.
fn looks_binary(bytes: &[u8]) -> bool {
    bytes.iter().take(8000).any(|b| *b == 0)
}

/// The 1-based line and column (in characters) just after `before`.
fn line_column(before: &str) -> (u64, u64) {
    let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
    let last = before.rfind('\n').map_or(before, |i| &before[i + 1..]);
    (line as u64, last.chars().count() as u64 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters() {
        assert_eq!(line_column(""), (1, 1));
        assert_eq!(line_column("ab"), (1, 3));
        assert_eq!(line_column("a\n\u{e9}\u{20ac}"), (2, 3));
        assert!(is_yaml_printable('\u{feff}'));
        assert!(!is_yaml_printable('\u{7f}'));
        assert!(!is_yaml_printable('\u{fffe}'));
    }
}
