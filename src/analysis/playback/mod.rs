//! What replaying a recording looks like to the views and asks of a
//! player, without the player: its state ([`ReplayStatus`], with the
//! timeline's [`Marker`]s), the transport requests ([`Transport`],
//! [`Target`]), the speed steps, and go-to parsing ([`goto`]). The player
//! itself (`crate::replay`) sits above the engine like any other source.

pub mod goto;

use std::sync::Arc;

use crate::analysis::anomalies::AnomalyKind;

/// `[` and `]` jump this far.
pub const JUMP_NS: i64 = 10_000_000_000;

/// Replay speeds `+` and `-` step through; past the last is "as fast as
/// possible".
pub const SPEEDS: [f64; 11] = [
    0.1,
    0.25,
    0.5,
    1.0,
    2.0,
    5.0,
    10.0,
    20.0,
    50.0,
    100.0,
    f64::INFINITY,
];

/// Where to go in a recording.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// Before event N (0 = the start): N events played.
    Events(u64),
    /// A receive time (ns since the epoch).
    Time(i64),
}

/// What the replay controls ask for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Transport {
    TogglePause,
    Faster,
    Slower,
    /// One event, then pause.
    Step,
    /// Relative jump in recorded time (ns).
    Jump(i64),
    Start,
    End,
    GoTo(Target),
}

/// A point of interest on the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Anomaly(i64, AnomalyKind),
    Disconnect(i64),
}

impl Marker {
    pub fn time(self) -> i64 {
        match self {
            Marker::Anomaly(t, _) | Marker::Disconnect(t) => t,
        }
    }
}

/// The replay's state for the views.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplayStatus {
    pub file: String,
    pub playing: bool,
    /// Speed factor; infinite: as fast as possible.
    pub speed: f64,
    /// The replay clock: recorded time now (ns).
    pub position_ns: i64,
    pub start_ns: i64,
    /// Last record's time, once the indexer knows it.
    pub end_ns: Option<i64>,
    pub events_played: u64,
    /// Events in the file, once the indexer knows it.
    pub total_events: Option<u64>,
    /// Events the indexer has read so far.
    pub indexed_events: u64,
    pub markers: Arc<Vec<Marker>>,
    /// True after the last record.
    pub at_end: bool,
    /// Bytes of the file the indexer has read, and its size (0: unknown).
    pub index_progress: (u64, u64),
    /// A seek is waiting for the indexer to get there.
    pub seeking: bool,
}

/// The speed after `+` (faster) or `-` (slower).
pub fn next_speed(now: f64, faster: bool) -> f64 {
    let i = SPEEDS
        .iter()
        .position(|s| *s >= now)
        .unwrap_or(SPEEDS.len() - 1);
    if faster {
        SPEEDS[(i + 1).min(SPEEDS.len() - 1)]
    } else {
        SPEEDS[i.saturating_sub(1)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_step_and_stop_at_the_ends() {
        assert_eq!(next_speed(1.0, true), 2.0);
        assert_eq!(next_speed(1.0, false), 0.5);
        assert_eq!(next_speed(0.1, false), 0.1);
        assert_eq!(next_speed(100.0, true), f64::INFINITY);
        assert_eq!(next_speed(f64::INFINITY, true), f64::INFINITY);
        assert_eq!(next_speed(f64::INFINITY, false), 100.0);
    }
}
