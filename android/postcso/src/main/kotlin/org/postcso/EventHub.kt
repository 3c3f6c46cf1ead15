package org.postcso

import java.util.concurrent.CopyOnWriteArraySet
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.ProducerScope
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import org.postcso.ffi.SyncEvent
import org.postcso.ffi.SyncListener

/**
 * The one [SyncListener] a [PostCso] registers with the core, fanning each event out to
 * every running [flow] collection.
 *
 * The core holds a single listener slot, so registering one listener per collector would
 * make collectors displace each other; the hub keeps the slot filled for the core's
 * lifetime and lets collectors come and go. [SyncListener.onEvent] runs on the core's
 * engine threads and must return quickly: it only offers the event to each collector's
 * unbounded buffer (events are small and a run emits a few per report), so a slow
 * collector never stalls sync and never loses an event.
 */
internal class EventHub : SyncListener {
    private val sinks = CopyOnWriteArraySet<ProducerScope<SyncEvent>>()

    @Volatile
    private var closed = false

    /** How many collections are running. */
    val subscribers: Int get() = sinks.size

    override fun onEvent(event: SyncEvent) {
        for (sink in sinks) {
            sink.trySend(event)
        }
    }

    /** A cold flow of the events emitted while it is collected; completes on [close]. */
    fun flow(): Flow<SyncEvent> = callbackFlow {
        sinks.add(this)
        // A collector that started after close() must not wait forever.
        if (closed) close()
        awaitClose { sinks.remove(this) }
    }.buffer(Channel.UNLIMITED)

    /** Ends every collection; later collections complete at once. */
    fun close() {
        closed = true
        for (sink in sinks) {
            sink.close()
        }
    }
}
