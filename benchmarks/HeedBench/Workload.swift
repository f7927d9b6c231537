import HeedOpenCL
import HeedOps

/// Work to time, and how much of it there is.
///
/// `run` enqueues the work once on the backend's queue (it may return before the
/// device finishes); inputs are prepared when the workload is made, outside the timing.
struct Workload {
    /// Floating-point operations of one run (a multiply-add counts two).
    var flops: Int
    /// The least memory traffic of one run: inputs read once, outputs written once
    /// (nil for whole networks, where it is not counted).
    var bytes: Int?
    var bound: Bound
    /// Images one run processes (whole-network cases).
    var images: Int?
    var run: () throws -> Void
}

extension Workload {
    /// One op, counted as its table entry counts it (without the optional buffers `leftOut`).
    init<Descriptor>(
        _ op: OpDefinition<Descriptor>, _ descriptor: Descriptor, leaving leftOut: Set<String> = [],
        bound: Bound, run: @escaping () throws -> Void
    ) {
        self.init(flops: op.flops(descriptor), bytes: op.bytes(descriptor, leaving: leftOut), bound: bound, run: run)
    }
}

/// Buffers of random values, from a fixed seed so every run of `heed bench` times the same data.
struct RandomBuffers {
    let backend: OpenCLBackend
    private var random = SeededGenerator(seed: 0xBE4C)

    init(backend: OpenCLBackend) {
        self.backend = backend
    }

    /// `count` floats uniform in `range`.
    mutating func uniform(_ count: Int, in range: ClosedRange<Float> = -1...1) throws -> any DeviceBuffer {
        try backend.makeBuffer(random.uniform(count, in: range))
    }

    /// `count` floats of undefined value, for outputs.
    func output(_ count: Int) throws -> any DeviceBuffer {
        try backend.makeBuffer(count: count, of: Float.self)
    }
}
