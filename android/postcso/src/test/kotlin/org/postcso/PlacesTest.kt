package org.postcso

import kotlin.random.Random
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotNull
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.postcso.ffi.PostException
import org.postcso.ffi.ReportState
import org.postcso.ffi.StopReason
import org.postcso.ffi.ZoneInfo
import org.postcso.ffi.ZoneKind
import org.postcso.testing.FeedServer
import org.postcso.testing.Fixtures
import org.postcso.testing.Metres
import org.postcso.testing.Station
import org.postcso.testing.tempDataDir
import org.postcso.testing.secretsFor

/**
 * Geography through the Kotlin wrapper and the real core: zones by point and distance,
 * watch areas entered and left while walking with GPS jitter, the zones a sealed report
 * records, nearby reports and a follow-up delivered once. Watch areas come from a
 * simulated feed ([FeedServer]); beats and follow-ups from a real station.
 */
class PlacesTest {
    private val alley = Metres.zone(
        "yeonhui-dark-alley", "watch_area", Metres.square(100.0, 100.0, 100.0), "연희동 어두운 골목",
        mapOf("theme" to "dark_alley", "name_en" to "Yeonhui-dong dark alleys", "guidance" to "check street lights"),
    )
    private val district = Metres.zone("seodaemun-gu", "jurisdiction", Metres.square(-1000.0, -1000.0, 2000.0), "서대문구")

    @Test
    fun `watch areas are entered once and left once across a jittery edge`(): Unit = runBlocking {
        FeedServer().use { feed ->
            feed.publish(alley, district)
            val dataDir = tempDataDir()
            PostCso.open(dataDir, feed.url, secretsFor(dataDir), credential = FeedServer.TOKEN).use { cso ->
                assertEquals(StopReason.Drained, cso.syncNow(30.seconds).stop)
                val (lat, lon) = Metres.at(150.0, 150.0)
                assertEquals(listOf("yeonhui-dark-alley", "seodaemun-gu"), cso.zonesAt(lat, lon).map { it.zone.code })
                assertEquals(ZoneKind.WATCH_AREA, cso.zonesAt(lat, lon)[0].zone.kind)
                assertTrue(cso.zonesAt(37.0, 127.5).isEmpty(), "outside every zone: empty")
                assertFailsWith<PostException.InvalidLocation> { cso.zonesAt(Double.NaN, lon) }
                assertFailsWith<PostException.InvalidRadius> { cso.zonesNear(lat, lon, -1.0) }
                val (eastLat, eastLon) = Metres.at(150.0, 230.0)
                val near = cso.zonesNear(eastLat, eastLon, 50.0)
                assertEquals(30.0, near.single { it.zone.code == "yeonhui-dark-alley" }.distanceM, 0.5)

                val random = Random(16)
                val entered = mutableListOf<ZoneInfo>()
                val left = mutableListOf<ZoneInfo>()
                suspend fun walk(easts: List<Double>) = easts.forEach { east ->
                    val update = cso.updatePosition(Metres.fix(150.0, east + random.nextDouble(-10.0, 10.0)))
                    entered += update.entered
                    left += update.left
                }
                // In from 60 m outside the east edge (at 200 m), then standing on the edge.
                walk((260 downTo 170).map { it.toDouble() } + List(300) { 200.0 })
                assertEquals(listOf("yeonhui-dark-alley"), entered.map { it.code })
                assertEquals("check street lights", entered[0].guidance)
                assertEquals("dark_alley", entered[0].theme)
                assertTrue(left.isEmpty(), "jitter at the edge never leaves")
                // 30 m out, lingering: exactly one exit.
                walk((200..230).map { it.toDouble() } + List(100) { 230.0 })
                assertEquals(listOf("yeonhui-dark-alley"), left.map { it.code })
                assertEquals(1, entered.size)

                // A report filed inside records its zones and district, in the body the station gets.
                val id = cso.createDraft()
                cso.setCategory(id, "safety_facility")
                cso.setLocation(id, Metres.fix(150.0, 150.0))
                cso.submit(id)
                assertEquals(StopReason.Drained, cso.syncNow(30.seconds).stop)
                val body = feed.puts.getValue(id).single()
                assertEquals(listOf("yeonhui-dark-alley", "seodaemun-gu"), body.getJSONArray("zones").toList())
                assertEquals("seodaemun-gu", body.getString("district"))
            }
            dataDir.toFile().deleteRecursively()
        }
    }

    @Test
    fun `an earlier report nearby is offered and followed up, delivered once`(): Unit = runBlocking {
        Station.start().use { station ->
            val (code, label) = station.enrolmentCodes(1).single()
            val areaFile = station.dataDir.resolve("route-12.geojson")
            areaFile.toFile().writeText(Metres.square(0.0, 0.0, 300.0).toString())
            val dataDir = tempDataDir()
            PostCso.open(dataDir, station.url, secretsFor(dataDir)).use { cso ->
                cso.enrol(code)
                station.admin(
                    "zone", "add", "--station", station.slug, "--code", "route-12", "--name", "Route 12",
                    "--area-file", areaFile.toString(), "--device", label,
                )
                assertEquals(StopReason.Drained, cso.syncNow(60.seconds).stop)
                val (lat, lon) = Metres.at(150.0, 150.0)
                val beat = cso.zonesAt(lat, lon).single().zone
                assertEquals(ZoneKind.BEAT, beat.kind)
                assertTrue(beat.assigned)

                val original = cso.createDraft()
                cso.setCategory(original, "safety_facility")
                cso.setLocation(original, Metres.fix(150.0, 150.0))
                cso.submit(original)
                assertEquals(StopReason.Drained, cso.syncNow(60.seconds).stop)

                val draft = cso.createDraft()
                cso.setCategory(draft, "safety_facility")
                cso.setLocation(draft, Metres.fix(160.0, 150.0))
                val nearby = cso.nearbyReports(draft).single()
                assertEquals(original, nearby.id)
                assertEquals(ReportState.SENT, nearby.state)
                assertEquals(10.0, nearby.distanceM, 0.5)
                cso.deleteDraft(draft)

                assertFailsWith<PostException.InvalidFollowUp> { cso.createFollowUp(cso.createDraft()) }
                val followUp = cso.createFollowUp(original)
                assertEquals(original, cso.report(followUp).followUpOf)
                assertFailsWith<PostException.InvalidFollowUp> { cso.setCategory(followUp, "crime_risk") }
                cso.attachPhoto(followUp, Fixtures.photo("npm-exif-0.6.0/test1.jpg"))
                cso.submit(followUp)
                cso.syncNow(60.seconds)
                assertEquals(StopReason.Drained, cso.syncNow(60.seconds).stop)
                assertEquals(ReportState.SENT, cso.report(followUp).state)

                val session = station.supervisorSession("kim")
                val atStation = assertNotNull(station.report(session, followUp))
                assertEquals(original, atStation.getJSONObject("content").getString("follow_up_of"))
                assertTrue(atStation.getBoolean("complete"), "the follow-up's photo arrived")
                assertEquals(listOf("route-12"), station.report(session, original)!!.getJSONObject("content").getJSONArray("zones").toList())
            }
            dataDir.toFile().deleteRecursively()
        }
    }
}
