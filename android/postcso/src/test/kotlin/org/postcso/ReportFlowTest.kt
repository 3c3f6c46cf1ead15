package org.postcso

import kotlin.test.assertContains
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotEquals
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.takeWhile
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.json.JSONObject
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.postcso.ffi.NetworkState
import org.postcso.ffi.PostException
import org.postcso.ffi.ReportState
import org.postcso.ffi.ReviewStatus
import org.postcso.ffi.StopReason
import org.postcso.ffi.SyncEvent
import org.postcso.testing.EventRecorder
import org.postcso.testing.Station
import org.postcso.testing.fileReport
import org.postcso.testing.tempDataDir
import org.postcso.testing.secretsFor

/**
 * The carrier's whole path through the real core and the real bindings against a real
 * station process: enrol, file a report with a real photo, sync with the events as a
 * Flow, and hear the supervisor's decision come back.
 */
class ReportFlowTest {
    private lateinit var station: Station

    @BeforeEach
    fun startStation() {
        station = Station.start()
    }

    @AfterEach
    fun stopStation() {
        station.close()
    }

    @Test
    fun `a report filed on the phone reaches the station and the review comes back`(): Unit = runBlocking {
        val (code, label) = station.enrolmentCodes(1).single()
        val dataDir = tempDataDir()
        PostCso.open(dataDir, station.url, secretsFor(dataDir)).use { cso ->
            val enrolment = cso.enrol(code)
            assertEquals(label, enrolment.label)
            assertTrue(enrolment.token.isNotBlank(), "enrolment hands out a credential")
            assertTrue(cso.categories().any { it.code == "safety_facility" }, "the station's categories are stored")

            val recorder = EventRecorder.start(cso, this)
            val id = cso.fileReport()
            val report = cso.report(id)
            assertEquals(1, report.photos.size)
            assertEquals(64, report.photos[0].sha256.length)

            // The engine syncs by itself after submit; syncNow drains whatever is left.
            val outcome = cso.syncNow(60.seconds)
            assertEquals(StopReason.Drained, outcome.stop)
            assertEquals(0uL, outcome.remaining)
            recorder.await { it is SyncEvent.StateChanged && it.id == id && it.state == ReportState.SENT }
            assertEquals(ReportState.SENT, cso.report(id).state)

            // The events arrived in lifecycle order through the Flow.
            val states = recorder.events.filterIsInstance<SyncEvent.StateChanged>().filter { it.id == id }.map { it.state }
            assertEquals(ReportState.QUEUED, states.first())
            assertTrue(states.indexOf(ReportState.SENDING) < states.indexOf(ReportState.SENT), "states: $states")
            assertTrue(recorder.events.any { it is SyncEvent.UploadProgress && it.id == id }, "upload progress reported")
            assertTrue(recorder.events.any { it is SyncEvent.Finished }, "run end reported")

            // The station has it, photo and all.
            val session = station.supervisorSession("kim")
            val atStation = assertNotNull(station.report(session, id), "the station stored the report")
            assertEquals("received", atStation.getString("status"))
            assertTrue(atStation.getBoolean("complete"), "every photo arrived: $atStation")
            assertEquals(report.photos[0].sha256, atStation.getJSONArray("photos").getJSONObject(0).getString("sha256"))

            // The supervisor accepts it; the next sync brings the decision back.
            station.triage(session, id, "accepted")
            val review = async {
                withTimeout(60.seconds) {
                    cso.events.first { it is SyncEvent.ReviewChanged && it.id == id }
                }
            }
            while (cso.eventSubscribers < 2) kotlinx.coroutines.delay(5)
            cso.syncNow(60.seconds)
            assertEquals(ReviewStatus.Accepted, (review.await() as SyncEvent.ReviewChanged).status)
            assertEquals(ReviewStatus.Accepted, cso.report(id).reviewStatus)
            recorder.stop()
        }
        dataDir.toFile().deleteRecursively()
    }

