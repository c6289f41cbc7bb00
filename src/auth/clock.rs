//! The one place tessera reads the wall clock. Domain functions take `now` as a parameter.

/// The current time in unix seconds.
pub fn now() -> i64 {
    #[allow(
        clippy::disallowed_methods,
        reason = "this is the edge where the clock is read"
    )]
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX)
}
