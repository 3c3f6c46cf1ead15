package org.postcso

import java.io.File
import java.nio.file.Path
import kotlin.coroutines.CoroutineContext
import kotlin.time.Duration
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.withContext
import org.postcso.ffi.AttachedPhoto
import org.postcso.ffi.Category
import org.postcso.ffi.CoreConfig
import org.postcso.ffi.Enrolment
import org.postcso.ffi.Location
import org.postcso.ffi.NearbyReport
import org.postcso.ffi.NetworkState
import org.postcso.ffi.PositionUpdate
import org.postcso.ffi.PostCore
import org.postcso.ffi.PostException
import org.postcso.ffi.QueueStats
import org.postcso.ffi.Report
import org.postcso.ffi.ReportState
import org.postcso.ffi.ReportSummary
import org.postcso.ffi.SecretStore
import org.postcso.ffi.SubmitReceipt
import org.postcso.ffi.SyncEvent
import org.postcso.ffi.SyncOutcome
import org.postcso.ffi.SyncPolicy
import org.postcso.ffi.TransferStats
import org.postcso.ffi.Zone
import org.postcso.ffi.ZoneHit

/**
 * The POST-CSO core as a Kotlin app uses it: one instance per signed-in carrier, opened
 * on the app's private data directory and closed when the carrier signs out.
 *
 * It wraps the UniFFI-generated [PostCore] so that app code never blocks the main thread
 * by mistake: every call that touches the disk is a `suspend` function that moves to
 * [ioContext] (by default [Dispatchers.IO]); `enrol` and [syncNow] suspend on the core's
 * own async runtime; the calls that only flip a flag ([setNetworkState], [setPolicy],
 * [setBatteryLow], [cancel]) are plain functions, safe from any thread, including a
 * `ConnectivityManager` callback.
 *
 * Errors are the generated sealed [PostException] hierarchy
 * (`PostException.BadPhoto`, `PostException.InvalidLocation`,
 * `PostException.ReEnrolRequired`, …), each with a readable message that never contains
 * the note, the position or the credential.
 *
 * Sync progress arrives as the cold [events] flow; any number of collectors may listen.
 */
