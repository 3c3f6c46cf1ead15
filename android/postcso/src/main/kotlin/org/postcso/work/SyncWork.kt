package org.postcso.work

import kotlin.time.Duration
import kotlin.time.Duration.Companion.minutes
import kotlin.time.Duration.Companion.seconds
import org.postcso.PostCso
import org.postcso.ffi.PostException
import org.postcso.ffi.StopReason
import org.postcso.ffi.SyncOutcome

/**
 * What a background sync window should tell the scheduler, kept free of the Android SDK
 * so the decision is tested on the JVM against a real core and station; the WorkManager
 * `SyncWorker` only maps it to `ListenableWorker.Result`.
 */
enum class WorkDecision {
    /** Everything queued was delivered: nothing to do until the next report. */
    SUCCESS,

    /** Work remains (deadline, offline, backing off, cancelled): run again with backoff. */
    RETRY,

    /** Retrying cannot help until the carrier acts (device revoked, never enrolled). */
    FAILURE,
}

/** One background sync window, independent of the scheduler that grants it. */
object SyncWork {
    /**
     * WorkManager stops a worker after 10 minutes; the core is given a little less so it
     * saves its progress and returns before the OS cuts it off.
     */
    val WORK_MANAGER_BUDGET: Duration = 10.minutes - 45.seconds

    /** Syncs for at most [budget] and says what the scheduler should do next. */
    suspend fun run(core: PostCso, budget: Duration = WORK_MANAGER_BUDGET): WorkDecision =
        try {
            decide(core.syncNow(budget))
        } catch (e: PostException) {
            decide(e)
        }

    /** The decision for a run that ended normally. */
    fun decide(outcome: SyncOutcome): WorkDecision = when (outcome.stop) {
        is StopReason.Drained -> WorkDecision.SUCCESS
        is StopReason.DeadlineReached,
        is StopReason.Offline,
        is StopReason.BackingOff,
        is StopReason.Cancelled,
        -> WorkDecision.RETRY
        is StopReason.ReEnrolRequired,
        is StopReason.NotEnrolled,
        -> WorkDecision.FAILURE
        is StopReason.LocalError -> WorkDecision.RETRY
    }

    /** The decision for a run the core refused or could not finish. */
    fun decide(error: PostException): WorkDecision = when (error) {
        is PostException.ReEnrolRequired,
        is PostException.NotEnrolled,
        is PostException.Closed,
        is PostException.InvalidConfig,
        is PostException.DatabaseUnusable,
        -> WorkDecision.FAILURE
        else -> WorkDecision.RETRY
    }
}
