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

/// Comparisons all "did you mean" hints of one file may make together: a file with N
/// misspellings among N names stays linear (beyond it, hints list names instead).
const BUDGET: usize = 1_000_000;

/// How many names a hint lists before "and N more".
const LISTED: usize = 10;

/// "Did you mean" for one file, within [`BUDGET`] comparisons in all.
pub(crate) struct Suggestions {
    left: std::cell::Cell<usize>,
}

impl Suggestions {
    pub(crate) fn new() -> Self {
        Self {
            left: std::cell::Cell::new(BUDGET),
        }
    }

    /// [`did_you_mean`], or `None` once the file's budget does not cover `candidates`.
    pub(crate) fn did_you_mean<S: AsRef<str>>(
        &self,
        input: &str,
        candidates: &[S],
    ) -> Option<String> {
        let left = self.left.get().checked_sub(candidates.len())?;
        self.left.set(left);
        did_you_mean(input, candidates)
    }
}

/// `a, b, c`; beyond [`LISTED`] names, the first ones and `and N more`, so a hint repeated for
/// every one of N problems does not list N names each time.
pub(crate) fn listing<S: AsRef<str>>(names: &[S]) -> String {
    let shown: Vec<&str> = names.iter().take(LISTED).map(AsRef::as_ref).collect();
    let mut out = shown.join(", ");
    if names.len() > LISTED {
        out.push_str(&format!(", and {} more", names.len() - LISTED));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_stop_at_the_budget_and_listings_are_short() {
        let many: Vec<String> = (0..BUDGET / 2 + 1).map(|i| format!("name_{i}")).collect();
        let suggestions = Suggestions::new();
        assert!(suggestions.did_you_mean("name_1x", &many).is_some());
        assert_eq!(suggestions.did_you_mean("name_1x", &many), None);
        assert!(suggestions.did_you_mean("acess", &["access"]).is_some());
        assert_eq!(listing(&["a", "b"]), "a, b");
        assert_eq!(
            listing(&many[..12]),
            "name_0, name_1, name_2, name_3, name_4, name_5, name_6, name_7, name_8, name_9, and 2 more"
        );
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            closest("acess_token", &["access_token", "refresh_token"]),
            Some("access_token")
        );
        assert_eq!(closest("zzz", &["access_token"]), None);
    }
}
