//! Choosing the size of each upload chunk from the throughput measured so far.
//!
//! Big chunks waste less time on round trips; small ones lose less when the
//! connection drops (at most one chunk is sent twice) and fit the OS's short
//! background windows. The sizer aims at chunks that take about two seconds.

use std::time::Duration;

/// Smallest chunk: below this, round trips dominate even on a poor link.
pub const MIN_CHUNK: usize = 64 * 1024;
/// Largest chunk.
pub const MAX_CHUNK: usize = 8 * 1024 * 1024;
/// First chunk before anything is measured: most processed photos (under
/// 400 KB) then go in a single creation-with-upload request.
pub const FIRST_CHUNK: usize = 512 * 1024;
/// How long one chunk should take.
const TARGET: Duration = Duration::from_secs(2);

/// Adaptive chunk size.
///
/// Two signals: the measured throughput sets the size that takes about two
/// seconds, and a ceiling halves after every chunk the link lost and doubles after
/// every chunk it delivered, so on a link that drops every few seconds the chunks
/// shrink until they get through between drops instead of failing forever.
#[derive(Debug, Clone)]
pub(crate) struct ChunkSizer {
    /// Measured throughput in bytes per second, smoothed; `None` before the first chunk.
    throughput: Option<f64>,
    /// Upper bound from recent losses.
    ceiling: usize,
}

impl Default for ChunkSizer {
    fn default() -> Self {
        Self {
            throughput: None,
            ceiling: MAX_CHUNK,
        }
    }
}

impl ChunkSizer {
    /// Records a chunk of `bytes` that took `elapsed` (request to answer).
    pub fn record(&mut self, bytes: usize, elapsed: Duration) {
        if bytes >= self.ceiling / 2 {
            self.ceiling = (self.ceiling * 2).min(MAX_CHUNK);
        }
        if bytes < 16 * 1024 || elapsed.is_zero() {
            return; // Too small to say anything about the link.
        }
        let sample = bytes as f64 / elapsed.as_secs_f64();
        self.throughput = Some(match self.throughput {
            None => sample,
            Some(previous) => previous * 0.6 + sample * 0.4,
        });
    }

    /// Records a chunk of `bytes` the link lost (connection cut, timeout).
    pub fn record_loss(&mut self, bytes: usize) {
        self.ceiling = (bytes.min(self.ceiling) / 2).max(MIN_CHUNK);
    }

    /// The next chunk's size, shrunk so it fits in half of `time_left` when the
    /// run has a deadline.
    pub fn next(&self, time_left: Option<Duration>) -> usize {
        let Some(rate) = self.throughput else {
            return FIRST_CHUNK.min(self.ceiling);
        };
        let mut size = rate * TARGET.as_secs_f64();
        if let Some(left) = time_left {
            size = size.min(rate * left.as_secs_f64() / 2.0);
        }
        (size as usize).clamp(MIN_CHUNK, self.ceiling.max(MIN_CHUNK))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_with_one_request_per_typical_photo() {
        assert!(ChunkSizer::default().next(None) >= 400 * 1024);
    }

    #[test]
    fn follows_the_link_speed_within_bounds() {
        let mut fast = ChunkSizer::default();
        fast.record(4 << 20, Duration::from_millis(200)); // ~20 MB/s
        assert_eq!(fast.next(None), MAX_CHUNK);
        let mut slow = ChunkSizer::default();
        slow.record(64 << 10, Duration::from_secs(4)); // 16 KB/s
        assert_eq!(slow.next(None), MIN_CHUNK);
        let mut medium = ChunkSizer::default();
        medium.record(1 << 20, Duration::from_secs(1)); // 1 MB/s
        assert_eq!(medium.next(None), 2 << 20);
    }

    #[test]
    fn losses_halve_the_chunk_and_deliveries_grow_it_back() {
        let mut s = ChunkSizer::default();
        s.record_loss(FIRST_CHUNK);
        assert_eq!(s.next(None), FIRST_CHUNK / 2);
        s.record_loss(FIRST_CHUNK / 2);
        s.record_loss(FIRST_CHUNK / 4);
        s.record_loss(FIRST_CHUNK / 8);
        assert_eq!(s.next(None), MIN_CHUNK, "never below the floor");
        s.record(MIN_CHUNK, Duration::from_millis(10)); // a fast link after all
        assert_eq!(s.next(None), 2 * MIN_CHUNK);
    }

    #[test]
    fn shrinks_to_fit_the_time_left() {
        let mut s = ChunkSizer::default();
        s.record(1 << 20, Duration::from_secs(1));
        assert_eq!(s.next(Some(Duration::from_millis(500))), 256 << 10);
        assert_eq!(s.next(Some(Duration::ZERO)), MIN_CHUNK);
    }
}
