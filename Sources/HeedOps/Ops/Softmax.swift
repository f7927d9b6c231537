/// Softmax and log-softmax along one axis, forward and backward.
///
/// The tensor is viewed as (outer, axis, inner), row-major: element (o, j, i) is at
/// `(o·axis + j)·inner + i`, and the normalisation runs over j. The class axis of
/// logits (N, L) is (N, L, 1); the spatial softmax of attention masks (B, K, h·w) is
/// (B·K, h·w, 1). One descriptor serves both kinds; each kind has its own table entries
/// (`forward(_:)`, `backward(_:)` pick them), which share one body per backend.
public enum SoftmaxOps {
    /// `y = softmax(x)` along the axis, with the row maximum subtracted first, so inputs
    /// of any finite magnitude give finite results. Input and output:
    /// float32[outer·axis·inner]; they may not be the same buffer.
    public static let softmaxForward = forwardDefinition(
        .softmax,
        tolerance: .stated(
            "relative γ_axis + (12 + spread)·u: exp, the sum, the division and the rounding of x − max (SoftmaxVerification)"))

    /// `y = log_softmax(x)` along the axis, with the row maximum subtracted first; buffers
    /// as `softmaxForward`.
    public static let logSoftmaxForward = forwardDefinition(
        .logSoftmax,
        tolerance: .stated(
            "absolute (axis + 6 + 6·ln axis)·u from the sum and log, relative 3u from the subtractions (SoftmaxVerification)"))

    /// The input gradient from the forward's output `y` and the output gradient `dy`:
    /// `dx = y ⊙ (dy − Σ dy·y)` (sum over the axis). All three buffers float32[outer·axis·inner].
    /// Terms: s = Σ dy·y has error γ_axis·Σ|dy·y|; dy − s and the product round once
    /// each, the reference once more: γ_{axis+3}.
    public static let softmaxBackward = backwardDefinition(.softmax, tolerance: .sums { $0.axis + 3 })

    /// The input gradient of log-softmax: `dx = dy − exp(y)·Σ dy`; buffers as `softmaxBackward`.
    /// Terms: Σ dy has error γ_axis·Σ|dy|; exp(y) 6u; the product and the subtraction u
    /// each; the reference u: γ_{axis+9}.
    public static let logSoftmaxBackward = backwardDefinition(.logSoftmax, tolerance: .sums { $0.axis + 9 })

    /// The forward op of `kind`.
    public static func forward(_ kind: SoftmaxKind) -> OpDefinition<SoftmaxDescriptor> {
        kind == .softmax ? softmaxForward : logSoftmaxForward
    }

    /// The backward op of `kind`.
    public static func backward(_ kind: SoftmaxKind) -> OpDefinition<SoftmaxDescriptor> {
        kind == .softmax ? softmaxBackward : logSoftmaxBackward
    }

    static let table = [softmaxForward.erased, softmaxBackward.erased, logSoftmaxForward.erased, logSoftmaxBackward.erased]

    private static func forwardDefinition(
        _ kind: SoftmaxKind, tolerance: ToleranceRule<SoftmaxDescriptor>
    )
        -> OpDefinition<SoftmaxDescriptor>
    {
        OpDefinition("\(kind.rawValue).forward", .softmax, kernels: ["\(kind.rawValue)_forward"], tolerance: tolerance) { d in
            [.input("input", d.shape), .output("output", d.shape)]
        }
    }

    private static func backwardDefinition(
        _ kind: SoftmaxKind, tolerance: ToleranceRule<SoftmaxDescriptor>
    )
        -> OpDefinition<SoftmaxDescriptor>
    {
        OpDefinition("\(kind.rawValue).backward_input", .softmax, kernels: ["\(kind.rawValue)_backward"], tolerance: tolerance) { d in
            [.input("output", d.shape), .input("outputGradient", d.shape), .output("inputGradient", d.shape)]
        }
    }
}

extension Backend {
    /// `y = softmax(x)` or `y = log_softmax(x)` along the axis, as the descriptor's kind says.
    public func softmaxForward(_ descriptor: SoftmaxDescriptor, input: any DeviceBuffer, output: any DeviceBuffer) throws {
        try run(SoftmaxOps.forward(descriptor.kind), descriptor, [input, output])
    }

    /// The input gradient of the descriptor's kind from the forward's output and the output gradient.
    public func softmaxBackward(
        _ descriptor: SoftmaxDescriptor, output: any DeviceBuffer,
        outputGradient: any DeviceBuffer, inputGradient: any DeviceBuffer
    ) throws {
        try run(SoftmaxOps.backward(descriptor.kind), descriptor, [output, outputGradient, inputGradient])
    }
}

/// Which normalisation: probabilities or log-probabilities.
public enum SoftmaxKind: String, Sendable, CaseIterable {
    case softmax
    case logSoftmax = "log_softmax"
}

/// A softmax along the middle axis of an (outer, axis, inner) view.
public struct SoftmaxDescriptor: OpDescriptor, Equatable {
    public var kind: SoftmaxKind
    public var outer: Int
    public var axis: Int
    public var inner: Int

    public init(_ kind: SoftmaxKind = .softmax, outer: Int, axis: Int, inner: Int = 1) {
        self.kind = kind
        self.outer = outer
        self.axis = axis
        self.inner = inner
    }

    /// Elements of the input (and of every other buffer).
    public var count: Int { outer * axis * inner }
    /// Independent rows normalised (outer·inner).
    public var rows: Int { outer * inner }
    /// The op name in errors: `softmax` or `log_softmax`.
    public var op: String { kind.rawValue }
    /// `[outer, axis, inner]`, the shape of every buffer.
    public var shape: [Int] { [outer, axis, inner] }

    public var description: String { "\(op)(outer \(outer), axis \(axis), inner \(inner))" }

    /// Throws unless the sizes are non-negative and a non-empty tensor has an axis to normalise over.
    public func validate() throws {
        try ShapeRequirements.requireNonNegative(op, ["outer": outer, "axis": axis, "inner": inner])
        if axis == 0 && rows > 0 {
            throw HeedError.invalidArgument(op: op, "normalising over an empty axis in \(self)")
        }
    }
}
