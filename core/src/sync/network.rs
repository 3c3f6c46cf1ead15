//! What the platform tells the engine about the phone: connectivity and battery,
//! and the carrier's or station's policy for using them.

/// Connectivity as the platform sees it (Android `ConnectivityManager`, iOS
/// `NWPathMonitor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkState {
    /// A network with internet access is up.
    pub online: bool,
    /// The network is billed by volume (mobile data, a metered hotspot).
    pub metered: bool,
    /// The OS asks apps to save data (Android Data Saver, iOS Low Data Mode).
    pub constrained: bool,
}

impl NetworkState {
    /// No network at all.
    pub const OFFLINE: Self = Self {
        online: false,
        metered: false,
        constrained: false,
    };
    /// Wi-Fi or another unmetered, unconstrained network.
    pub const UNMETERED: Self = Self {
        online: true,
        metered: false,
        constrained: false,
    };
    /// Mobile data.
    pub const METERED: Self = Self {
        online: true,
        metered: true,
        constrained: false,
    };
}

impl Default for NetworkState {
    /// Until the platform says otherwise the engine assumes it may try: a failed
    /// attempt costs a backoff, a wrong "offline" would strand reports.
    fn default() -> Self {
        Self::UNMETERED
    }
}

/// How the engine may spend data and battery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncPolicy {
    /// Send report metadata on any network, but photos only on unmetered,
    /// unconstrained ones: the station learns of the problem at once, the
    /// carrier's data plan is spared.
    pub photos_only_unmetered: bool,
    /// Hold photo uploads while the battery is low; metadata still goes.
    pub defer_photos_on_low_battery: bool,
    /// Reports whose photos upload at the same time. Several keep a link with a
    /// long round trip busy (3 reach 94 % of a 20 Mbit/s, 50 ms link); one means an
    /// interruption can cost at most the single chunk in flight.
    pub uploads_in_flight: usize,
}

impl Default for SyncPolicy {
    fn default() -> Self {
        Self {
            photos_only_unmetered: false,
            defer_photos_on_low_battery: true,
            uploads_in_flight: 3,
        }
    }
}

/// Whether photo uploads must wait, given the policy and the phone's state.
pub(crate) fn photos_deferred(
    policy: SyncPolicy,
    network: NetworkState,
    battery_low: bool,
) -> Option<&'static str> {
    if policy.photos_only_unmetered && (network.metered || network.constrained) {
        Some("photos wait for an unmetered network")
    } else if policy.defer_photos_on_low_battery && battery_low {
        Some("photos wait for the battery to recover")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photos_wait_for_wifi_only_when_the_policy_says_so() {
        let strict = SyncPolicy {
            photos_only_unmetered: true,
            defer_photos_on_low_battery: false,
            ..SyncPolicy::default()
        };
        assert!(photos_deferred(strict, NetworkState::METERED, false).is_some());
        let constrained = NetworkState {
            constrained: true,
            ..NetworkState::UNMETERED
        };
        assert!(photos_deferred(strict, constrained, false).is_some());
        assert!(photos_deferred(strict, NetworkState::UNMETERED, false).is_none());
        assert!(photos_deferred(SyncPolicy::default(), NetworkState::METERED, false).is_none());
    }

    #[test]
    fn low_battery_defers_photos_by_default() {
        assert!(photos_deferred(SyncPolicy::default(), NetworkState::UNMETERED, true).is_some());
        let eager = SyncPolicy {
            defer_photos_on_low_battery: false,
            ..SyncPolicy::default()
        };
        assert!(photos_deferred(eager, NetworkState::UNMETERED, true).is_none());
    }
}
