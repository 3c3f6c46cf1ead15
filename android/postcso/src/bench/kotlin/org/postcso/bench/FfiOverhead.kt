package org.postcso.bench

import java.nio.file.Files
import java.time.Instant
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.runBlocking
import org.postcso.PostCso
import org.postcso.ffi.CoreConfig
import org.postcso.ffi.Location
import org.postcso.ffi.LocationSource
import org.postcso.ffi.NetworkState
import org.postcso.ffi.PostCore
import org.postcso.testing.secretsFor

/**
 * The Kotlin side of the FFI overhead figures in BENCHMARKS.md: the same calls as the
 * Rust criterion bench `bindings/benches/ffi_overhead.rs` (`noop()`, `stats()`,
 * `submit()` of a ready draft, on a core whose network is set offline so no sync runs),
 * made from Kotlin through the generated bindings and JNA, and through the idiomatic
 * [PostCso] wrapper (suspend functions on `Dispatchers.IO`).
 *
 * A benchmark main rather than a timed unit test: each figure is measured after a
 * warm-up long enough for the JIT to compile the call path. Fast calls are reported as
 * the median of several rounds with the fastest and slowest beside it; `submit()` (one
 * fsync) as p50/p90/p99 of single calls, the two paths interleaved call by call.
 *
 *     mvn -B -q -f android/postcso/pom.xml -Pbench test-compile exec:exec
 */
fun main() {
    val dir = Files.createTempDirectory("postcso-bench-")
    val nowhere = "http://127.0.0.1:9/"
    val offline = NetworkState(online = false, metered = false, constrained = false)
    val rows = mutableListOf<String>()

    val core = PostCore.open(CoreConfig(dir.resolve("raw").toString(), nowhere, null), secretsFor(dir.resolve("raw")))
    core.setNetworkState(offline)
    val cso = runBlocking { PostCso.open(dir.resolve("wrapped"), nowhere, secretsFor(dir.resolve("wrapped"))) }
    cso.setNetworkState(offline)

    rows += perCall("noop() via generated binding", calls = 10_000) { core.noop() }
    rows += perCall("noop() via PostCso", calls = 10_000) { cso.noop() }
    rows += perCall("stats() via generated binding", calls = 2_000) { core.stats() }
    rows += perCall("stats() via PostCso (suspend, Dispatchers.IO)", calls = 2_000) { runBlocking { cso.stats() } }

    // submit(): three paths interleaved call by call (the order rotating), so the disk's
    // mood hits them alike: the generated binding called on the JVM's main thread, the
    // same call on a Dispatchers.IO thread, and PostCso's suspend function.
    val samples = List(3) { mutableListOf<Long>() }
    val submits = 1_000
    val warmUp = 100
    for (i in 0 until warmUp + submits) {
        for (k in 0 until 3) {
            val path = (i + k) % 3
            val ns = when (path) {
                0 -> {
                    val id = core.readyDraft()
                    val start = System.nanoTime()
                    core.submit(id)
                    System.nanoTime() - start
                }
                1 -> {
                    val id = core.readyDraft()
                    runBlocking(Dispatchers.IO) {
                        val start = System.nanoTime()
                        core.submit(id)
                        System.nanoTime() - start
                    }
                }
                else -> {
                    val id = runBlocking {
                        val id = cso.createDraft()
                        cso.setCategory(id, "crime_risk")
                        cso.setLocation(id, seodaemun())
                        id
                    }
                    val start = System.nanoTime()
                    runBlocking { cso.submit(id) }
                    System.nanoTime() - start
                }
            }
            if (i >= warmUp) samples[path] += ns
        }
    }
    rows += percentiles("submit() via generated binding, JVM main thread", samples[0])
    rows += percentiles("submit() via generated binding, a Dispatchers.IO thread", samples[1])
    rows += percentiles("submit() via PostCso (suspend, hops to Dispatchers.IO)", samples[2])

    core.shutdown()
    core.close()
    cso.close()
    dir.toFile().deleteRecursively()

    println()
    println("Kotlin ${KotlinVersion.CURRENT}, JVM ${System.getProperty("java.version")}, JNA ${com.sun.jna.Native.VERSION}")
    println()
    println("| call | result |")
    println("|---|---|")
    rows.forEach(::println)
}

private fun fmt(ns: Double): String = when {
    ns >= 1_000_000 -> "%.2f ms".format(ns / 1_000_000)
    ns >= 1_000 -> "%.2f µs".format(ns / 1_000)
    else -> "%.0f ns".format(ns)
}

/** p50, p90 and p99 of single-call latencies. */
private fun percentiles(name: String, samples: List<Long>): String {
    val sorted = samples.sorted()
    fun p(q: Double) = fmt(sorted[((sorted.size - 1) * q).toInt()].toDouble())
    return "| $name | p50 **${p(0.50)}**, p90 ${p(0.90)}, p99 ${p(0.99)} (${sorted.size} calls) |"
        .also { System.err.println("bench: $it") }
}

private const val WARM_UP_ROUNDS = 5
private const val ROUNDS = 15

/**
 * A fast call: rounds of [calls] back-to-back calls, reported per call.
 *
 * Every generated call allocates a JNA `Structure` for its call status, and each JNA
 * `Memory` is tracked in a global map until a cleaner frees it after GC; in a tight loop
 * that map grows and every call slows down with it. Rounds are kept short and a GC runs
 * between rounds (outside the timing), as it would between an app's calls.
 */
private inline fun perCall(name: String, calls: Int, call: () -> Unit): String {
    val rounds = mutableListOf<Double>()
    repeat(WARM_UP_ROUNDS + ROUNDS) { round ->
        settle()
        val start = System.nanoTime()
        repeat(calls) { call() }
        val perCall = (System.nanoTime() - start).toDouble() / calls
        if (round >= WARM_UP_ROUNDS) rounds += perCall
    }
    rounds.sort()
    return "| $name | **${fmt(rounds[rounds.size / 2])}** per call (median of $ROUNDS rounds of $calls; " +
        "fastest ${fmt(rounds.first())}, slowest ${fmt(rounds.last())}) |"
            .also { System.err.println("bench: $it") }
}

/** Lets the GC and JNA's cleaner free what earlier rounds allocated. */
private fun settle() {
    System.gc()
    Thread.sleep(50)
}

private fun PostCore.readyDraft(): String {
    val id = createDraft()
    setCategory(id, "crime_risk")
    setLocation(id, seodaemun())
    return id
}

private fun seodaemun() = Location(37.5658, 126.9386, 7.0, null, Instant.now(), LocationSource.GPS)
