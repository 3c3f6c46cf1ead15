// Feeds `NWPathMonitor`'s view of connectivity into the core, so coming back
// online syncs at once and going offline stops a doomed run.

import Foundation
import Network
import PostcsoFFI

/// Watches the network path and tells the core about every change.
public final class NetworkStateFeeder: @unchecked Sendable {
    private let monitor = NWPathMonitor()
    private let queue = DispatchQueue(label: "org.postcso.network")
    private let client: PostCoreClient

    /// Starts watching at once.
    public init(client: PostCoreClient) {
        self.client = client
        monitor.pathUpdateHandler = { [weak self] path in
            self?.update(path)
        }
        monitor.start(queue: queue)
    }

    deinit {
        monitor.cancel()
    }

    /// Stops watching.
    public func stop() {
        monitor.cancel()
    }

    /// Maps a path to the core's network state: `isExpensive` is cellular or a
    /// personal hotspot, `isConstrained` is Low Data Mode.
    static func state(of path: NWPath) -> NetworkState {
        NetworkState(
            online: path.status == .satisfied,
            metered: path.isExpensive,
            constrained: path.isConstrained
        )
    }

    private func update(_ path: NWPath) {
        // Only `Closed` can be thrown here, after the client was closed.
        try? client.setNetworkState(Self.state(of: path))
    }
}
