import HeedOps
import HeedReference

/// Elementwise cases at sizes 1, 3, 7, 33 and 1031, each op also with its output
/// aliasing an input; reductions over every subset of the axes of a 4-d shape.
///
/// Tolerances, with u = 2⁻²⁴ (half an ulp) and the reference rounded once from Double:
/// - relu, add, multiply, scale: one correctly rounded float32 operation (or none) on
///   both sides, so `exact`.
/// - tanh: OpenCL 1.2 §7.4 allows 5 ulp, the reference ½ ulp: 6 ulp = 6·2⁻²³·|ref|.
/// - sigmoid `1/(1+exp(−x))`: exp ≤ 3 ulp, the add ½ ulp, the division ≤ 2.5 ulp (§7.4),
///   the reference ½ ulp: 7 ulp.
/// - tanh/sigmoid backward: three correctly rounded operations whose subtractions are
///   exact or cannot cancel (see `elementwise.cl`), plus the reference rounding, plus a
///   margin for second-order terms: 6u·|ref|.
/// - axpy over |y| + |αx|, sum over Σ|x| and mean over Σ|x|/n: sum bounds, with the
///   terms their `ElementwiseOps` entries count.
/// - mean backward: a division (≤ 2.5 ulp) and the reference's ½ ulp: 3 ulp.
enum ElementwiseVerification {
    static let sizes = [1, 3, 7, 33, 1031]
    static let ulp = 0x1p-23
    static let u = 0x1p-24

    static let cases: [VerificationCase] = {
        var cases: [VerificationCase] = []
        for n in sizes {
            for inPlace in [false, true] {
                cases += [
                    unary(ElementwiseOps.reluForward.name, n, inPlace, .exact) { try $0.reluForward(count: n, input: $1, output: $2) },
                    unary(ElementwiseOps.tanhForward.name, n, inPlace, Tolerance(atol: 0, rtol: 6 * ulp), range: -4...4) {
                        try $0.tanhForward(count: n, input: $1, output: $2)
                    },
                    unary(ElementwiseOps.sigmoidForward.name, n, inPlace, Tolerance(atol: 0, rtol: 7 * ulp), range: -8...8) {
                        try $0.sigmoidForward(count: n, input: $1, output: $2)
                    },
                    unary(ElementwiseOps.scale.name, n, inPlace, .exact) { try $0.scale(count: n, alpha: -0.3, input: $1, output: $2) },
                    binary(ElementwiseOps.reluBackward.name, n, inPlace, .exact) {
                        try $0.reluBackward(count: n, input: $1, outputGradient: $2, inputGradient: $3)
                    },
                    binary(ElementwiseOps.tanhBackward.name, n, inPlace, Tolerance(atol: 0, rtol: 6 * u)) {
                        try $0.tanhBackward(count: n, output: $1, outputGradient: $2, inputGradient: $3)
                    },
                    binary(ElementwiseOps.sigmoidBackward.name, n, inPlace, Tolerance(atol: 0, rtol: 6 * u), firstRange: 0...1) {
                        try $0.sigmoidBackward(count: n, output: $1, outputGradient: $2, inputGradient: $3)
                    },
                    binary(ElementwiseOps.add.name, n, inPlace, .exact) { try $0.add(count: n, a: $1, b: $2, output: $3) },
                    binary(ElementwiseOps.multiply.name, n, inPlace, .exact) { try $0.multiply(count: n, a: $1, b: $2, output: $3) },
                    axpyCase(n, inPlace),
                ]
            }
            cases.append(multiplyBackwardCase(n))
        }
        let shape = [3, 5, 7, 2]
        for mask in 0..<16 {
            let axes = (0..<4).filter { mask & (1 << $0) != 0 }
            for operation in [ReductionDescriptor.Operation.sum, .mean] {
                cases.append(reduceCase(ReductionDescriptor(operation, shape: shape, axes: axes)))
                cases.append(reduceBackwardCase(ReductionDescriptor(operation, shape: shape, axes: axes)))
            }
        }
        for (shape, axes) in [
            ([2, 3, 33, 37], [0, 2, 3]), ([7], [0]), ([1, 33, 1, 3], [1, 3]), ([5, 3], [0]),
            ([4099], [0]), ([2, 0, 3], [1]),
        ] {
            for operation in [ReductionDescriptor.Operation.sum, .mean] {
                cases.append(reduceCase(ReductionDescriptor(operation, shape: shape, axes: axes)))
                cases.append(reduceBackwardCase(ReductionDescriptor(operation, shape: shape, axes: axes)))
            }
        }
        cases.append(reduceCase(ReductionDescriptor(.sum, shape: [5, 4, 67, 3], axes: [0, 2]), integers: true))
        return cases
    }()

    typealias Body = @Sendable (any Backend, any DeviceBuffer, any DeviceBuffer, any DeviceBuffer) throws -> Void

    static func seed(_ op: String, _ n: Int) -> UInt64 {
        op.unicodeScalars.reduce(UInt64(n)) { $0 &* 31 &+ UInt64($1.value) }
    }

