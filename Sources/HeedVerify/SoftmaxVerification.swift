import Foundation
import HeedOps
import HeedReference

/// Softmax and log-softmax, forward and backward: class-axis rows (N, L), long spatial
/// rows (B·K, h·w) that are not multiples of the work-group, a middle axis with
/// inner > 1, and inputs of ±1e4 that overflow without the maximum subtracted.
public enum SoftmaxVerification {
    static let shapes: [(outer: Int, axis: Int, inner: Int, range: Float)] = [
        (1, 1, 1, 3), (3, 7, 1, 3), (33, 10, 1, 3), (7, 33, 1, 3), (3, 1025, 1, 3),
        (2, 5, 3, 3), (4, 0, 0, 3), (5, 33, 1, 1e4), (2, 7, 3, 1e4),
    ]

    static let cases: [VerificationCase] = SoftmaxKind.allCases.flatMap { kind in
        shapes.flatMap { shape in
            let d = SoftmaxDescriptor(kind, outer: shape.outer, axis: shape.axis, inner: shape.inner)
            return [forwardCase(d, range: shape.range), backwardCase(d, range: shape.range)]
        }
    }

    static func label(_ d: SoftmaxDescriptor, _ range: Float) -> String {
        "\(ShapeText.format(d.shape)) x∈±\(range == 1e4 ? "1e4" : "\(Int(range))")"
    }

    static func input(_ d: SoftmaxDescriptor, range: Float) -> [Float] {
        var random = SeededGenerator(seed: UInt64(d.outer * 1_000_003 + d.axis * 1009 + d.inner))
        return random.uniform(d.count, in: -range...range)
    }

    /// The largest spread max − x within a row, capped at 88: beyond that exp(x − max)
    /// is below the smallest normal float and only `atol` matters.
    static func spread(_ d: SoftmaxDescriptor, _ x: [Float]) -> Double {
        var largest = 0.0
        for o in 0..<d.outer {
            for i in 0..<d.inner {
                let row = (0..<d.axis).map { Double(x[(o * d.axis + $0) * d.inner + i]) }
                largest = [largest, row.maxPropagatingNaN()! - row.minPropagatingNaN()!].maxPropagatingNaN()!
            }
        }
        return min(largest, 88)
    }

    /// Forward tolerance, derived from the kernel's steps in units of u (see `Float32Rounding`).
    /// softmax, relative: x − m rounds by ≤ u·|x − m|, which exp turns into a relative
    /// error (spread·u); exp 6u; the sum of `axis` positive terms γ; the division 5u;
    /// the reference's rounding u. log-softmax: the sum has relative error (axis + 6)u,
    /// which log makes absolute, plus log's own 6u·ln(axis); both subtractions round by
    /// ≤ u·|y| each (|x − m| ≤ |y|) and the reference by u·|y|.
    public static func forwardTolerance(_ d: SoftmaxDescriptor, _ x: [Float]) -> Tolerance {
        let n = Double(d.axis)
        switch d.kind {
        case .softmax:
            let u = Float32Rounding.u
            return Tolerance(
                atol: Float32Rounding.smallestNormal,
                rtol: Float32Rounding.gamma(n) + (Float32Rounding.exp + Float32Rounding.divide + 1 + spread(d, x)) * u)
        case .logSoftmax:
            return Tolerance(
                atol: (n + Float32Rounding.exp + Float32Rounding.log * Foundation.log(max(n, 1))) * Float32Rounding.u,
                rtol: 3 * Float32Rounding.u)
        }
    }

    static func forwardCase(_ d: SoftmaxDescriptor, range: Float) -> VerificationCase {
        VerificationCase(op: SoftmaxOps.forward(d.kind).name, shape: label(d, range)) { device, reference in
            let x = input(d, range: range)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(x)],
                outputs: [.floats(d.count)]
            ) { backend, inputs, outputs in
                try backend.softmaxForward(d, input: inputs[0], output: outputs[0])
            }
            return Comparison(actual: actual[0], expected: expected[0], tolerance: forwardTolerance(d, x))
        }
    }

    /// Backward, within the table's sum bound of the Σ|terms| scales: softmax
    /// |y|·(Σ|dy·y| + |dy|), log-softmax |dy| + exp(y)·Σ|dy|.
    static func backwardCase(_ d: SoftmaxDescriptor, range: Float) -> VerificationCase {
        VerificationCase(op: SoftmaxOps.backward(d.kind).name, shape: label(d, range)) { device, reference in
            let y = Reference.softmax(d, input(d, range: range))
            var random = SeededGenerator(seed: UInt64(d.count) &+ 77)
            let dy = random.uniform(d.count)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(y), .floats(dy)],
                outputs: [.floats(d.count)]
            ) { backend, inputs, outputs in
                try backend.softmaxBackward(d, output: inputs[0], outputGradient: inputs[1], inputGradient: outputs[0])
            }
            var scale = [Double](repeating: 0, count: d.count)
            for o in 0..<d.outer {
                for i in 0..<d.inner {
                    let row = (0..<d.axis).map { (o * d.axis + $0) * d.inner + i }
                    let sumDy = row.reduce(0.0) { $0 + abs(Double(dy[$1])) }
                    let sumDyY = row.reduce(0.0) { $0 + abs(Double(dy[$1]) * Double(y[$1])) }
                    for e in row {
                        scale[e] =
                            d.kind == .softmax
                            ? abs(Double(y[e])) * (sumDyY + abs(Double(dy[e])))
                            : abs(Double(dy[e])) + exp(Double(y[e])) * sumDy
                    }
                }
            }
            return .ofSums(SoftmaxOps.backward(d.kind), d, actual: actual[0], expected: expected[0], integers: false, scale: scale)
        }
    }
}
