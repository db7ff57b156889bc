//! Property tests of the parsers: schedules, workflow files and events (the chat
//! platforms' renderers are property-tested in their folders). Each property runs on [`CASES`] generated inputs; a failure prints the
//! smallest input proptest could shrink it to.

use proptest::test_runner::Config;

mod events;
mod schedule;
mod specs;
mod workflow;

/// Enough cases to find the edges, few enough to keep the suite quick on two cores.
const CASES: u32 = 256;

/// The runner's settings: [`CASES`] cases unless `PROPTEST_CASES` asks for more (a deeper
/// search by hand), and no regression files in the tree (a failure found here becomes an
/// example test next to its property instead).
fn config() -> Config {
    let defaults = Config::default();
    Config {
        cases: match std::env::var_os("PROPTEST_CASES") {
            Some(_) => defaults.cases,
            None => CASES,
        },
        failure_persistence: None,
        ..defaults
    }
}
