package org.postcso

import java.nio.file.Files
import kotlin.test.assertContains
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.postcso.ffi.PostException
import org.postcso.ffi.ReportState
import org.postcso.ffi.SyncEvent
import org.postcso.testing.EventRecorder
import org.postcso.testing.Fixtures
import org.postcso.testing.Station
import org.postcso.testing.fileReport
import org.postcso.testing.seodaemun
import org.postcso.testing.tempDataDir
import org.postcso.testing.secretsFor

/**
 * What goes wrong surfaces as a typed Kotlin exception from the generated sealed
 * `PostException` hierarchy, with a message a developer can act on, and leaves the
 * queue as it was.
 */
class ErrorsTest {
    private lateinit var station: Station
    private val dataDir = tempDataDir()

    @BeforeEach
    fun startStation() {
        station = Station.start()
    }

    @AfterEach
    fun cleanUp() {
        station.close()
        dataDir.toFile().deleteRecursively()
    }

    @Test
    fun `a bad GPS position is refused with InvalidLocation`(): Unit = runBlocking {
        PostCso.open(dataDir, station.url, secretsFor(dataDir)).use { cso ->
            val id = cso.createDraft()
            val outOfRange = assertFailsWith<PostException.InvalidLocation> {
                cso.setLocation(id, seodaemun(lat = 91.0))
            }
            assertContains(outOfRange.message.orEmpty(), "lat", ignoreCase = true)
            assertFailsWith<PostException.InvalidLocation> { cso.setLocation(id, seodaemun(lat = 0.0, lon = 0.0)) }
            assertFailsWith<PostException.InvalidLocation> { cso.setLocation(id, seodaemun(lon = Double.NaN)) }
            val noAccuracy = assertFailsWith<PostException.InvalidLocation> {
                cso.setLocation(id, seodaemun(accuracyM = null))
            }
            assertContains(noAccuracy.message.orEmpty(), "accuracy", ignoreCase = true)
            assertEquals(null, cso.report(id).location, "the draft kept no position")

            // Submitting without a position says what is missing.
            cso.setCategory(id, "crime_risk")
            val missing = assertFailsWith<PostException.MissingField> { cso.submit(id) }
            assertContains(missing.message.orEmpty(), "location", ignoreCase = true)
        }
    }

    @Test
    fun `a bad photo is refused with BadPhoto and the draft is unchanged`(): Unit = runBlocking {
        PostCso.open(dataDir, station.url, secretsFor(dataDir)).use { cso ->
            val id = cso.createDraft()
            cso.attachPhoto(id, Fixtures.photo("npm-exif-0.6.0/test1.jpg"))

            // An empty file named .jpg.
            val empty = assertFailsWith<PostException.BadPhoto> {
                cso.attachPhoto(id, Fixtures.photo("pypi-piexif-1.1.3/notjpeg.jpg"))
            }
            assertTrue(empty.message.orEmpty().isNotBlank())

            // A JPEG cut off after its first 2 KiB, as a failed camera write leaves it.
            val whole = Files.readAllBytes(Fixtures.photo("npm-exif-parser-0.1.12/starfish.jpg"))
            assertFailsWith<PostException.BadPhoto> { cso.attachPhoto(id, whole.copyOf(2048)) }

            // Text pretending to be a photo.
            assertFailsWith<PostException.BadPhoto> { cso.attachPhoto(id, "not a photo".toByteArray()) }

            assertEquals(1, cso.report(id).photos.size, "only the good photo is attached")
        }
    }

    @Test
    fun `a revoked device gets ReEnrolRequired and keeps its queue`(): Unit = runBlocking {
        val (code, label) = station.enrolmentCodes(1).single()
        PostCso.open(dataDir, station.url, secretsFor(dataDir)).use { cso ->
            cso.enrol(code)
            station.revoke(label)
            val recorder = EventRecorder.start(cso, this)
            val id = cso.fileReport()
            val error = assertFailsWith<PostException.ReEnrolRequired> { cso.syncNow(30.seconds) }
            assertContains(error.message.orEmpty(), "enrol", ignoreCase = true)
            recorder.await { it is SyncEvent.ReEnrolRequired }
            recorder.stop()
            assertEquals(ReportState.QUEUED, cso.report(id).state, "the report waits for re-enrolment")

            // Re-enrolled with a fresh code, the same queue goes out.
            val (fresh, _) = station.enrolmentCodes(1).single()
            cso.enrol(fresh)
            cso.syncNow(60.seconds)
            assertEquals(ReportState.SENT, cso.report(id).state)
        }
    }

    @Test
    fun `enrolment codes, editing rules and a closed core each have their own exception`(): Unit = runBlocking {
        val cso = PostCso.open(dataDir, station.url, secretsFor(dataDir))
        val refused = assertFailsWith<PostException.EnrolmentRefused> { cso.enrol("NOT-A-CODE") }
        assertTrue(refused.message.orEmpty().isNotBlank())
        assertFailsWith<PostException.NotEnrolled> { cso.syncNow(5.seconds) }
        assertFailsWith<PostException.InvalidCategory> { cso.setCategory(cso.createDraft(), "no_such_category") }
        assertFailsWith<PostException.InvalidId> { cso.report("not-an-id") }

        val (code, _) = station.enrolmentCodes(1).single()
        cso.enrol(code)
        val id = cso.fileReport()
        assertFailsWith<PostException.NotADraft> { cso.setNote(id, "too late") }

        cso.close()
        assertTrue(cso.isClosed)
        assertFailsWith<PostException.Closed> { cso.stats() }
        cso.close() // idempotent
    }
}
