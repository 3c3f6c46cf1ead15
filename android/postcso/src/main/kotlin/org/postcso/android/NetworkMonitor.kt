package org.postcso.android

import android.content.Context
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.os.Build
import org.postcso.Connectivity
import org.postcso.PostCso
import org.postcso.ffi.NetworkState
import org.postcso.ffi.PostException

/**
 * Feeds the default network's state to the core through `setNetworkState`: coming
 * online makes the engine sync at once, losing the network stops a run in flight
 * instead of letting it time out. Start it when the core is opened and stop it before
 * the core is closed.
 *
 * Requires `android.permission.ACCESS_NETWORK_STATE` (declared in the library manifest).
 */
class NetworkMonitor(context: Context, private val core: PostCso) {
    private val connectivity = context.getSystemService(ConnectivityManager::class.java)

    private val callback = object : ConnectivityManager.NetworkCallback() {
        override fun onCapabilitiesChanged(network: Network, caps: NetworkCapabilities) {
            report(caps)
        }

        override fun onLost(network: Network) {
            send(Connectivity.OFFLINE)
        }
    }

    /** Starts listening; the current state arrives at once through the callback. */
    fun start() {
        // Until the first callback the core must not assume a network.
        connectivity.activeNetwork
            ?.let { connectivity.getNetworkCapabilities(it) }
            ?.let(::report)
            ?: send(Connectivity.OFFLINE)
        connectivity.registerDefaultNetworkCallback(callback)
    }

    /** Stops listening. */
    fun stop() {
        connectivity.unregisterNetworkCallback(callback)
    }

    private fun report(caps: NetworkCapabilities) {
        val suspended = Build.VERSION.SDK_INT >= Build.VERSION_CODES.P &&
            !caps.hasCapability(NetworkCapabilities.NET_CAPABILITY_NOT_SUSPENDED)
        send(
            Connectivity.networkState(
                internet = caps.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET),
                validated = caps.hasCapability(NetworkCapabilities.NET_CAPABILITY_VALIDATED),
                suspended = suspended,
                unmetered = caps.hasCapability(NetworkCapabilities.NET_CAPABILITY_NOT_METERED),
                dataSaver = connectivity.restrictBackgroundStatus ==
                    ConnectivityManager.RESTRICT_BACKGROUND_STATUS_ENABLED,
            ),
        )
    }

    private fun send(state: NetworkState) {
        try {
            core.setNetworkState(state)
        } catch (e: PostException.Closed) {
            // A callback raced with sign-out: the closed core has nothing to sync.
        }
    }
}
