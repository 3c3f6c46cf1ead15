// BGTaskScheduler registration: iOS grants the app background windows, and each
// window runs `syncNow(deadline:)`.
//
// The deadline comes from the task's expiration handler: iOS does not say how
// long a window lasts, only that it is ending. The sync is started with a
// generous upper bound (`maxWindow`) and the expiration handler cancels the
// Swift Task; `PostCoreClient.syncNow` turns that cancellation into the core's
// `cancel()`, because cancelling a Swift Task does not stop the Rust future by
// itself. The run stops within a second with every confirmed byte saved, so
// the task completes before iOS's grace period ends.
//
// Add the identifier to `BGTaskSchedulerPermittedIdentifiers` in Info.plist and
// enable the "Background processing" capability.

import BackgroundTasks
import Foundation
import PostcsoFFI

/// Registers and schedules the background sync task.
public enum BackgroundSync {
    /// The BGTask identifier (Info.plist `BGTaskSchedulerPermittedIdentifiers`).
    public static let identifier = "org.postcso.sync"
    /// Upper bound of one window when iOS does not end it sooner.
    public static let maxWindow: TimeInterval = 5 * 60

    /// Call once from `application(_:didFinishLaunchingWithOptions:)`, before
    /// launch finishes (iOS requires registration that early).
    public static func register(client: @escaping @Sendable () -> PostCoreClient?) {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: identifier, using: nil) { task in
            guard let task = task as? BGProcessingTask else {
                task.setTaskCompleted(success: false)
                return
            }
            handle(task, client: client())
        }
    }

    /// Asks iOS for the next window: needs network, not external power, so
    /// reports leave even while the carrier is on the route.
    public static func schedule(earliest: TimeInterval = 15 * 60) {
        let request = BGProcessingTaskRequest(identifier: identifier)
        request.requiresNetworkConnectivity = true
        request.requiresExternalPower = false
        request.earliestBeginDate = Date(timeIntervalSinceNow: earliest)
        do {
            try BGTaskScheduler.shared.submit(request)
        } catch {
            // Too many pending requests or background refresh disabled: the
            // foreground triggers (submit, network back) still sync.
        }
    }

    private static func handle(_ task: BGProcessingTask, client: PostCoreClient?) {
        schedule()
        guard let client else {
            task.setTaskCompleted(success: false)
            return
        }
        let deadline = Date(timeIntervalSinceNow: maxWindow)
        let work = Task {
            do {
                let outcome = try await client.syncNow(deadline: deadline)
                switch outcome.stop {
                case .drained, .deadlineReached, .offline, .backingOff:
                    task.setTaskCompleted(success: true)
                case .cancelled, .reEnrolRequired, .notEnrolled, .localError:
                    task.setTaskCompleted(success: false)
                }
            } catch {
                // ReEnrolRequired / NotEnrolled / Storage: the app's UI handles
                // them from the event stream; nothing to retry here.
                task.setTaskCompleted(success: false)
            }
        }
        task.expirationHandler = {
            // The window is ending: this is the deadline. Cancelling the Task
            // reaches Rust through `syncNow`'s cancellation handler (`cancel()`).
            work.cancel()
        }
    }
}
