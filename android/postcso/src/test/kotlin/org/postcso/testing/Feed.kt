package org.postcso.testing

import com.sun.net.httpserver.HttpExchange
import com.sun.net.httpserver.HttpServer
import java.net.InetAddress
import java.net.InetSocketAddress
import java.time.Instant
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.math.cos
import org.json.JSONArray
import org.json.JSONObject
import org.postcso.ffi.Location
import org.postcso.ffi.LocationSource

/**
 * A simulated station for the geography tests (the real station's CLI makes only beats
 * so far): it serves `GET /v1/changes` with the zone deltas a test [publish]es (watch
 * areas with themes and validity, a jurisdiction) and records each `PUT /v1/reports/{id}`
 * body, the exact station-bound JSON. The wire forms are the model's
 * (`model/src/feed.rs`). The same simulation as `python/tests/feed.py`.
 */
class FeedServer : AutoCloseable {
    private val entries = CopyOnWriteArrayList<JSONObject>()

    /** The report bodies phones sent, by report id, in arrival order. */
    val puts = ConcurrentHashMap<String, MutableList<JSONObject>>()

    private val server = HttpServer.create(InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0).apply {
        createContext("/v1/changes") { exchange -> exchange.authorised { changes(it) } }
        createContext("/v1/reports/") { exchange -> exchange.authorised { put(it) } }
        start()
    }

    /** `http://127.0.0.1:PORT/`, the core's station URL. */
    val url: String get() = "http://127.0.0.1:${server.address.port}/"

    /** Adds one `zone` delta per zone to the feed. */
    fun publish(vararg zones: JSONObject) {
        zones.forEach { entries += JSONObject().put("kind", "zone").put("zone", it) }
    }

    override fun close() = server.stop(0)

    private fun changes(exchange: HttpExchange) {
        val cursor = exchange.requestURI.query?.removePrefix("cursor=")?.toIntOrNull() ?: 0
        val snapshot = entries.toList()
        val page = JSONObject()
            .put("changes", JSONArray(snapshot.drop(cursor)))
            .put("cursor", snapshot.size.toString())
            .put("has_more", false)
        exchange.reply(200, page)
    }

    private fun put(exchange: HttpExchange) {
        val id = exchange.requestURI.path.removePrefix("/v1/reports/")
        val body = JSONObject(exchange.requestBody.readAllBytes().decodeToString())
        val bodies = puts.computeIfAbsent(id) { CopyOnWriteArrayList() }
        bodies += body
        exchange.reply(if (bodies.size == 1) 201 else 200, JSONObject().put("id", id))
    }

    private fun HttpExchange.authorised(handle: (HttpExchange) -> Unit) = use {
        if (requestHeaders.getFirst("Authorization") == "Bearer $TOKEN") handle(this) else reply(401, JSONObject())
    }

    private fun HttpExchange.reply(status: Int, body: JSONObject) {
        val bytes = body.toString().toByteArray()
        responseHeaders.add("Content-Type", "application/json")
        sendResponseHeaders(status, bytes.size.toLong())
        responseBody.use { it.write(bytes) }
    }

    companion object {
        /** The device credential the simulated station accepts. */
        const val TOKEN = "simulated-device-token-0123456789"
    }
}

/** Metres north and east of a point near Seodaemun Police Station, as the Rust tests lay zones out. */
object Metres {
    private const val LAT = 37.5658
    private const val LON = 126.9386
    private const val PER_LAT = 110_574.0
    private val perLon = 111_320.0 * cos(Math.toRadians(LAT))

    /** (lat, lon) of the point [north] and [east] metres from the origin. */
    fun at(north: Double, east: Double): Pair<Double, Double> = (LAT + north / PER_LAT) to (LON + east / perLon)

    /** A GPS fix at the point, taken now. */
    fun fix(north: Double, east: Double, accuracyM: Double = 6.0): Location {
        val (lat, lon) = at(north, east)
        return Location(lat, lon, accuracyM, null, Instant.now(), LocationSource.GPS)
    }

    /** A GeoJSON Polygon: a square of [side] metres whose south-west corner is given. */
    fun square(south: Double, west: Double, side: Double): JSONObject {
        val corners = listOf(south to west, south to west + side, south + side to west + side, south + side to west, south to west)
        val ring = JSONArray(corners.map { (n, e) -> at(n, e).let { (lat, lon) -> JSONArray(listOf(lon, lat)) } })
        return JSONObject().put("type", "Polygon").put("coordinates", JSONArray(listOf(ring)))
    }

    /** A zone as the feed carries it. */
    fun zone(code: String, kind: String, area: JSONObject, name: String, extra: Map<String, Any> = emptyMap()) =
        JSONObject(mapOf("code" to code, "kind" to kind, "name" to name, "area" to area, "assigned" to false, "retired" to false) + extra)
}
