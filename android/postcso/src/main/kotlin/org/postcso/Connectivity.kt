package org.postcso

import org.postcso.ffi.NetworkState

/**
 * Turns what the platform knows about the default network into the core's
 * [NetworkState]. Kept free of the Android SDK (the `NetworkMonitor` reads the
 * capabilities and calls [networkState]) so the rule is one tested function.
 */
object Connectivity {
    /** No usable network: the state after `onLost` or before the first callback. */
    val OFFLINE = NetworkState(online = false, metered = false, constrained = false)

    /**
     * The core's view of a network.
     *
     * @param internet the network claims internet access (`NET_CAPABILITY_INTERNET`).
     * @param validated the OS checked that it really reaches the internet
     *   (`NET_CAPABILITY_VALIDATED`): a captive portal is not online.
     * @param suspended the network is up but cannot carry data right now
     *   (no `NET_CAPABILITY_NOT_SUSPENDED`, e.g. mobile data during a call).
     * @param unmetered not billed by volume (`NET_CAPABILITY_NOT_METERED`).
     * @param dataSaver the user turned Data Saver on for background apps.
     */
    fun networkState(
        internet: Boolean,
        validated: Boolean,
        suspended: Boolean,
        unmetered: Boolean,
        dataSaver: Boolean,
    ): NetworkState = NetworkState(
        online = internet && validated && !suspended,
        metered = !unmetered,
        constrained = dataSaver,
    )
}
