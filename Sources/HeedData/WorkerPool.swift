import Foundation

/// A fixed number of threads running submitted jobs in the order submitted: the decoders
/// of a ``BatchLoader``. Closing it drops the jobs not yet started; the threads finish the
/// one they run and end.
final class WorkerPool: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var next = 0
    private var closed = false

    init(threads: Int) {
        precondition(threads > 0, "a pool needs a thread")
        for index in 0..<threads {
            let thread = Thread { [self] in work() }
            thread.name = "heed-decoder-\(index)"
            thread.start()
        }
    }

    func submit(_ job: @escaping @Sendable () -> Void) {
        condition.withLock {
            jobs.append(job)
            condition.signal()
        }
    }

    func close() {
        condition.withLock {
            closed = true
            jobs.removeAll()
            next = 0
            condition.broadcast()
        }
    }

    private func work() {
        while let job = take() { job() }
    }

    private func take() -> (@Sendable () -> Void)? {
        condition.lock()
        defer { condition.unlock() }
        while next == jobs.count && !closed { condition.wait() }
        guard !closed else { return nil }
        let job = jobs[next]
        next += 1
        // Drop the jobs already taken once they are half the queue (amortised O(1)): a job
        // holds its batch, so a queue that never empties (workers slower than the consumer)
        // would otherwise keep every batch of the epoch.
        if next * 2 >= jobs.count {
            jobs.removeFirst(next)
            next = 0
        }
        return job
    }
}