class PostCso private constructor(
    private val core: PostCore,
    private val ioContext: CoroutineContext,
) : AutoCloseable {
    private val hub = EventHub()

    init {
        // One listener for the core's lifetime; collectors come and go on the hub.
        core.setListener(hub)
    }

    /**
     * Every [SyncEvent] from the moment the collector starts, in the order the core
     * emitted them: state changes, upload progress, queue counts, the station's review,
     * failures and each run's end. Each collector gets its own copy; the flow completes
     * when the core is [close]d.
     */
    val events: Flow<SyncEvent> get() = hub.flow()

    /** How many collectors are listening to [events] now (for tests and diagnostics). */
    val eventSubscribers: Int get() = hub.subscribers

    /** Starts a new draft, saved at once; returns its id. */
    suspend fun createDraft(): String = io { core.createDraft() }

    /** Sets a draft's category (a code from [categories]). */
    suspend fun setCategory(id: String, code: String) = io { core.setCategory(id, code) }

    /** Sets a draft's note; blank text clears it. */
    suspend fun setNote(id: String, text: String) = io { core.setNote(id, text) }

    /** Sets a draft's position; an invalid one raises [PostException.InvalidLocation]. */
    suspend fun setLocation(id: String, location: Location) = io { core.setLocation(id, location) }

    /**
     * Processes the JPEG or PNG at [photo] (orientation, downscale, metadata stripped)
     * and appends it to a draft. The file is only read; the app may delete it after.
     * A file that is not a usable image raises [PostException.BadPhoto].
     */
    suspend fun attachPhoto(id: String, photo: Path): AttachedPhoto =
        io { core.attachPhoto(id, photo.toAbsolutePath().toString()) }

    /** [attachPhoto] for a [File], as `Context.filesDir` and camera intents give them. */
    suspend fun attachPhoto(id: String, photo: File): AttachedPhoto = attachPhoto(id, photo.toPath())

    /** Like [attachPhoto], from bytes in memory (a photo picker's data). */
    suspend fun attachPhoto(id: String, bytes: ByteArray): AttachedPhoto =
        io { core.attachPhotoBytes(id, bytes) }

    /** Removes the photo at [position] from a draft; later photos move up. */
    suspend fun removePhoto(id: String, position: Int) {
        require(position >= 0) { "a photo position is never negative, was $position" }
        io { core.removePhoto(id, position.toUInt()) }
    }

    /** Deletes an abandoned draft (sealed reports cannot be deleted). */
    suspend fun deleteDraft(id: String) = io { core.deleteDraft(id) }

    /** Seals a draft and queues it; durable on return, and the core starts sending at once. */
    suspend fun submit(id: String): SubmitReceipt = io { core.submit(id) }

    /** Takes back a queued report that has not started sending. */
    suspend fun withdraw(id: String) = io { core.withdraw(id) }

    /**
     * Takes back a report the station refused for good ([ReportState.REJECTED_BY_SERVER]) so
     * the carrier can correct it and send it again under the same id. Returns its new state:
     * [ReportState.DRAFT] when the station never stored it (edit it, then [submit] seals it
     * again; [Report.serverMessage] still says what was wrong until then), or
     * [ReportState.QUEUED] when the station already holds its content (it goes again as
     * sealed). Any other state raises [PostException.NotADraft].
     */
    suspend fun retryRejected(id: String): ReportState = io { core.retryRejected(id) }

    /** One report with its photos. */
    suspend fun report(id: String): Report = io { core.get(id) }

    /** Every report, oldest first, for the queue screen. */
    suspend fun reports(): List<ReportSummary> = io { core.list() }

    /** Report counts per state, for the queue tab's badge. */
    suspend fun stats(): QueueStats = io { core.stats() }

    /** The category list new reports are checked against (the station's, once enrolled). */
    suspend fun categories(): List<Category> = io { core.categories() }

    /** The station's zones as last synced; the device's own are marked `assigned`. */
    suspend fun zones(): List<Zone> = io { core.zones() }

    /**
     * The zones in force now whose outline holds the point, in the station's order,
     * answered from the phone's own copy (no network). Outside every zone: an empty
     * list. A NaN or out-of-range coordinate raises [PostException.InvalidLocation].
     */
    suspend fun zonesAt(lat: Double, lon: Double): List<ZoneHit> = io { core.zonesAt(lat, lon) }

    /**
     * The zones in force now within [radiusM] metres (0 to 5,000) of the point, nearest
     * first, with their distance (0 inside). A bad radius raises
     * [PostException.InvalidRadius].
     */
    suspend fun zonesNear(lat: Double, lon: Double, radiusM: Double): List<ZoneHit> =
        io { core.zonesNear(lat, lon, radiusM) }

    /**
     * Feed every position from the location provider: returns the watch areas entered
     * and left since the last call, each with its names, theme and guidance for the
     * alert ("you are entering 연희동 dark-alley watch area: check street lights").
     * Entering needs a fix inside with an accuracy of 100 m or better; leaving needs a
     * fix more than 20 m outside, so GPS jitter at an edge announces nothing twice. The
     * state survives the process being killed: nothing is announced again on restart.
     */
    suspend fun updatePosition(location: Location): PositionUpdate = io { core.updatePosition(location) }

    /**
     * This phone's queued or sent reports of the draft's category within 30 m of its
     * position from the last 14 days, nearest first: offer "you reported this place on
     * 3 December: add a photo to it instead?" ([createFollowUp]). Empty while the draft
     * has no category or position.
     */
    suspend fun nearbyReports(draftId: String): List<NearbyReport> = io { core.nearbyReports(draftId) }

    /**
     * Starts a follow-up of a queued or sent report (more photos or a note): a new draft
     * with its category and position whose sealed content names the original; returns
     * the draft's id. Edit and [submit] it like any draft; [setLocation] may refine the
     * position, the category is fixed. Raises [PostException.NotFound] or
     * [PostException.InvalidFollowUp] (a draft, withdrawn or refused report).
     */
    suspend fun createFollowUp(parentId: String): String = io { core.createFollowUp(parentId) }

    /** Bytes and requests sent since the core was opened. */
    suspend fun transferStats(): TransferStats = io { core.transferStats() }

    /**
     * Redeems a one-time enrolment code. The returned [Enrolment.token] is in force at
     * once and saved in the [SecretStore] given to [open], which finds it there next
     * time. When the store cannot save it, this raises
     * [PostException.SecretsUnavailable] or [PostException.SecretStoreFailed] and the
     * device stays enrolled for this session only (the code is spent).
     */
    suspend fun enrol(code: String): Enrolment = core.enrol(code)

    /**
     * Replaces the device credential (after re-enrolment by other means, or an app that
     * keeps its own tokens) and syncs. Saved in the [SecretStore]; `null` deletes it
     * there (signing the device out). When the store fails, nothing changes.
     */
    suspend fun setCredential(credential: String?) = io { core.setCredential(credential) }

    /**
     * Syncs until the queue is drained or [budget] has passed, then returns with progress
     * saved: for WorkManager's window, give it a little less than the window.
     *
     * Ordinary stops are the outcome's [org.postcso.ffi.StopReason]; a revoked device
     * raises [PostException.ReEnrolRequired]. Cancelling the calling coroutine stops the
     * run within a second (UniFFI does not cancel Rust futures by itself, so this
     * wrapper calls the core's `cancel()`).
     */
    suspend fun syncNow(budget: Duration): SyncOutcome {
        require(budget.isPositive()) { "the sync budget must be positive, was $budget" }
        try {
            return core.syncNow(budget.inWholeMilliseconds.toULong())
        } catch (e: CancellationException) {
            withContext(NonCancellable) { core.cancel() }
            throw e
        }
    }

    /** Connectivity from the platform: coming online syncs at once, going offline stops a run. */
    fun setNetworkState(state: NetworkState) = core.setNetworkState(state)

    /** How the core may spend data and battery. */
    fun setPolicy(policy: SyncPolicy) = core.setPolicy(policy)

    /** The battery-low signal: photo uploads wait while it is set (per the policy). */
    fun setBatteryLow(low: Boolean) = core.setBatteryLow(low)

    /** Stops the sync in progress within a second; progress is kept. Never throws. */
    fun cancel() = core.cancel()

    /** Crosses the FFI and does nothing: the baseline of the overhead figures. */
    fun noop() = core.noop()

    /** Whether [close] was called. */
    val isClosed: Boolean get() = core.isClosed()

    /**
     * Stops the engine (a run in flight ends as cancelled), releases the listener and
     * ends every [events] collection. Idempotent; afterwards every call raises
     * [PostException.Closed]. The few bytes of the closed native handle are freed when
     * this object is garbage-collected (UniFFI's cleaner), so a late call from another
     * thread gets `Closed` rather than a use-after-free.
     */
    override fun close() {
        core.shutdown()
        hub.close()
    }

    private suspend inline fun <T> io(crossinline call: () -> T): T = withContext(ioContext) { call() }

    /** Opening and the settings that come with it. */
    companion object {
        /**
         * Opens (or creates) the queue in [dataDir] and starts the sync engine for the
         * station at [stationUrl].
         *
         * [secrets] keeps the device token and the queue's data key: on Android
         * `org.postcso.android.KeystoreSecretStore`, whose AES-GCM key never leaves the
         * Android Keystore. The core keeps both there and nowhere else. A key that is
         * gone, wrong or whose check is damaged raises [PostException.DataKeyLost],
         * [PostException.DataKeyWrong] or [PostException.DataDamaged]; a store that
         * throws, [PostException.SecretsUnavailable] or [PostException.SecretStoreFailed].
         *
         * [credential] is for apps that keep their own tokens: `null` (the usual case)
         * uses the token [enrol] saved in [secrets]; given, it is used and saved there.
         */
        suspend fun open(
            dataDir: Path,
            stationUrl: String,
            secrets: SecretStore,
            credential: String? = null,
            ioContext: CoroutineContext = Dispatchers.IO,
        ): PostCso = withContext(ioContext) {
            val config = CoreConfig(
                dataDir = dataDir.toAbsolutePath().toString(),
                stationUrl = stationUrl,
                credential = credential,
            )
            PostCso(PostCore.open(config, secrets), ioContext)
        }

        /** [open] for a [File], such as `Context.filesDir`. */
        suspend fun open(
            dataDir: File,
            stationUrl: String,
            secrets: SecretStore,
            credential: String? = null,
            ioContext: CoroutineContext = Dispatchers.IO,
        ): PostCso = open(dataDir.toPath(), stationUrl, secrets, credential, ioContext)
    }
}
