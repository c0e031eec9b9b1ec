//! Hooks for the integration tests, and nothing else: no user needs them. They exist for the tests
//! that need an apply to be slow: the kill -9 tests that interrupt it between two changes and then
//! check that the workspace is valid and that applying again finishes the job, and the tests of
//! its lock, of concurrent applies and of its progress bar.

use std::time::Duration;

/// `TOKENPLAN_TEST_APPLY_PAUSE_MS`: how long an apply sleeps before each change. Unset or not a
/// number: no pause.
pub(super) fn apply_pause() -> Option<Duration> {
    std::env::var("TOKENPLAN_TEST_APPLY_PAUSE_MS")
        .ok()
        .and_then(|ms| ms.parse::<u64>().ok())
        .map(Duration::from_millis)
}
