//! Sizes as written in specs: a number of bytes (`65536`) or a number with a unit (`64KiB`,
//! `1MiB`, `100kB`, `5MB`, `4096B`). Binary units are powers of 1024, decimal ones of 1000.

/// Parses a size into bytes. Units are case-insensitive; a space may separate number and unit.
pub fn parse_size(input: &str) -> Result<u64, String> {
    let text = input.trim();
    let digits = text.chars().take_while(char::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let not_a_size = || {
        format!(
            "`{input}` is not a size: write bytes (`65536`) or a number with a unit (`64KiB`, `1MiB`)"
        )
    };
    if number.is_empty() {
        return Err(not_a_size());
    }
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => return Err(not_a_size()),
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| format!("`{input}` is too large a size"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_and_units() {
        assert_eq!(parse_size("65536"), Ok(65_536));
        assert_eq!(parse_size("64KiB"), Ok(65_536));
        assert_eq!(parse_size("1 mib"), Ok(1 << 20));
        assert_eq!(parse_size("5MB"), Ok(5_000_000));
        assert!(parse_size("1.5MiB").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("KiB").is_err());
        assert!(parse_size("99999999999999999999").is_err());
        assert!(parse_size("99999999999GiB").is_err());
    }
}
