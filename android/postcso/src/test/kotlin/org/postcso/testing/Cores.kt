package org.postcso.testing

import java.nio.file.Files
import java.nio.file.Path
import java.time.Instant
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull
import org.postcso.PostCso
import org.postcso.ffi.Location
import org.postcso.ffi.LocationSource
import org.postcso.ffi.SyncEvent

/** A fresh temporary directory for one core's data. */
fun tempDataDir(prefix: String = "postcso-core-"): Path = Files.createTempDirectory(prefix)

/** A valid position inside Seodaemun-gu with a GPS fix taken just now. */
fun seodaemun(accuracyM: Double? = 8.0, lat: Double = 37.5791, lon: Double = 126.9368) = Location(
    lat = lat,
    lon = lon,
    accuracyM = accuracyM,
    altitudeM = null,
    fixTime = Instant.now(),
    source = LocationSource.GPS,
)

/** A draft with a category, a position and one real photo, submitted; returns its id. */
suspend fun PostCso.fileReport(photo: String = "npm-exif-0.6.0/test1.jpg"): String {
    val id = createDraft()
    setCategory(id, "safety_facility")
    setNote(id, "street light out at the corner")
    setLocation(id, seodaemun())
    attachPhoto(id, Fixtures.photo(photo))
    submit(id)
    return id
}

/**
 * Collects [PostCso.events] on its own coroutine from the moment it is created, so a
 * test can wait for an event that the core emits on its engine threads.
 */
class EventRecorder private constructor(private val core: PostCso) {
    /** Every event received so far, in order. */
    val events: MutableList<SyncEvent> = CopyOnWriteArrayList()

    private lateinit var job: Job

    /** Waits until an event matching [predicate] arrived, and returns it. */
    suspend fun await(timeout: Duration = 30.seconds, predicate: (SyncEvent) -> Boolean): SyncEvent =
        withTimeoutOrNull(timeout) {
            var found = events.firstOrNull(predicate)
            while (found == null) {
                delay(10)
                found = events.firstOrNull(predicate)
            }
            found
        } ?: throw AssertionError("no matching event within $timeout; received: $events")

    /** Stops collecting. */
    fun stop() = job.cancel()

    companion object {
        /** Starts collecting in [scope] and returns once the collection is subscribed. */
        suspend fun start(core: PostCso, scope: CoroutineScope): EventRecorder {
            val before = core.eventSubscribers
            val recorder = EventRecorder(core)
            recorder.job = scope.launch(Dispatchers.Default) {
                core.events.collect { recorder.events += it }
            }
            withTimeout(10.seconds) {
                while (core.eventSubscribers <= before) delay(5)
            }
            return recorder
        }
    }
}
