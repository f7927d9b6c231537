import Dispatch
import Foundation
import HeedGraph

/// Averages the parameters' gradients over the ranks after each backward, in flat
/// buckets staged through the host, overlapped with backward.
///
/// Parameters go into buckets in reverse registration order (about the order backward
/// finishes them, as PyTorch's DDP does), each bucket up to `bucketCapacity` values.
/// During backward, `gradientIsFinal` hears of each leaf whose gradient is complete;
/// when a bucket's last member is, its gradients are copied into the bucket's host buffer
/// and a communication thread sums it over the ranks (`MPI_Allreduce` on a communicator
/// of its own) while backward goes on. `finish` sends what is left, waits, and puts the
/// means back as the gradients. Every rank runs the same graph, so every rank fills and
/// sends the buckets in the same order.
///
/// Unchecked `Sendable`: the communication thread touches a bucket's buffer only between
/// `send` and the `inFlight` wait, and the error and timing under `lock`.
public final class GradientAverager: @unchecked Sendable {
    /// Time spent in the allreduces and the part of it backward did not hide.
    public struct Timing: Sendable {
        public var buckets = 0
        public var steps = 0
        /// Seconds the communication thread spent in `MPI_Allreduce`.
        public var allreduceSeconds = 0.0
        /// Seconds `finish` waited for it: the allreduce time not hidden behind backward.
        public var exposedSeconds = 0.0
    }

    private final class Bucket: @unchecked Sendable {
        let members: [Tensor]
        let offsets: [Int]
        let storage: UnsafeMutableBufferPointer<Float>
        var finalMembers = 0
        var sent = false
        /// Members whose gradient went into `storage` this step.
        var staged: [Bool]

        init(members: [Tensor]) {
            self.members = members
            var offsets: [Int] = []
            var total = 0
            for member in members {
                offsets.append(total)
                total += member.count
            }
            self.offsets = offsets
            storage = .allocate(capacity: total)
            staged = Array(repeating: false, count: members.count)
        }

        deinit { storage.deallocate() }
    }

    private let group: ProcessGroup
    private let buckets: [Bucket]
    /// Which bucket each parameter belongs to.
    private let bucketOf: [ObjectIdentifier: Int]
    private let communication = DispatchQueue(label: "heed.gradient-allreduce")
    private let inFlight = DispatchGroup()
    private let lock = NSLock()
    private var communicationError: (any Error)?
    private var stepAllreduceSeconds = 0.0
    public private(set) var timing = Timing()

    public init(parameters: [Tensor], group: ProcessGroup, bucketCapacity: Int = 1 << 20) {
        self.group = group
        var buckets: [Bucket] = []
        var current: [Tensor] = []
        var size = 0
        for parameter in parameters.reversed() {
            if !current.isEmpty && size + parameter.count > bucketCapacity {
                buckets.append(Bucket(members: current))
                (current, size) = ([], 0)
            }
            current.append(parameter)
            size += parameter.count
        }
        if !current.isEmpty { buckets.append(Bucket(members: current)) }
        self.buckets = buckets
        var bucketOf: [ObjectIdentifier: Int] = [:]
        for (index, bucket) in buckets.enumerated() {
            for member in bucket.members { bucketOf[ObjectIdentifier(member)] = index }
        }
        self.bucketOf = bucketOf
        timing.buckets = buckets.count
    }

    /// The hook for `backward(leafGradientIsFinal:)`.
    public func gradientIsFinal(_ leaf: Tensor) throws {
        guard let index = bucketOf[ObjectIdentifier(leaf)] else { return }
        let bucket = buckets[index]
        bucket.finalMembers += 1
        if bucket.finalMembers == bucket.members.count { try send(bucket) }
    }

    /// After backward: sends the buckets not yet sent (some member had no gradient),
    /// waits for every allreduce and replaces each gradient by its mean over the ranks.
    public func finish() throws {
        for bucket in buckets where !bucket.sent { try send(bucket) }
        let waitStart = DispatchTime.now()
        inFlight.wait()
        let waited = Double(DispatchTime.now().uptimeNanoseconds - waitStart.uptimeNanoseconds) / 1e9
        lock.lock()
        let error = communicationError
        communicationError = nil
        timing.allreduceSeconds += stepAllreduceSeconds
        stepAllreduceSeconds = 0
        lock.unlock()
        timing.exposedSeconds += waited
        timing.steps += 1
        if let error { throw error }
        let scale = 1 / Float(group.size)
        for bucket in buckets {
            for (slot, member) in bucket.members.enumerated() where bucket.staged[slot] {
                let start = bucket.offsets[slot]
                try member.replaceGradient(with: bucket.storage[start..<start + member.count].map { $0 * scale })
            }
            bucket.finalMembers = 0
            bucket.sent = false
            bucket.staged = Array(repeating: false, count: bucket.members.count)
        }
    }

    /// Copies the bucket's gradients to its host buffer (zeros for a member without one)
    /// and queues its allreduce on the communication thread.
    private func send(_ bucket: Bucket) throws {
        bucket.sent = true
        for (slot, member) in bucket.members.enumerated() {
            let start = bucket.offsets[slot]
            let target = UnsafeMutableBufferPointer(rebasing: bucket.storage[start..<start + member.count])
            if let gradient = member.gradient {
                _ = target.update(fromContentsOf: try gradient.values())
                bucket.staged[slot] = true
            } else {
                target.update(repeating: 0)
            }
        }
        inFlight.enter()
        communication.async { [self] in
            defer { inFlight.leave() }
            let start = DispatchTime.now()
            do {
                try group.allreduceGradientSum(bucket.storage)
            } catch {
                lock.lock()
                communicationError = communicationError ?? error
                lock.unlock()
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            lock.lock()
            stepAllreduceSeconds += seconds
            lock.unlock()
        }
    }
}