    /// `body(backend, input, output)`; in place, output and input are one buffer.
    static func unary(
        _ op: String, _ n: Int, _ inPlace: Bool, _ tolerance: Tolerance, range: ClosedRange<Float> = -2...2,
        _ body: @escaping @Sendable (any Backend, any DeviceBuffer, any DeviceBuffer) throws -> Void
    )
        -> VerificationCase
    {
        VerificationCase(op: op, shape: "\(n)\(inPlace ? " in place" : "")") { device, reference in
            var random = SeededGenerator(seed: seed(op, n))
            let x = random.uniform(n, in: range)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: inPlace ? [] : [.floats(x)],
                outputs: [inPlace ? .initialized(x) : .floats(n)]
            ) { backend, inputs, outputs in
                try body(backend, inPlace ? outputs[0] : inputs[0], outputs[0])
            }
            return Comparison(actual: actual[0], expected: expected[0], tolerance: tolerance)
        }
    }

    /// `body(backend, first, second, output)`; in place, the output is the second input.
    static func binary(
        _ op: String, _ n: Int, _ inPlace: Bool, _ tolerance: Tolerance,
        firstRange: ClosedRange<Float> = -1...1, _ body: @escaping Body
    ) -> VerificationCase {
        VerificationCase(op: op, shape: "\(n)\(inPlace ? " in place" : "")") { device, reference in
            var random = SeededGenerator(seed: seed(op, n))
            let first = random.uniform(n, in: firstRange)
            let second = random.uniform(n, in: -2...2)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: inPlace ? [.floats(first)] : [.floats(first), .floats(second)],
                outputs: [inPlace ? .initialized(second) : .floats(n)]
            ) { backend, inputs, outputs in
                try body(backend, inputs[0], inPlace ? outputs[0] : inputs[1], outputs[0])
            }
            return Comparison(actual: actual[0], expected: expected[0], tolerance: tolerance)
        }
    }

    static func axpyCase(_ n: Int, _ x: Bool) -> VerificationCase {
        // `x` true: x and y are the same buffer (y ← y + α·y).
        let op = ElementwiseOps.axpy
        return VerificationCase(op: op.name, shape: "\(n)\(x ? " x is y" : "")") { device, reference in
            var random = SeededGenerator(seed: seed(op.name, n))
            let (xs, ys) = (random.uniform(n), random.uniform(n, in: -2...2))
            let alpha: Float = 0.7
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(xs)],
                outputs: [.initialized(ys)]
            ) { backend, inputs, outputs in
                try backend.axpy(count: n, alpha: alpha, x: x ? outputs[0] : inputs[0], y: outputs[0])
            }
            let scale = zip(x ? ys : xs, ys).map { Double(abs($1)) + Double(abs(alpha * $0)) }
            return .ofSums(
                op, ScaledElementwiseDescriptor(count: n, alpha: alpha), actual: actual[0], expected: expected[0],
                integers: false, scale: scale)
        }
    }

    static func multiplyBackwardCase(_ n: Int) -> VerificationCase {
        let op = ElementwiseOps.multiplyBackward.name
        return VerificationCase(op: op, shape: "\(n)") { device, reference in
            var random = SeededGenerator(seed: seed(op, n))
            let (a, b, dy) = (random.uniform(n), random.uniform(n), random.uniform(n))
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(a), .floats(b), .floats(dy)],
                outputs: [.floats(n), .floats(n)]
            ) { backend, i, o in
                try backend.multiplyBackward(count: n, a: i[0], b: i[1], outputGradient: i[2], aGradient: o[0], bGradient: o[1])
            }
            return Comparison(combining: [
                ("aGradient", Comparison(actual: actual[0], expected: expected[0], tolerance: .exact)),
                ("bGradient", Comparison(actual: actual[1], expected: expected[1], tolerance: .exact)),
            ])
        }
    }

    static func reduceCase(_ d: ReductionDescriptor, integers: Bool = false) -> VerificationCase {
        let op = ElementwiseOps.reduceForward(d.operation)
        return VerificationCase(op: op.name, shape: "\(d.shape) axes \(d.axes)\(integers ? " int" : "")") { device, reference in
            var random = SeededGenerator(seed: seed(op.name, d.inputCount * 17 + d.axes.reduce(0) { $0 * 5 + $1 + 1 }))
            let x = integers ? random.integers(d.inputCount) : random.uniform(d.inputCount)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(x)],
                outputs: [.floats(d.outputCount)]
            ) { backend, inputs, outputs in
                try backend.reduceForward(d, input: inputs[0], output: outputs[0])
            }
            return .ofSums(
                op, d, actual: actual[0], expected: expected[0], integers: integers,
                scale: Reference.reduce(d, magnitudes(x)))
        }
    }

    static func reduceBackwardCase(_ d: ReductionDescriptor) -> VerificationCase {
        let op = ElementwiseOps.reduceBackward(d.operation).name
        return VerificationCase(op: op, shape: "\(d.shape) axes \(d.axes)") { device, reference in
            var random = SeededGenerator(seed: seed(op, d.inputCount * 17 + d.axes.reduce(0) { $0 * 5 + $1 + 1 }))
            let dy = random.uniform(d.outputCount)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(dy)],
                outputs: [.floats(d.inputCount)]
            ) { backend, inputs, outputs in
                try backend.reduceBackward(d, outputGradient: inputs[0], inputGradient: outputs[0])
            }
            let tolerance = d.operation == .mean ? Tolerance(atol: 0, rtol: 3 * ulp) : .exact
            return Comparison(actual: actual[0], expected: expected[0], tolerance: tolerance)
        }
    }
}
