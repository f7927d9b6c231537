import Foundation
import XCTest

@testable import HeedData

final class WorkerPoolTests: XCTestCase {
    private final class Token: Sendable {}

    /// A job that has run is let go even while the queue never empties (workers slower
    /// than the consumer): a job holds its batch's images, so keeping run jobs would make
    /// a loader's memory grow with the epoch.
    func testRunJobsAreReleasedWhileTheQueueStaysBusy() {
        let pool = WorkerPool(threads: 1)
        defer { pool.close() }
        let (started, gate) = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
        weak var released: Token?
        do {
            let token = Token()
            released = token
            pool.submit { _ = token }
        }
        pool.submit {
            started.signal()
            gate.wait()
        }
        pool.submit {}
        started.wait()
        XCTAssertNil(released, "the first job ran and is no longer held, with a job still queued")
        gate.signal()
    }

    /// Jobs run in the order submitted (one thread), each once.
    func testJobsRunOnceInOrder() {
        let pool = WorkerPool(threads: 1)
        defer { pool.close() }
        let lock = NSLock()
        nonisolated(unsafe) var order: [Int] = []
        let done = DispatchSemaphore(value: 0)
        for index in 0..<100 {
            pool.submit {
                lock.withLock { order.append(index) }
                if index == 99 { done.signal() }
            }
        }
        done.wait()
        XCTAssertEqual(lock.withLock { order }, Array(0..<100))
    }
}
