import Foundation
import HeedOps

extension Reference {
    /// `x < 0 ? 0 : x`.
    public static func relu<T: BinaryFloatingPoint>(_ x: [T]) -> [T] {
        x.map { $0 < 0 ? 0 : $0 }
    }

    /// `x > 0 ? dy : 0`; x may be the forward's input or output.
    public static func reluBackward<T: BinaryFloatingPoint>(input x: [T], outputGradient dy: [T]) -> [T] {
        zip(x, dy).map { $0 > 0 ? $1 : 0 }
    }

    /// tanh, evaluated in Double and rounded once.
    public static func tanh<T: BinaryFloatingPoint>(_ x: [T]) -> [T] {
        x.map { T(Foundation.tanh(Double($0))) }
    }

    /// `dy·(1 − y²)` from the forward output y, in Double, rounded once.
    public static func tanhBackward<T: BinaryFloatingPoint>(output y: [T], outputGradient dy: [T]) -> [T] {
        zip(y, dy).map { y, dy in T(Double(dy) * (1 - Double(y) * Double(y))) }
    }

    /// `1 / (1 + exp(−x))`, in Double, rounded once.
    public static func sigmoid<T: BinaryFloatingPoint>(_ x: [T]) -> [T] {
        x.map { T(1 / (1 + exp(-Double($0)))) }
    }

    /// `dy·y·(1 − y)` from the forward output y, in Double, rounded once.
    public static func sigmoidBackward<T: BinaryFloatingPoint>(output y: [T], outputGradient dy: [T]) -> [T] {
        zip(y, dy).map { y, dy in T(Double(dy) * Double(y) * (1 - Double(y))) }
    }

    /// `a + b`, one rounding in T.
    public static func add<T: BinaryFloatingPoint>(_ a: [T], _ b: [T]) -> [T] {
        zip(a, b).map { $0 + $1 }
    }

    /// `a ⊙ b`, one rounding in T.
    public static func multiply<T: BinaryFloatingPoint>(_ a: [T], _ b: [T]) -> [T] {
        zip(a, b).map { $0 * $1 }
    }

    /// `α·x`, one rounding in T.
    public static func scale<T: BinaryFloatingPoint>(_ alpha: T, _ x: [T]) -> [T] {
        x.map { alpha * $0 }
    }

    /// `y + α·x`, in Double, rounded once.
    public static func axpy<T: BinaryFloatingPoint>(_ alpha: T, _ x: [T], _ y: [T]) -> [T] {
        zip(x, y).map { x, y in T(Double(y) + Double(alpha) * Double(x)) }
    }

    /// Sum (or mean) over `d.axes`, each output element summed in Double. The caller
    /// validates the descriptor.
    public static func reduce<T: BinaryFloatingPoint>(_ d: ReductionDescriptor, _ x: [T]) -> [T] {
        var sums = [Double](repeating: 0, count: d.outputCount)
        for i in 0..<d.inputCount { sums[outputIndex(d, ofInput: i)] += Double(x[i]) }
        let n = Double(d.reducedCount)
        return sums.map { T(d.operation == .mean ? $0 / n : $0) }
    }

    /// The gradient of `reduce`: each input element gets its output's gradient
    /// (divided by the reduced count for a mean).
    public static func reduceBackward<T: BinaryFloatingPoint>(_ d: ReductionDescriptor, _ dy: [T]) -> [T] {
        let n = Double(d.reducedCount)
        return (0..<d.inputCount).map { i in
            let g = Double(dy[outputIndex(d, ofInput: i)])
            return T(d.operation == .mean ? g / n : g)
        }
    }

    /// The output element that input element `i` (row-major in `d.shape`) reduces into.
    static func outputIndex(_ d: ReductionDescriptor, ofInput i: Int) -> Int {
        var rest = i
        var output = 0
        var stride = 1
        for axis in d.shape.indices.reversed() {
            let index = rest % d.shape[axis]
            rest /= d.shape[axis]
            if !d.axes.contains(axis) {
                output += index * stride
                stride *= d.shape[axis]
            }
        }
        return output
    }
}

extension ReferenceBackend {
    public static let elementwise = bodies(elementwiseBodies(Float.self), elementwiseBodies(Double.self))

    static func elementwiseBodies<T: ReferenceScalar>(_: T.Type) -> [ReferenceBody<T>] {
        [
            ReferenceBody(ElementwiseOps.reluForward) { _, b in b.output[T.self] = Reference.relu(b.input[T.self]) },
            ReferenceBody(ElementwiseOps.reluBackward) { _, b in
                b.inputGradient[T.self] = Reference.reluBackward(input: b.input[T.self], outputGradient: b.outputGradient[T.self])
            },
            ReferenceBody(ElementwiseOps.tanhForward) { _, b in b.output[T.self] = Reference.tanh(b.input[T.self]) },
            ReferenceBody(ElementwiseOps.tanhBackward) { _, b in
                b.inputGradient[T.self] = Reference.tanhBackward(output: b.output[T.self], outputGradient: b.outputGradient[T.self])
            },
            ReferenceBody(ElementwiseOps.sigmoidForward) { _, b in b.output[T.self] = Reference.sigmoid(b.input[T.self]) },
            ReferenceBody(ElementwiseOps.sigmoidBackward) { _, b in
                b.inputGradient[T.self] = Reference.sigmoidBackward(output: b.output[T.self], outputGradient: b.outputGradient[T.self])
            },
            ReferenceBody(ElementwiseOps.add) { _, b in b.output[T.self] = Reference.add(b.a[T.self], b.b[T.self]) },
            ReferenceBody(ElementwiseOps.multiply) { _, b in b.output[T.self] = Reference.multiply(b.a[T.self], b.b[T.self]) },
            ReferenceBody(ElementwiseOps.multiplyBackward) { _, b in
                // Both inputs are read before either gradient is written: a gradient may be an input.
                let (a, bValues, dy) = (b.a[T.self], b.b[T.self], b.outputGradient[T.self])
                b.aGradient[T.self] = Reference.multiply(dy, bValues)
                b.bGradient[T.self] = Reference.multiply(dy, a)
            },
            ReferenceBody(ElementwiseOps.scale) { d, b in b.output[T.self] = Reference.scale(T(d.alpha), b.input[T.self]) },
            ReferenceBody(ElementwiseOps.axpy) { d, b in b.y[T.self] = Reference.axpy(T(d.alpha), b.x[T.self], b.y[T.self]) },
            ReferenceBody(ElementwiseOps.sumForward) { d, b in b.output[T.self] = Reference.reduce(d, b.input[T.self]) },
            ReferenceBody(ElementwiseOps.meanForward) { d, b in b.output[T.self] = Reference.reduce(d, b.input[T.self]) },
            ReferenceBody(ElementwiseOps.sumBackward) { d, b in
                b.inputGradient[T.self] = Reference.reduceBackward(d, b.outputGradient[T.self])
            },
            ReferenceBody(ElementwiseOps.meanBackward) { d, b in
                b.inputGradient[T.self] = Reference.reduceBackward(d, b.outputGradient[T.self])
            },
        ]
    }
}
