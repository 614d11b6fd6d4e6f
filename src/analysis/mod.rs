//! Everything the views show is computed here, synchronously and without
//! async or UI dependencies, so live and recorded input are analysed alike.

pub mod anomalies;
pub mod blind;
pub mod classify;
pub mod dedup;
pub mod detect;
pub mod engine;
pub mod fields;
pub mod filter;
pub mod flow;
pub mod json;
pub mod lag;
pub mod ordering;
pub mod playback;
pub mod saga;
pub mod schema;
pub mod snapshot;
pub mod stats;
pub mod store;
pub mod subjects;

use std::collections::HashMap;

pub use engine::{Engine, EngineConfig, LinkEvent};

/// Hash map of the hot paths: foldhash is fast and, seeded per process,
/// safe with keys that come from the network.
pub type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
/// Hash set of the hot paths (see [`FastMap`]).
pub type FastSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;
/// Hash map keyed by a hash already computed with [`keyed_hash`] (seeded
/// per process, so safe with keys from the network): the key is its own
/// hash, nothing is hashed twice.
pub type PrehashedMap<V> = HashMap<u64, V, std::hash::BuildHasherDefault<Prehashed>>;

/// The hasher of [`PrehashedMap`]: passes the `u64` key through.
#[derive(Debug, Default, Clone, Copy)]
pub struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed by this map; fold anything else in.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A 64-bit hash of `bytes` under this process's random seed, with `salt`
/// folded in (to keep kinds of key apart). Two different inputs collide
/// with a chance of about 2^-64 a pair.
pub fn keyed_hash(salt: u64, bytes: &[u8]) -> u64 {
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let seed = *SEED.get_or_init(|| {
        use std::hash::BuildHasher;
        std::collections::hash_map::RandomState::new().hash_one(0x666c_6f77_u64)
    });
    xxhash_rust::xxh3::xxh3_64_with_seed(bytes, seed ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}
pub use snapshot::Snapshot;

/// What flowscope.toml configures about the analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisConfig {
    pub fields: fields::FieldSet,
    /// Per-subject field chains, first match wins.
    pub subjects: Vec<fields::SubjectFields>,
    pub dedup: dedup::DedupConfig,
    pub ordering_max_keys: usize,
    /// Events per type that define its schema.
    pub schema_learn: usize,
    /// Kinds set by hand, by event type.
    pub kinds: HashMap<String, classify::Kind>,
    /// Consumer health thresholds.
    pub lag: lag::LagConfig,
    /// Saga definitions (`[[sagas]]`).
    pub sagas: Vec<saga::SagaDef>,
    /// Without definitions: the timeout after which an inferred instance
    /// is quiet (`[saga_inference]`); `None`: no inference.
    pub saga_inference: Option<std::time::Duration>,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            fields: fields::FieldSet::default(),
            subjects: Vec::new(),
            dedup: dedup::DedupConfig::default(),
            ordering_max_keys: ordering::DEFAULT_MAX_KEYS,
            schema_learn: schema::DEFAULT_LEARN,
            kinds: HashMap::new(),
            lag: lag::LagConfig::default(),
            sagas: Vec::new(),
            saga_inference: Some(saga::DEFAULT_TIMEOUT),
        }
    }
}
