package org.postcso.bench

import java.nio.file.Files
import java.time.Instant
import kotlinx.coroutines.runBlocking
import org.postcso.PostCso
import org.postcso.ffi.CoreConfig
import org.postcso.ffi.Location
import org.postcso.ffi.LocationSource
import org.postcso.ffi.NetworkState
import org.postcso.ffi.PostCore

/**
 * The Kotlin side of the FFI overhead figures in BENCHMARKS.md: the same calls as the
 * Rust criterion bench `bindings/benches/ffi_overhead.rs` (`noop()`, `stats()`,
 * `submit()` of a ready draft, on a core whose network is set offline so no sync runs),
 * made from Kotlin through the generated bindings and JNA, and through the idiomatic
 * [PostCso] wrapper (suspend functions on `Dispatchers.IO`).
 *
 * A benchmark main rather than a timed unit test: each figure is measured after a
 * warm-up long enough for the JIT to compile the call path, over several rounds, and
 * reported as the median round with the fastest and slowest beside it.
 *
 *     mvn -B -q -f android/postcso/pom.xml -Pbench test-compile exec:exec
 */
fun main() {
    val dir = Files.createTempDirectory("postcso-bench-")
    val nowhere = "http://127.0.0.1:9/"
    val offline = NetworkState(online = false, metered = false, constrained = false)
    val rows = mutableListOf<Row>()

    val core = PostCore.open(CoreConfig(dir.resolve("raw").toString(), nowhere, null))
    core.setNetworkState(offline)
    rows += perCall("noop() via generated binding", calls = 200_000) { core.noop() }
    rows += perCall("stats() via generated binding", calls = 20_000) { core.stats() }
    rows += perEach("submit() via generated binding", count = 300, prepare = { core.readyDraft() }) { core.submit(it) }
    core.shutdown()
    core.close()

    runBlocking {
        val cso = PostCso.open(dir.resolve("wrapped"), nowhere)
        cso.setNetworkState(offline)
        rows += perCall("noop() via PostCso", calls = 200_000) { cso.noop() }
        rows += perCall("stats() via PostCso (suspend, Dispatchers.IO)", calls = 20_000) { runBlocking { cso.stats() } }
        rows += perEach("submit() via PostCso (suspend, Dispatchers.IO)", count = 300, prepare = {
            runBlocking {
                val id = cso.createDraft()
                cso.setCategory(id, "crime_risk")
                cso.setLocation(id, seodaemun())
                id
            }
        }) { runBlocking { cso.submit(it) } }
        cso.close()
    }
    dir.toFile().deleteRecursively()

    println()
    println("| call (Kotlin, JVM ${System.getProperty("java.version")}, JNA) | median | fastest | slowest | rounds |")
    println("|---|---|---|---|---|")
    rows.forEach { println(it.markdown()) }
}

/** One measured call: per-round figures in nanoseconds per call. */
private class Row(val name: String, val rounds: List<Double>) {
    fun markdown(): String {
        val sorted = rounds.sorted()
        return "| $name | ${fmt(sorted[sorted.size / 2])} | ${fmt(sorted.first())} | ${fmt(sorted.last())} | ${sorted.size} |"
    }

    private fun fmt(ns: Double): String = when {
        ns >= 1_000_000 -> "%.2f ms".format(ns / 1_000_000)
        ns >= 1_000 -> "%.2f µs".format(ns / 1_000)
        else -> "%.0f ns".format(ns)
    }
}

private const val WARM_UP_ROUNDS = 5
private const val ROUNDS = 15

/** A fast call: rounds of [calls] back-to-back calls, reported per call. */
private inline fun perCall(name: String, calls: Int, call: () -> Unit): Row {
    val rounds = mutableListOf<Double>()
    repeat(WARM_UP_ROUNDS + ROUNDS) { round ->
        val start = System.nanoTime()
        repeat(calls) { call() }
        val perCall = (System.nanoTime() - start).toDouble() / calls
        if (round >= WARM_UP_ROUNDS) rounds += perCall
    }
    return Row(name, rounds).also { System.err.println("bench: ${it.markdown()}") }
}

/**
 * A slow call that needs fresh input: [prepare] runs outside the timing, each call is
 * timed alone, and each round is the mean of [count] calls.
 */
private inline fun <T> perEach(name: String, count: Int, prepare: () -> T, call: (T) -> Unit): Row {
    val rounds = mutableListOf<Double>()
    val warmUp = 2
    val totalRounds = 6
    repeat(warmUp + totalRounds) { round ->
        var total = 0L
        repeat(count / totalRounds) {
            val input = prepare()
            val start = System.nanoTime()
            call(input)
            total += System.nanoTime() - start
        }
        if (round >= warmUp) rounds += total.toDouble() / (count / totalRounds)
    }
    return Row(name, rounds).also { System.err.println("bench: ${it.markdown()}") }
}

private fun PostCore.readyDraft(): String {
    val id = createDraft()
    setCategory(id, "crime_risk")
    setLocation(id, seodaemun())
    return id
}

private fun seodaemun() = Location(37.5658, 126.9386, 7.0, null, Instant.now(), LocationSource.GPS)
