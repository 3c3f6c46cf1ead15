package org.postcso.android

import android.content.Context
import androidx.work.BackoffPolicy
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import java.util.concurrent.TimeUnit
import org.postcso.work.SyncWork
import org.postcso.work.WorkDecision

/**
 * Background sync under WorkManager: runs only with a connected network, calls
 * `syncNow` with a budget just under WorkManager's 10-minute window, and retries with
 * exponential backoff while reports remain.
 *
 * The engine also syncs by itself while the app is alive (on submit and when the
 * [NetworkMonitor] reports the network back); this worker is what delivers the queue
 * after the OS killed the app. If WorkManager stops the worker early (constraints lost,
 * quota), the coroutine is cancelled and `PostCso.syncNow` cancels the core's run with
 * its progress saved.
 *
 * The application must implement [PostCsoProvider].
 */
class SyncWorker(appContext: Context, params: WorkerParameters) : CoroutineWorker(appContext, params) {
    override suspend fun doWork(): Result {
        val provider = applicationContext as? PostCsoProvider
            ?: return Result.failure()
        val core = provider.postCso() ?: return Result.success()
        return when (SyncWork.run(core, SyncWork.WORK_MANAGER_BUDGET)) {
            WorkDecision.SUCCESS -> Result.success()
            WorkDecision.RETRY -> Result.retry()
            WorkDecision.FAILURE -> Result.failure()
        }
    }

    /** Scheduling helpers: call [schedule] once at app start and [syncSoon] after a submit. */
    companion object {
        private const val PERIODIC = "postcso-sync-periodic"
        private const val ONE_SHOT = "postcso-sync-now"

        private val constraints = Constraints.Builder()
            .setRequiredNetworkType(NetworkType.CONNECTED)
            .build()

        /** A sync every 15 minutes (WorkManager's minimum) while a network is connected. */
        fun schedule(context: Context) {
            val request = PeriodicWorkRequestBuilder<SyncWorker>(15, TimeUnit.MINUTES)
                .setConstraints(constraints)
                .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 30, TimeUnit.SECONDS)
                .build()
            WorkManager.getInstance(context)
                .enqueueUniquePeriodicWork(PERIODIC, ExistingPeriodicWorkPolicy.KEEP, request)
        }

        /** One sync as soon as a network is connected, e.g. right after a submit offline. */
        fun syncSoon(context: Context) {
            val request = OneTimeWorkRequestBuilder<SyncWorker>()
                .setConstraints(constraints)
                .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 30, TimeUnit.SECONDS)
                .build()
            WorkManager.getInstance(context)
                .enqueueUniqueWork(ONE_SHOT, ExistingWorkPolicy.REPLACE, request)
        }

        /** Stops all background sync (the carrier signed out). */
        fun cancelAll(context: Context) {
            WorkManager.getInstance(context).apply {
                cancelUniqueWork(PERIODIC)
                cancelUniqueWork(ONE_SHOT)
            }
        }
    }
}
