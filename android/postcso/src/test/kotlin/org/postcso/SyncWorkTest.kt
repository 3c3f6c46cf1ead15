package org.postcso

import java.net.InetAddress
import java.net.ServerSocket
import java.net.Socket
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlin.time.TimeSource
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.postcso.ffi.NetworkState
import org.postcso.ffi.PostException
import org.postcso.ffi.ReportState
import org.postcso.ffi.StopReason
import org.postcso.ffi.SyncEvent
import org.postcso.ffi.SyncOutcome
import org.postcso.testing.EventRecorder
import org.postcso.testing.Station
import org.postcso.testing.fileReport
import org.postcso.testing.tempDataDir
import org.postcso.work.SyncWork
import org.postcso.work.WorkDecision
import org.postcso.testing.secretsFor

/**
 * The background-sync decisions the WorkManager `SyncWorker` acts on, run through the
 * real core against a real station, and the cancellation bridge that stops the Rust run
 * when WorkManager cancels the worker's coroutine.
 */
class SyncWorkTest {
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
    fun `a window that delivers the queue succeeds, an unreachable station retries, a revoked device fails`(): Unit = runBlocking {
        val (code, label) = station.enrolmentCodes(1).single()
        PostCso.open(dataDir, station.url, secretsFor(dataDir)).use { cso ->
            cso.enrol(code)
            val id = cso.fileReport()
            assertEquals(WorkDecision.SUCCESS, SyncWork.run(cso, 60.seconds))
            assertEquals(ReportState.SENT, cso.report(id).state)

            station.kill()
            cso.fileReport()
            assertEquals(WorkDecision.RETRY, SyncWork.run(cso, 3.seconds), "the next window tries again")

            station.serve()
            station.revoke(label)
            cso.setNetworkState(Connectivity.OFFLINE)
            cso.setNetworkState(online())
            assertEquals(WorkDecision.FAILURE, SyncWork.run(cso, 30.seconds), "retrying cannot help a revoked device")
        }
    }

    @Test
    fun `a device that never enrolled fails instead of retrying forever`(): Unit = runBlocking {
        PostCso.open(dataDir, station.url, secretsFor(dataDir)).use { cso ->
            assertEquals(WorkDecision.FAILURE, SyncWork.run(cso, 5.seconds))
        }
    }

    @Test
    fun `every stop reason maps to a decision`() {
        fun outcome(stop: StopReason) = SyncOutcome(stop, 0u, 0u, 0uL)
        assertEquals(WorkDecision.SUCCESS, SyncWork.decide(outcome(StopReason.Drained)))
        assertEquals(WorkDecision.RETRY, SyncWork.decide(outcome(StopReason.DeadlineReached)))
        assertEquals(WorkDecision.RETRY, SyncWork.decide(outcome(StopReason.Offline)))
        assertEquals(WorkDecision.RETRY, SyncWork.decide(outcome(StopReason.Cancelled)))
        assertEquals(WorkDecision.RETRY, SyncWork.decide(outcome(StopReason.BackingOff(2_000uL, "503"))))
        assertEquals(WorkDecision.FAILURE, SyncWork.decide(outcome(StopReason.ReEnrolRequired)))
        assertEquals(WorkDecision.RETRY, SyncWork.decide(PostException.Network("station unreachable")))
        assertEquals(WorkDecision.FAILURE, SyncWork.decide(PostException.NotEnrolled("not enrolled")))
        assertTrue(SyncWork.WORK_MANAGER_BUDGET < 10.seconds * 60, "the budget fits WorkManager's window")
    }

    @Test
    fun `cancelling the coroutine stops the run in Rust`(): Unit = runBlocking {
        // A "station" that accepts connections and never answers: the run hangs on its
        // first request until the 20 s read timeout unless the cancel reaches Rust.
        val silent = ServerSocket(0, 50, InetAddress.getLoopbackAddress())
        val held = CopyOnWriteArrayList<Socket>()
        val acceptor = launch(Dispatchers.IO) {
            while (!silent.isClosed) runCatching { held += silent.accept() }
        }
        try {
            PostCso.open(dataDir, "http://127.0.0.1:${silent.localPort}/", secretsFor(dataDir), credential = "token").use { cso ->
                val recorder = EventRecorder.start(cso, this)
                val sync = async(Dispatchers.Default) { cso.syncNow(60.seconds) }
                // The engine's run (its own after open, and then syncNow's) hangs on a
                // request to the silent station.
                withTimeout(10.seconds) { while (held.isEmpty()) delay(10) }
                delay(300.milliseconds)
                val cancelledAt = TimeSource.Monotonic.markNow()
                sync.cancelAndJoin()
                val finished = recorder.await(5.seconds) {
                    it is SyncEvent.Finished && it.outcome.stop == StopReason.Cancelled
                }
                val took = cancelledAt.elapsedNow()
                assertTrue(took < 2.seconds, "the Rust run stopped ${took.inWholeMilliseconds} ms after the cancel: $finished")
                // Nothing was left hanging until the read timeout.
                delay(1.seconds)
                assertTrue(
                    recorder.events.none { it is SyncEvent.Failure },
                    "no run went on to fail after the cancel: ${recorder.events}",
                )
                recorder.stop()
            }
        } finally {
            silent.close()
            held.forEach { it.close() }
            acceptor.cancelAndJoin()
        }
    }

    @Test
    fun `connectivity maps to the core's network state`() {
        val wifi = Connectivity.networkState(internet = true, validated = true, suspended = false, unmetered = true, dataSaver = false)
        assertEquals(NetworkState(online = true, metered = false, constrained = false), wifi)
        val captivePortal = Connectivity.networkState(internet = true, validated = false, suspended = false, unmetered = true, dataSaver = false)
        assertEquals(false, captivePortal.online)
        val cellInACall = Connectivity.networkState(internet = true, validated = true, suspended = true, unmetered = false, dataSaver = false)
        assertEquals(false, cellInACall.online)
        val cellSaver = Connectivity.networkState(internet = true, validated = true, suspended = false, unmetered = false, dataSaver = true)
        assertEquals(NetworkState(online = true, metered = true, constrained = true), cellSaver)
        assertEquals(false, Connectivity.OFFLINE.online)
    }

    private fun online(): NetworkState =
        Connectivity.networkState(internet = true, validated = true, suspended = false, unmetered = true, dataSaver = false)
}
