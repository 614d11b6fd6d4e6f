//! Do accounts with many consumers stay cheap for the engine and the UI?
//!
//! Feeds the engine 600 polls (a full history) of 10 streams × 100
//! consumers, then times one more poll and one frame of the lag view, and
//! the same with 10 consumers as the baseline measured in the same run;
//! prints both and the ratio, and the poll time against the 2 s poll
//! interval. Run: `cargo bench --bench lag`.

mod common;

use std::time::{Duration, Instant};

use flowscope::analysis::lag::{ConsumerState, LagPoll, StreamState};
use flowscope::analysis::{Engine, EngineConfig};

const S: i64 = 1_000_000_000;
const HISTORY: u64 = 600;
const FRAMES: usize = 200;

fn poll(streams: usize, per_stream: usize, i: u64) -> LagPoll {
    let mut out = LagPoll::default();
    for s in 0..streams {
        let name = format!("STREAM{s}");
        out.streams.push(StreamState {
            name: name.clone(),
            retention: "limits".into(),
            messages: 1000 + i * 10,
            last_seq: 1000 + i * 10,
            consumers: per_stream as u64,
            ..StreamState::default()
        });
        for c in 0..per_stream {
            let k = c as u64;
            out.consumers.push(ConsumerState {
                stream: name.clone(),
                name: format!("consumer-{c:04}"),
                durable: true,
                pull: true,
                ack_policy: "explicit".into(),
                unprocessed: (k * 7 + i) % 500,
                outstanding: k % 13,
                delivered_seq: 1000 + i * (k % 10),
                delivered_cseq: 1000 + i * (k % 10),
                ack_floor_seq: 1000 + i * (k % 9),
                ..ConsumerState::default()
            });
        }
    }
    out
}

/// The engine after a full history of polls, and the time of one more.
fn engine_with(streams: usize, per_stream: usize) -> (Engine, Duration) {
    let mut e = Engine::new(EngineConfig::default());
    for i in 0..HISTORY {
        e.lag_poll(i as i64 * 2 * S, &poll(streams, per_stream, i));
    }
    let next = poll(streams, per_stream, HISTORY);
    let mut times: Vec<Duration> = (0..5)
        .map(|k| {
            let mut copy = e.clone();
            let start = Instant::now();
            copy.lag_poll((HISTORY + k) as i64 * 2 * S, &next);
            start.elapsed()
        })
        .collect();
    times.sort();
    e.lag_poll(HISTORY as i64 * 2 * S, &next);
    (e, times[2])
}

fn main() {
    let (mut small, small_poll) = engine_with(1, 10);
    let (mut big, big_poll) = engine_with(10, 100);
    let small_frame = common::frame_time(&mut small, '5', FRAMES);
    let big_frame = common::frame_time(&mut big, '5', FRAMES);
    println!("history: {HISTORY} polls per consumer");
    println!("baseline: one poll of 10 consumers taken in:      {small_poll:>10.1?}");
    println!(
        "one poll of 1,000 consumers taken in:             {big_poll:>10.1?}  = {:.0}x baseline, {:.2}% of the 2 s interval",
        big_poll.as_secs_f64() / small_poll.as_secs_f64(),
        100.0 * big_poll.as_secs_f64() / 2.0
    );
    println!("baseline: lag view frame with 10 consumers:       {small_frame:>10.1?}");
    println!(
        "lag view frame with 1,000 consumers:              {big_frame:>10.1?}  = {:.2}x baseline",
        big_frame.as_secs_f64() / small_frame.as_secs_f64()
    );
}
