package org.postcso.testing

import java.io.BufferedReader
import java.io.InputStreamReader
import java.net.ServerSocket
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.nio.file.Path
import java.time.Duration
import java.util.concurrent.TimeUnit
import org.json.JSONObject

/**
 * A real `postcso-station` process for the JVM tests, run exactly as the Rust harness
 * (`tests/src/station.rs`) runs it: created in a fresh data dir with the admin CLI, then
 * served on a loopback port. Closing it kills the server and deletes the data dir.
 *
 * The binary comes from the `postcso.station.binary` system property, which the pom sets
 * to the cargo target dir's build; `cargo xtask test` builds it before Maven runs.
 */
class Station private constructor(
    /** The station's data directory. */
    val dataDir: Path,
    /** The loopback port it listens on. */
    val port: Int,
) : AutoCloseable {
    /** The station's slug, as the admin CLI and sign-in want it. */
    val slug = "seodaemun"

    private var server: Process? = null
    private val http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()

    /** `http://127.0.0.1:PORT/`, what the core is configured with. */
    val url: String get() = "http://127.0.0.1:$port/"

    /** Runs an admin command on the data dir and returns its standard output. */
    fun admin(vararg args: String): String {
        val process = ProcessBuilder(listOf(binary().toString()) + args + listOf("--data-dir", dataDir.toString()))
            .redirectErrorStream(false)
            .start()
        val stdout = process.inputStream.bufferedReader().readText()
        val stderr = process.errorStream.bufferedReader().readText()
        check(process.waitFor(60, TimeUnit.SECONDS)) { "postcso-station ${args.toList()} hung" }
        check(process.exitValue() == 0) { "postcso-station ${args.toList()} failed: $stderr" }
        return stdout
    }

    /** Makes `count` one-time enrolment codes; returns (code, label) pairs. */
    fun enrolmentCodes(count: Int): List<Pair<String, String>> {
        val csv = Files.createTempFile(dataDir, "codes-", ".csv")
        Files.delete(csv)
        admin("enrol", "--station", slug, "--count", count.toString(), "--out", csv.toString())
        return Files.readAllLines(csv).drop(1).filter { it.isNotBlank() }.map { line ->
            // label,code,expires_at,qr_png
            val fields = line.split(',')
            fields[1] to fields[0]
        }
    }

    /** Adds a supervisor, signs them in over HTTP and returns the session token. */
    fun supervisorSession(username: String): String = staffSession(username, "supervisor")

    /** Adds a staff user with [role] (`supervisor`, `admin`, ...), signs them in, returns the token. */
    fun staffSession(username: String, role: String): String {
        val out = admin("user", "add", "--station", slug, "--username", username, "--role", role)
        val password = out.lineSequence()
            .firstNotNullOfOrNull { it.removePrefix("password (shown once): ").takeIf { p -> p != it } }
            ?.trim()
            ?: error("no generated password in: $out")
        val body = JSONObject(mapOf("station" to slug, "username" to username, "password" to password))
        val response = send(
            HttpRequest.newBuilder(URI.create("${url}v1/sessions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())),
        )
        check(response.statusCode() == 200 || response.statusCode() == 201) {
            "sign-in answered ${response.statusCode()}: ${response.body()}"
        }
        return JSONObject(response.body()).getString("token")
    }

    /** A supervisor's triage decision (`PATCH /v1/reports/{id}`). */
    fun triage(session: String, id: String, status: String, reason: String? = null) {
        val body = JSONObject().put("status", status).put("reason", reason ?: JSONObject.NULL)
        val response = send(
            HttpRequest.newBuilder(URI.create("${url}v1/reports/$id"))
                .header("Authorization", "Bearer $session")
                .header("Content-Type", "application/json")
                .method("PATCH", HttpRequest.BodyPublishers.ofString(body.toString())),
        )
        check(response.statusCode() in 200..299) { "triage answered ${response.statusCode()}: ${response.body()}" }
    }

    /** The station's view of a report (`GET /v1/reports/{id}`), or null when it has none. */
    fun report(session: String, id: String): JSONObject? {
        val response = send(
            HttpRequest.newBuilder(URI.create("${url}v1/reports/$id"))
                .header("Authorization", "Bearer $session")
                .GET(),
        )
        return when (response.statusCode()) {
            200 -> JSONObject(response.body())
            404 -> null
            else -> error("GET report answered ${response.statusCode()}: ${response.body()}")
        }
    }

    /** Retires a category as an admin does: the station refuses new reports in it from then on. */
    fun retireCategory(adminSession: String, code: String) {
        val response = send(
            HttpRequest.newBuilder(URI.create("${url}v1/categories/$code/retire"))
                .header("Authorization", "Bearer $adminSession")
                .POST(HttpRequest.BodyPublishers.noBody()),
        )
        check(response.statusCode() == 200) { "retiring $code answered ${response.statusCode()}: ${response.body()}" }
    }

    /** Revokes the device enrolled with `label`, as an admin does for a lost phone. */
    fun revoke(label: String) {
        admin("device", "revoke", "--station", slug, "--device", label)
    }

    /** Starts the server and waits until it prints that it listens. */
    fun serve() {
        check(server == null) { "already serving" }
        val process = ProcessBuilder(
            binary().toString(), "serve",
            "--listen", "127.0.0.1:$port",
            "--data-dir", dataDir.toString(),
            "--enrol-rate-per-minute", "100000",
        )
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start()
        server = process
        val lines = BufferedReader(InputStreamReader(process.inputStream))
        val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30)
        while (true) {
            val line = lines.readLine() ?: error("the station exited before listening")
            if (line.contains("listening on")) break
            check(System.nanoTime() < deadline) { "the station did not start within 30 s" }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        Thread({ lines.useLines { it.forEach { } } }, "station-stdout").apply { isDaemon = true }.start()
    }

    /** Kills the server, as a crash would. */
    fun kill() {
        server?.let {
            it.destroyForcibly()
            it.waitFor(10, TimeUnit.SECONDS)
        }
        server = null
    }

    override fun close() {
        kill()
        dataDir.toFile().deleteRecursively()
    }

    private fun send(request: HttpRequest.Builder): HttpResponse<String> =
        http.send(request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString())

    companion object {
        /** The station binary named by the `postcso.station.binary` system property. */
        fun binary(): Path {
            val property = System.getProperty("postcso.station.binary")
                ?: error("set -Dpostcso.station.binary (the pom does) to the postcso-station binary")
            val path = Path.of(property)
            check(Files.isExecutable(path)) {
                "no station binary at $path: run `cargo build -p postcso-station` first"
            }
            return path
        }

        /** Creates a station in a fresh data dir and starts serving it. */
        fun start(): Station {
            val station = Station(Files.createTempDirectory("postcso-station-"), freePort())
            try {
                station.admin("station", "create", "--slug", station.slug, "--name", "Seodaemun Police Station")
                station.serve()
            } catch (e: Throwable) {
                station.close()
                throw e
            }
            return station
        }

        /** A loopback port nobody listens on right now. */
        fun freePort(): Int = ServerSocket(0, 0, java.net.InetAddress.getLoopbackAddress()).use { it.localPort }
    }
}

/** The photo fixtures shared with the Rust tests (`tests/fixtures/photos`). */
object Fixtures {
    /** A fixture photo by its path under `tests/fixtures/photos`. */
    fun photo(name: String): Path {
        val root = System.getProperty("postcso.fixtures")
            ?: error("set -Dpostcso.fixtures (the pom does) to tests/fixtures")
        val path = Path.of(root, "photos", name)
        check(Files.isRegularFile(path)) { "no fixture at $path" }
        return path
    }
}
