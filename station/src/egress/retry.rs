//! When a failed attempt is worth another, and how long to wait first.

use std::time::Duration;

use http::StatusCode;
use rand::Rng;

/// Statuses that say "not now" rather than "no": the server is overloaded,
/// restarting or behind a gateway that lost it.
pub(super) fn is_transient_status(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::INTERNAL_SERVER_ERROR
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

/// The wait before retry number `retry` (0 for the first): exponential from
/// `initial`, capped at `max`, with jitter (between half and all of it) so
/// that stations retrying together spread out.
pub(super) fn backoff(retry: u32, initial: Duration, max: Duration) -> Duration {
    let full = initial.saturating_mul(2u32.saturating_pow(retry)).min(max);
    let half = full / 2;
    let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
    half + Duration::from_millis(rand::rng().random_range(0..=jitter_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_and_stops_at_the_cap() {
        let initial = Duration::from_millis(100);
        let max = Duration::from_secs(1);
        for retry in 0..6 {
            let full = (initial * 2u32.pow(retry)).min(max);
            let wait = backoff(retry, initial, max);
            assert!(wait >= full / 2 && wait <= full, "retry {retry}: {wait:?}");
        }
    }

    #[test]
    fn only_overload_and_gateway_statuses_are_transient() {
        for status in [429, 500, 502, 503, 504] {
            assert!(is_transient_status(
                StatusCode::from_u16(status).expect("status")
            ));
        }
        for status in [200, 204, 400, 403, 404, 409, 501] {
            assert!(!is_transient_status(
                StatusCode::from_u16(status).expect("status")
            ));
        }
    }
}
