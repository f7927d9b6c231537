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
    public func reluForward(count: Int, input: any DeviceBuffer, output: any DeviceBuffer) throws {
        try unary("relu.forward", count, input, output) { Reference.relu($0) }
    }

    public func reluBackward(count: Int, input: any DeviceBuffer, outputGradient: any DeviceBuffer,
                             inputGradient: any DeviceBuffer) throws {
        try binary("relu.backward_input", count, ("input", input), ("outputGradient", outputGradient),
                   ("inputGradient", inputGradient)) { Reference.reluBackward(input: $0, outputGradient: $1) }
    }

    public func tanhForward(count: Int, input: any DeviceBuffer, output: any DeviceBuffer) throws {
        try unary("tanh.forward", count, input, output) { Reference.tanh($0) }
    }

    public func tanhBackward(count: Int, output: any DeviceBuffer, outputGradient: any DeviceBuffer,
                             inputGradient: any DeviceBuffer) throws {
        try binary("tanh.backward_input", count, ("output", output), ("outputGradient", outputGradient),
                   ("inputGradient", inputGradient)) { Reference.tanhBackward(output: $0, outputGradient: $1) }
    }

    public func sigmoidForward(count: Int, input: any DeviceBuffer, output: any DeviceBuffer) throws {
        try unary("sigmoid.forward", count, input, output) { Reference.sigmoid($0) }
    }

    public func sigmoidBackward(count: Int, output: any DeviceBuffer, outputGradient: any DeviceBuffer,
                                inputGradient: any DeviceBuffer) throws {
        try binary("sigmoid.backward_input", count, ("output", output), ("outputGradient", outputGradient),
                   ("inputGradient", inputGradient)) { Reference.sigmoidBackward(output: $0, outputGradient: $1) }
    }

    public func add(count: Int, a: any DeviceBuffer, b: any DeviceBuffer, output: any DeviceBuffer) throws {
        try binary("add.forward", count, ("a", a), ("b", b), ("output", output)) { Reference.add($0, $1) }
    }

    public func multiply(count: Int, a: any DeviceBuffer, b: any DeviceBuffer, output: any DeviceBuffer) throws {
        try binary("multiply.forward", count, ("a", a), ("b", b), ("output", output)) { Reference.multiply($0, $1) }
    }

    public func multiplyBackward(count: Int, a: any DeviceBuffer, b: any DeviceBuffer, outputGradient: any DeviceBuffer,
                                 aGradient: any DeviceBuffer, bGradient: any DeviceBuffer) throws {
        let op = "multiply.backward"
        let named = [("a", a), ("b", b), ("outputGradient", outputGradient), ("aGradient", aGradient), ("bGradient", bGradient)]
        let buffers = try named.map { try floats($0.1, op, $0.0) }
        try Elementwise.validate(op, count: count, zip(named, buffers).map { ($0.0, $1.count) })
        let (av, bv, dy) = (buffers[0].floats, buffers[1].floats, buffers[2].floats)
        buffers[3].floats = Reference.multiply(dy, bv)
        buffers[4].floats = Reference.multiply(dy, av)
    }

    public func scale(count: Int, alpha: Float, input: any DeviceBuffer, output: any DeviceBuffer) throws {
        try unary("scale.forward", count, input, output) { Reference.scale(alpha, $0) }
    }

    public func axpy(count: Int, alpha: Float, x: any DeviceBuffer, y: any DeviceBuffer) throws {
        try binary("axpy", count, ("x", x), ("y", y), ("y", y)) { Reference.axpy(alpha, $0, $1) }
    }

    public func reduceForward(_ d: ReductionDescriptor, input: any DeviceBuffer, output: any DeviceBuffer) throws {
        let op = "\(d.operation.rawValue).forward"
        let (input, output) = (try floats(input, op, "input"), try floats(output, op, "output"))
        try d.validate("forward", inputCount: input.count, outputCount: output.count)
        output.floats = Reference.reduce(d, input.floats)
    }

    public func reduceBackward(_ d: ReductionDescriptor, outputGradient: any DeviceBuffer,
                               inputGradient: any DeviceBuffer) throws {
        let op = "\(d.operation.rawValue).backward_input"
        let (gradient, result) = (try floats(outputGradient, op, "outputGradient"), try floats(inputGradient, op, "inputGradient"))
        try d.validate("backward_input", inputCount: result.count, outputCount: gradient.count)
        result.floats = Reference.reduceBackward(d, gradient.floats)
    }

    private func unary(_ op: String, _ count: Int, _ input: any DeviceBuffer, _ output: any DeviceBuffer,
                       _ body: ([Float]) -> [Float]) throws {
        let (input, output) = (try floats(input, op, "input"), try floats(output, op, "output"))
        try Elementwise.validate(op, count: count, [("input", input.count), ("output", output.count)])
        output.floats = body(input.floats)
    }

    private func binary(_ op: String, _ count: Int, _ a: (String, any DeviceBuffer), _ b: (String, any DeviceBuffer),
                        _ output: (String, any DeviceBuffer), _ body: ([Float], [Float]) -> [Float]) throws {
        let (first, second, result) = (try floats(a.1, op, a.0), try floats(b.1, op, b.0), try floats(output.1, op, output.0))
        try Elementwise.validate(op, count: count, [(a.0, first.count), (b.0, second.count), (output.0, result.count)])
        result.floats = body(first.floats, second.floats)
    }
}
