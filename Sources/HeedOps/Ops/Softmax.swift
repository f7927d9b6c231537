/// Softmax and log-softmax along one axis, forward and backward.
///
/// The tensor is viewed as (outer, axis, inner), row-major: element (o, j, i) is at
/// `(o·axis + j)·inner + i`, and the normalisation runs over j. The class axis of
/// logits (N, L) is (N, L, 1); the spatial softmax of attention masks (B, K, h·w) is
/// (B·K, h·w, 1).
public protocol SoftmaxOps {
    /// `y = softmax(x)` or `y = log_softmax(x)` along the axis, with the row maximum
    /// subtracted first, so inputs of any finite magnitude give finite results.
    /// Input and output: float32[outer·axis·inner]; they may not be the same buffer.
    func softmaxForward(_ descriptor: SoftmaxDescriptor, input: any DeviceBuffer, output: any DeviceBuffer) throws

    /// The input gradient from the forward's output `y` and the output gradient `dy`:
    /// softmax `dx = y ⊙ (dy − Σ dy·y)`, log-softmax `dx = dy − exp(y)·Σ dy` (sums over
    /// the axis). All three buffers float32[outer·axis·inner].
    func softmaxBackward(_ descriptor: SoftmaxDescriptor, output: any DeviceBuffer,
                         outputGradient: any DeviceBuffer, inputGradient: any DeviceBuffer) throws
}

/// Which normalisation: probabilities or log-probabilities.
public enum SoftmaxKind: String, Sendable, CaseIterable {
    case softmax
    case logSoftmax = "log_softmax"
}

/// A softmax along the middle axis of an (outer, axis, inner) view.
public struct SoftmaxDescriptor: Sendable, Equatable, CustomStringConvertible {
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
    /// The op name in errors and verification: `softmax` or `log_softmax`.
    public var op: String { kind.rawValue }
    /// `(outer, axis, inner)`.
    public var shape: String { "(\(outer), \(axis), \(inner))" }

    public var description: String { "\(op)(outer \(outer), axis \(axis), inner \(inner))" }

    /// Throws unless the sizes are valid and every buffer holds `count` elements.
    public func validate(counts: KeyValuePairs<String, Int>) throws {
        try ShapeRequirements.requireNonNegative(op, ["outer": outer, "axis": axis, "inner": inner])
        if axis == 0 && rows > 0 {
            throw HeedError.invalidArgument(op: op, "normalising over an empty axis in \(self)")
        }
        for (name, count) in counts {
            try ShapeRequirements.requireCount(op, name, shape: shape, expected: self.count, count: count, in: self)
        }
    }
}
