import HeedOps

/// Runs one op on two backends with the same inputs and returns both sets of outputs,
/// so that a verification case is only "make inputs, call the op, compare".
///
/// ```swift
/// let (device, reference) = try OpHarness.run(on: gpu, and: cpu,
///     inputs: [.floats(x)], outputs: [.floats(x.count)]) { backend, inputs, outputs in
///     try backend.relu(count: x.count, input: inputs[0], output: outputs[0])
/// }
/// ```
public enum OpHarness {
    /// An input buffer's contents.
    public enum Input {
        case floats([Float])
        case ints([Int32])
    }

    /// An output buffer: float outputs start as NaN and int outputs as `Int32.min`, so
    /// an element the op does not write shows up in the comparison.
    public enum Output {
        case floats(Int)
        case ints(Int)
        /// An output that the op also reads (accumulates into, updates in place): it
        /// starts with these values.
        case initialized([Float])
    }

    /// The outputs of one backend, in the order they were declared (int outputs as floats).
    public typealias Results = [[Float]]

    public static func run(
        on device: any Backend, and reference: any Backend,
        inputs: [Input], outputs: [Output],
        _ body: (any Backend, [any DeviceBuffer], [any DeviceBuffer]) throws -> Void
    ) throws -> (device: Results, reference: Results) {
        (try runOne(device, inputs, outputs, body), try runOne(reference, inputs, outputs, body))
    }

    private static func runOne(
        _ backend: any Backend, _ inputs: [Input], _ outputs: [Output],
        _ body: (any Backend, [any DeviceBuffer], [any DeviceBuffer]) throws -> Void
    ) throws -> Results {
        let inputBuffers: [any DeviceBuffer] = try inputs.map {
            switch $0 {
            case .floats(let values): return try backend.makeBuffer(values)
            case .ints(let values): return try backend.makeBuffer(values)
            }
        }
        let outputBuffers: [any DeviceBuffer] = try outputs.map {
            switch $0 {
            case .floats(let count): return try backend.makeBuffer([Float](repeating: .nan, count: count))
            case .ints(let count): return try backend.makeBuffer([Int32](repeating: .min, count: count))
            case .initialized(let values): return try backend.makeBuffer(values)
            }
        }
        try body(backend, inputBuffers, outputBuffers)
        return try outputBuffers.map { buffer in
            switch buffer.elementType {
            case .float32: return try backend.read(buffer, as: Float.self)
            case .int32: return try backend.read(buffer, as: Int32.self).map(Float.init)
            }
        }
    }
}

extension Comparison {
    /// One comparison for several outputs: the largest errors over all of them and the
    /// first failure, prefixed with its output's name.
    public init(combining parts: [(name: String, comparison: Comparison)]) {
        precondition(!parts.isEmpty, "nothing to combine")
        let failure = parts.first { !$0.comparison.passed }.map { "\($0.name): \($0.comparison.firstFailure!)" }
        self.init(
            maxAbsoluteError: parts.map(\.comparison.maxAbsoluteError).maxPropagatingNaN()!,
            maxRelativeError: parts.map(\.comparison.maxRelativeError).maxPropagatingNaN()!,
            tolerance: parts[0].comparison.tolerance,
            firstFailure: failure)
    }
}
