//! Per-client rate limits for the unauthenticated endpoints (enrolment,
//! sign-in), so codes and passwords cannot be tried at speed and argon2 cannot
//! be used to burn the CPU.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::problem::Problem;

/// A token bucket per client address.
#[derive(Debug)]
pub struct IpRateLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

impl IpRateLimiter {
    /// Allows `burst` attempts at once, refilled at `per_minute`.
    pub fn new(per_minute: NonZeroU32, burst: NonZeroU32) -> Self {
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst)),
            clock: DefaultClock::default(),
        }
    }

    /// Takes one token for `ip`, or answers 429 with Retry-After.
    pub fn check(&self, ip: IpAddr) -> Result<(), Problem> {
        self.limiter
            .check_key(&bucket_key(ip))
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(self.clock.now());
                Problem::rate_limited(wait.as_secs().max(1))
            })
    }

    /// Forgets clients whose buckets are full again, bounding memory.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// IPv6 clients get a whole /64 each, since one host can hold many addresses.
fn bucket_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

/// The peer address of the connection. Falls back to the unspecified address
/// (one shared bucket) when the server was not started with connect info.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        Ok(Self(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_after_the_burst_and_keeps_clients_apart() {
        let one = NonZeroU32::MIN;
        let limiter = IpRateLimiter::new(one, one);
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        let b: IpAddr = "192.0.2.2".parse().expect("ip");
        assert!(limiter.check(a).is_ok());
        let refused = limiter.check(a).expect_err("second attempt");
        assert_eq!(refused.status, 429);
        assert!(limiter.check(b).is_ok());
    }
}
