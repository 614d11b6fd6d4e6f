//! Replaying a recording through the same engine and views as live: a
//! player paces the records by their receive times (scaled by the speed),
//! and an indexer reads the whole file ahead, building checkpoints for
//! seeking, the total duration and the timeline's markers.
//!
//! Records are applied the same way by both ([`Record::apply`]), and the
//! engine is deterministic, so a seek lands on exactly the state a straight
//! run to that point has. The types the views see (status, markers,
//! transport) are in [`crate::analysis::playback`].
//!
//! [`Record::apply`]: crate::recording::Record::apply

pub mod index;
pub mod player;

pub use player::{Replay, ReplayOptions};
