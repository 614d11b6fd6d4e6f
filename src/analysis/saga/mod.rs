//! Sagas: events correlated into saga instances by a correlation value,
//! each instance in exactly one state, with out-of-place events marked and
//! step-to-step durations kept per saga type.
//!
//! States (judged on the event clock, the latest receive time seen, so a
//! replay judges exactly like live did):
//! - `completed`: the last step was seen and no failure;
//! - `compensated`: a failure was seen, then the last compensation;
//! - `failed`: a failure was seen and the compensation is not complete;
//! - `stuck`: no failure, not completed, and no event for longer than the
//!   timeout;
//! - `in_progress`: otherwise.
//!
//! Without definitions the book infers: events with the same correlation
//! value form an instance, and the most frequent path of types among the
//! instances that went quiet is learned as the happy path ([`infer`]).

mod book;
mod branches;
mod definition;
mod durations;
mod infer;
mod instance;
#[cfg(test)]
mod tests;
mod view;

use super::fields;

pub use book::{INFERRED, MAX_INSTANCES, SagaBook};
pub use definition::{DEFAULT_TIMEOUT, Role, SagaDef};
pub use durations::{Durations, Percentiles, TypeStats};
pub use infer::{Learned, MAX_PATHS};
pub use instance::{Instance, MAX_EVENTS, Mark, SagaEvent, SagaState};
pub use view::{LaneKind, SagaRow, SagaTypeRow, SagaView, WATERFALL_ROWS};