    @Test
    fun `a report the station refuses is corrected, sealed again and delivered under its id`(): Unit = runBlocking {
        val (code, _) = station.enrolmentCodes(1).single()
        val dataDir = tempDataDir()
        PostCso.open(dataDir, station.url, secretsFor(dataDir)).use { cso ->
            cso.enrol(code)
            cso.setNetworkState(NetworkState(online = false, metered = false, constrained = false))
            val id = cso.fileReport()
            val firstHash = cso.report(id).contentHash
            // While the carrier was offline the admin retired the report's category.
            station.retireCategory(station.staffSession("lee", "admin"), "safety_facility")

            cso.setNetworkState(NetworkState(online = true, metered = false, constrained = false))
            cso.syncNow(60.seconds)
            val refused = cso.report(id)
            assertEquals(ReportState.REJECTED_BY_SERVER, refused.state)
            assertContains(refused.serverMessage.orEmpty(), "/category")

            // Back to a draft, with the station's reason; unchanged it is refused on the phone.
            assertEquals(ReportState.DRAFT, cso.retryRejected(id))
            assertNull(cso.report(id).contentHash, "the seal is broken")
            assertFailsWith<PostException.InvalidCategory> { cso.submit(id) }

            cso.setCategory(id, "crime_risk")
            val receipt = cso.submit(id)
            assertNotEquals(firstHash, receipt.contentHash)
            cso.syncNow(60.seconds)
            val sent = cso.report(id)
            assertEquals(ReportState.SENT, sent.state)
            assertNull(sent.serverMessage)

            val atStation = assertNotNull(station.report(station.supervisorSession("kim"), id))
            assertEquals("crime_risk", atStation.getJSONObject("content").getString("category"))
            assertEquals(receipt.contentHash, atStation.getString("content_hash"))
            assertTrue(atStation.getBoolean("complete"), "the photo arrived: $atStation")

            // Only a refused report can be taken back.
            assertFailsWith<PostException.NotADraft> { cso.retryRejected(id) }
        }
        dataDir.toFile().deleteRecursively()
    }

    @Test
    fun `a queue filed offline is kept across a restart of the app and sent later`(): Unit = runBlocking {
        val (code, _) = station.enrolmentCodes(1).single()
        val dataDir = tempDataDir()
        val token = PostCso.open(dataDir, station.url, secretsFor(dataDir)).use { it.enrol(code).token }
        station.kill()
        // Enrolment saved the token in the secret store; the reopens below find it there.
        assertEquals(token, secretsFor(dataDir).get("postcso.device_token")?.decodeToString())

        val id = PostCso.open(dataDir, station.url, secretsFor(dataDir)).use { cso ->
            val id = cso.fileReport()
            val outcome = cso.syncNow(5.seconds)
            assertTrue(
                outcome.stop is StopReason.BackingOff || outcome.stop == StopReason.DeadlineReached,
                "an unreachable station is an ordinary stop, not an exception: ${outcome.stop}",
            )
            assertEquals(ReportState.QUEUED, cso.report(id).state)
            id
        }

        station.serve()
        PostCso.open(dataDir, station.url, secretsFor(dataDir)).use { cso ->
            // A new network is a new chance: coming online clears the old backoff and syncs.
            cso.setNetworkState(Connectivity.OFFLINE)
            val finished = async {
                cso.events.takeWhile { !(it is SyncEvent.StateChanged && it.id == id && it.state == ReportState.SENT) }
                    .toList()
            }
            while (cso.eventSubscribers < 1) kotlinx.coroutines.delay(5)
            cso.setNetworkState(
                Connectivity.networkState(internet = true, validated = true, suspended = false, unmetered = true, dataSaver = false),
            )
            withTimeout(60.seconds) { finished.await() }
            assertEquals(ReportState.SENT, cso.report(id).state)
        }
        val session = station.supervisorSession("lee")
        val atStation = assertNotNull(station.report(session, id), "the station stored the report")
        assertEquals("received", atStation.getString("status"))
        dataDir.toFile().deleteRecursively()
    }

    @Test
    fun `the station's zones reach the phone, its own marked assigned`(): Unit = runBlocking {
        val (code, label) = station.enrolmentCodes(1).single()
        val area = """{"type":"Polygon","coordinates":[[[126.9312,37.5641],[126.9401,37.5641],[126.9401,37.5702],[126.9312,37.5641]]]}"""
        val areaFile = station.dataDir.resolve("route-12.geojson")
        areaFile.toFile().writeText(area)
        val dataDir = tempDataDir()
        PostCso.open(dataDir, station.url, secretsFor(dataDir)).use { cso ->
            // Recording from before enrolment: the engine may pull the zones on its own.
            val recorder = EventRecorder.start(cso, this)
            cso.enrol(code)
            station.admin(
                "zone", "add", "--station", station.slug, "--code", "route-12", "--name", "Route 12",
                "--area-file", areaFile.toString(), "--device", label,
            )
            station.admin("zone", "add", "--station", station.slug, "--code", "route-13", "--name", "Route 13")
            assertEquals(StopReason.Drained, cso.syncNow(60.seconds).stop)
            recorder.await { it is SyncEvent.ZonesUpdated }
            val zones = cso.zones()
            assertEquals(listOf("route-12", "route-13"), zones.map { it.code })
            assertTrue(zones[0].assigned, "the device was assigned to route 12")
            assertTrue(!zones[1].assigned)
            assertTrue(JSONObject(area).similar(JSONObject(assertNotNull(zones[0].areaGeojson))), "the outline survives as GeoJSON")
            assertEquals(null, zones[1].areaGeojson)
            recorder.stop()
        }
        dataDir.toFile().deleteRecursively()
    }
}
