//! Standard output that a closed reader does not crash: `auth-cli providers | head -1` must not
//! panic with "Broken pipe". A failed write is remembered and later output dropped, so that the
//! command still ends as it would have (its session saved, its renewals awaited); `main` then
//! exits quietly on a broken pipe, or reports any other write error.

use std::io::Write as _;
use std::sync::Mutex;

/// The first write error, if any.
static FAILED: Mutex<Option<std::io::ErrorKind>> = Mutex::new(None);

/// Writes `text` to stdout and flushes, unless an earlier write failed.
pub fn write(text: &str) {
    let Ok(mut failed) = FAILED.lock() else {
        return;
    };
    if failed.is_some() {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(error) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        *failed = Some(error.kind());
    }
}

/// What went wrong writing to stdout: `None` when all was written or the reader went away (a
/// broken pipe is not an error of this program's), else the error.
pub fn error() -> Option<std::io::ErrorKind> {
    let failed = FAILED.lock().ok().and_then(|f| *f)?;
    (failed != std::io::ErrorKind::BrokenPipe).then_some(failed)
}

/// `println!` through [`write`].
macro_rules! outln {
    () => {
        $crate::output::write("\n")
    };
    ($($arg:tt)*) => {
        $crate::output::write(&format!("{}\n", format_args!($($arg)*)))
    };
}
pub(crate) use outln;
