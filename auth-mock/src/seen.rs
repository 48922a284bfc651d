//! A request as the simulator saw it.

/// What a request carried, as text to search for tokens and credentials.
pub(crate) struct Seen {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) content_type: String,
    /// Header values, query and body together, with HTTP Basic credentials decoded.
    pub(crate) haystack: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) query: Vec<(String, String)>,
    /// The body as received.
    pub(crate) body: String,
}
