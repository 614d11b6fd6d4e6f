//! How flowscope writes numbers, sizes, rates, times, durations and words,
//! in the TUI and in text output alike: one place, so a figure reads the
//! same wherever it is shown.
//!
//! - [`numbers`]: counts with thousands separators, sizes, rates;
//! - [`time`]: clock times and the one duration format;
//! - [`words`]: counted nouns (`1 range`, `2 ranges`);
//! - [`columns`]: padding and cutting by display width, for text tables.

pub mod columns;
pub mod numbers;
pub mod time;
pub mod words;

pub use columns::{cut, fit, fit_left, pad, pad_left};
pub use numbers::{byte_rate, bytes, count, rate, signed_rate, sparkline};
pub use time::{
    TimeZone, catch_up, clock, duration, duration_ms, full_time, offset, parse_duration,
};
pub use words::{counted, plural};
