//! JetStream consumer lag: what one poll of the server says
//! ([`LagPoll`], also the lag record of a recording), the bounded history
//! kept per consumer, and the health verdict judged on a sliding window of
//! samples in the spirit of LinkedIn Burrow.
//!
//! Health rules, checked in this order on the last `window` samples of a
//! consumer (lag = unprocessed + outstanding acks):
//!
//! 1. `REWIND`: the delivered or ack floor sequence went backwards between
//!    two samples (the consumer was reset or recreated).
//! 2. `UNKNOWN`: fewer than `window` samples yet.
//! 3. `OK`: the lag was at or under `allowed_lag` in some sample.
//! 4. `STOP`: no progress across the window: neither deliveries (the
//!    consumer sequence, which counts redeliveries) nor the ack floor moved.
//! 5. `STALL`: deliveries advanced but the ack floor did not, or the count
//!    of redelivered messages never fell and ended higher than it started.
//! 6. `WARN`: the lag never decreased from one sample to the next and ended
//!    higher than it started.
//! 7. `OK`: otherwise (the lag is shrinking or holding while the consumer
//!    makes progress).

mod book;
mod health;
mod poll;
#[cfg(test)]
mod tests;
mod view;

pub use book::LagBook;
pub use health::{
    Health, HealthRules, LagConfig, RulesOverride, Sample, catch_up_secs, judge, lag_rate,
};
pub use poll::{ConsumerConfig, ConsumerState, LagPoll, StreamState};
pub use view::{Capture, ConsumerLag, LagView, StreamLag};

/// Samples kept per consumer (at the default 2 s interval, 20 minutes).
pub const HISTORY: usize = 600;
/// Consumers followed at most (of one poll, in the server's order).
pub const MAX_CONSUMERS: usize = 10_000;
