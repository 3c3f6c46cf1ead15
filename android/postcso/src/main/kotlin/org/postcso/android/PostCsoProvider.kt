package org.postcso.android

import org.postcso.PostCso

/**
 * Implemented by the app's `Application` so that components the OS creates on its own
 * ([SyncWorker], broadcast receivers) reach the one open [PostCso] of the process,
 * the way `androidx.work.Configuration.Provider` hands WorkManager its configuration.
 */
interface PostCsoProvider {
    /**
     * The open core, opening it if needed (after process death WorkManager may start the
     * app just to run a sync), or `null` while no carrier is enrolled on this device.
     */
    suspend fun postCso(): PostCso?
}
