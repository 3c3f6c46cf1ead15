package org.postcso

import java.lang.management.ManagementFactory
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.seconds
import kotlin.time.Duration.Companion.milliseconds
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Test
import org.postcso.ffi.CoreConfig
import org.postcso.ffi.PostCore
import org.postcso.ffi.StopReason
import org.postcso.ffi.SyncEvent
import org.postcso.ffi.SyncListener
import org.postcso.testing.Station
import org.postcso.testing.tempDataDir
import org.postcso.testing.secretsFor

/**
 * Opening and closing the core is what an app does on every sign-in, process start and
 * WorkManager run: a thousand cycles, each with its events flowing from the engine's
 * Rust threads into a Kotlin Flow, must leave neither threads nor memory behind.
 */
class LifecycleLeakTest {
    @Test
    fun `opening and closing the core 1000 times leaks neither threads nor memory`(): Unit = runBlocking {
        // Nothing listens here: each sync fails fast with a refused connection (or waits
        // out the backoff), and the engine emits the run's events on its own threads.
        val deadStation = "http://127.0.0.1:${Station.freePort()}/"
        val root = tempDataDir("postcso-leak-")
        val warmUp = 100
        val cycles = 1_000
        var baseline: Sample? = null
        var peakThreads = 0
        var eventsSeen = 0L
        try {
            for (cycle in 1..cycles) {
                val dir = Files.createDirectory(root.resolve("c$cycle"))
                eventsSeen += oneCycle(dir, deadStation)
                dir.toFile().deleteRecursively()
                peakThreads = maxOf(peakThreads, osThreads())
                if (cycle == warmUp) baseline = sample()
            }
        } finally {
            root.toFile().deleteRecursively()
        }
        val start = checkNotNull(baseline)
        val end = sample()
        println("leak test: after $warmUp cycles $start; after $cycles cycles $end; peak OS threads $peakThreads; events $eventsSeen")

        assertTrue(eventsSeen >= cycles, "every cycle delivered its events ($eventsSeen)")
        // Each open starts a runtime with 2 workers (+ blocking threads); a leaked runtime
        // per cycle would add thousands. Allow a few for JVM housekeeping (JIT, GC, JNA).
        assertTrue(end.osThreads <= start.osThreads + 6, "OS threads grew: $start -> $end")
        assertTrue(end.jvmThreads <= start.jvmThreads + 6, "JVM threads grew: $start -> $end")
        assertTrue(peakThreads <= start.osThreads + 24, "threads piled up during the run: peak $peakThreads, $start")
        // RSS wanders by several MiB with the allocator and the JIT (seen: +12..16 MiB,
        // not growing linearly); 900 more cycles leaking 36 KiB each would add 32 MiB.
        val growthKiB = end.rssKiB - start.rssKiB
        assertTrue(growthKiB < 32 * 1024, "RSS grew by $growthKiB KiB over ${cycles - warmUp} cycles: $start -> $end")
        val heapGrowth = end.heapUsedKiB - start.heapUsedKiB
        assertTrue(heapGrowth < 16 * 1024, "the heap after GC grew by $heapGrowth KiB: $start -> $end")
    }

    /**
     * One app session: open, collect the events Flow, sync against the dead port (the
     * engine's threads emit the run's events, at least its Finished), close. Closing
     * ends the Flow after the events already delivered, so the count is exact.
     * Returns the events seen.
     */
    private suspend fun oneCycle(dir: Path, station: String): Int {
        val cso = PostCso.open(dir, station, secretsFor(dir), credential = "device-token-for-a-dead-station")
        return try {
            coroutineScope {
                val collected = async(Dispatchers.Default) { cso.events.toList() }
                withTimeout(10.seconds) { while (cso.eventSubscribers < 1) delay(1) }
                val outcome = cso.syncNow(100.milliseconds)
                assertTrue(
                    outcome.stop is StopReason.BackingOff || outcome.stop == StopReason.DeadlineReached,
                    "a refused connection is an ordinary stop: ${outcome.stop}",
                )
                cso.close()
                val events = withTimeout(30.seconds) { collected.await() }
                assertTrue(events.any { it is SyncEvent.Finished }, "the run's end was delivered: $events")
                events.size
            }
        } finally {
            cso.close()
        }
    }

    @Test
    fun `listener callbacks arrive on the engine's threads, not the caller's`(): Unit = runBlocking {
        val dir = tempDataDir()
        val threads = CopyOnWriteArrayList<String>()
        val finished = CountDownLatch(1)
        val listener = object : SyncListener {
            override fun onEvent(event: SyncEvent) {
                threads += Thread.currentThread().name
                if (event is SyncEvent.Finished) finished.countDown()
            }
        }
        val core = PostCore.open(CoreConfig(dir.toString(), "http://127.0.0.1:${Station.freePort()}/", "token"), secretsFor(dir))
        try {
            core.setListener(listener)
            val outcome = core.syncNow(5_000uL)
            assertTrue(outcome.stop is StopReason.BackingOff, "a refused connection backs off: ${outcome.stop}")
            assertTrue(finished.await(10, TimeUnit.SECONDS), "Finished was delivered")
            val caller = Thread.currentThread().name
            assertTrue(threads.isNotEmpty())
            assertTrue(threads.none { it == caller }, "events came on $threads, the caller is $caller")
        } finally {
            core.shutdown()
            core.close()
            dir.toFile().deleteRecursively()
        }
        assertEquals(true, core.uniffiIsDestroyed)
    }

    /** Threads, resident memory and heap at one moment. */
    private data class Sample(val osThreads: Int, val jvmThreads: Int, val rssKiB: Long, val heapUsedKiB: Long)

    private fun sample(): Sample {
        // Let the cleaners and the runtimes' background shutdowns finish first.
        repeat(3) {
            System.gc()
            Thread.sleep(100)
        }
        val heap = ManagementFactory.getMemoryMXBean().heapMemoryUsage.used / 1024
        return Sample(osThreads(), ManagementFactory.getThreadMXBean().threadCount, rssKiB(), heap)
    }

    /** The process's OS threads (Rust, JVM and JNA-attached alike), from /proc. */
    private fun osThreads(): Int = status("Threads:").toInt()

    /** The process's resident set size in KiB, from /proc. */
    private fun rssKiB(): Long = status("VmRSS:").removeSuffix("kB").trim().toLong()

    private fun status(field: String): String =
        Files.readAllLines(Path.of("/proc/self/status")).first { it.startsWith(field) }.removePrefix(field).trim()
}
