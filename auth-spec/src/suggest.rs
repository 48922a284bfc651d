//! "Did you mean" suggestions for misspelt keys and names.

/// The closest of `candidates` to `input`, phrased as a hint, when one is close enough to be a
/// likely typo.
pub fn did_you_mean<S: AsRef<str>>(input: &str, candidates: &[S]) -> Option<String> {
    closest(input, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// The closest of `candidates` to `input` by Jaro-Winkler similarity, if above 0.8.
pub fn closest<'a, S: AsRef<str>>(input: &str, candidates: &'a [S]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(input, c.as_ref()), c.as_ref()))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            closest("acess_token", &["access_token", "refresh_token"]),
            Some("access_token")
        );
        assert_eq!(closest("zzz", &["access_token"]), None);
    }
}
