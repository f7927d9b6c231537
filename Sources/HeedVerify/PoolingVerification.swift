import HeedOps
import HeedReference

/// Pooling cases: global average pooling; k×k average and max pooling at stride k (2×2 on
/// 8×8 as the attention regulariser, odd sizes the floor truncates), overlapping windows
/// (stride < k), padded windows (torchvision's 3×3/2 pad 1 stem pool on odd sizes, k = 2
/// pad 1, whose corner windows hold one input element) and a 1×1 input. Max pooling on
/// small integers has many ties, which must go to the first maximum.
enum PoolingVerification {
    static let globalShapes: [GlobalPoolDescriptor] = [
        GlobalPoolDescriptor(batch: 1, channels: 1, height: 1, width: 1),
        GlobalPoolDescriptor(batch: 3, channels: 5, height: 7, width: 9),
        GlobalPoolDescriptor(batch: 2, channels: 33, height: 8, width: 8),
    ]

    static let windowShapes: [Pool2dDescriptor] = [
        Pool2dDescriptor(batch: 1, channels: 1, height: 1, width: 1, kernelSize: 1),
        Pool2dDescriptor(batch: 2, channels: 3, height: 8, width: 8, kernelSize: 2),
        Pool2dDescriptor(batch: 3, channels: 5, height: 7, width: 9, kernelSize: 2),
        Pool2dDescriptor(batch: 1, channels: 2, height: 9, width: 7, kernelSize: 3),
        Pool2dDescriptor(batch: 2, channels: 3, height: 7, width: 7, kernelSize: 3, stride: 2),
        Pool2dDescriptor(batch: 2, channels: 3, height: 7, width: 8, kernelSize: 3, stride: 1),
        Pool2dDescriptor(batch: 2, channels: 3, height: 9, width: 11, kernelSize: 3, stride: 2, padding: 1),
        Pool2dDescriptor(batch: 1, channels: 2, height: 5, width: 4, kernelSize: 2, stride: 1, padding: 1),
        Pool2dDescriptor(batch: 3, channels: 1, height: 2, width: 3, kernelSize: 3, stride: 1, padding: 1),
    ]

    static let cases: [VerificationCase] =
        globalShapes.flatMap { d in
            [globalForward(d), globalBackward(d)]
        }
        + windowShapes.flatMap { d in
            [true, false].flatMap { integers in
                [
                    averageForward(d, integers: integers), averageBackward(d, integers: integers),
                    maxForward(d, integers: integers), maxBackward(d, integers: integers),
                ]
            }
        }

    static func values(_ count: Int, seed: Int, integers: Bool = false) -> [Float] {
        var random = SeededGenerator(seed: UInt64(seed) &* 7919 &+ (integers ? 1 : 0))
        return random.values(count, integers: integers)
    }

    static func shape(_ d: Pool2dDescriptor, integers: Bool) -> String {
        d.inputShape.map(String.init).joined(separator: "×") + " k\(d.kernelSize) s\(d.stride)"
            + (d.padding > 0 ? " p\(d.padding)" : "") + (integers ? " int" : "")
    }

    static func globalForward(_ d: GlobalPoolDescriptor) -> VerificationCase {
        VerificationCase(op: PoolingOps.globalAverageForward.name, shape: d.inputShape.map(String.init).joined(separator: "×")) {
            device, reference in
            let x = values(d.inputShape.reduce(1, *), seed: d.inputShape.reduce(1, *))
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(x)],
                outputs: [.floats(d.batch * d.channels)]
            ) { backend, inputs, outputs in
                try backend.globalAveragePoolForward(d, input: inputs[0], output: outputs[0])
            }
            let scale = Reference.globalAveragePoolForward(d, input: magnitudes(x))
            return .ofSums(
                PoolingOps.globalAverageForward, d, actual: actual[0], expected: expected[0], integers: false,
                scale: scale)
        }
    }

    static func globalBackward(_ d: GlobalPoolDescriptor) -> VerificationCase {
        VerificationCase(op: PoolingOps.globalAverageBackward.name, shape: d.inputShape.map(String.init).joined(separator: "×")) {
            device, reference in
            let dy = values(d.batch * d.channels, seed: d.batch * d.channels)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(dy)],
                outputs: [.floats(d.inputShape.reduce(1, *))]
            ) { backend, inputs, outputs in
                try backend.globalAveragePoolBackward(d, outputGradient: inputs[0], inputGradient: outputs[0])
            }
            // One division per element, nothing summed: the scale is the result itself.
            return .ofSums(
                PoolingOps.globalAverageBackward, d, actual: actual[0], expected: expected[0], integers: false,
                scale: magnitudes(expected[0]))
        }
    }

    static func averageForward(_ d: Pool2dDescriptor, integers: Bool) -> VerificationCase {
        VerificationCase(op: PoolingOps.averageForward.name, shape: shape(d, integers: integers)) { device, reference in
            let x = values(d.inputShape.reduce(1, *), seed: d.inputShape.reduce(1, *) + d.kernelSize, integers: integers)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(x)],
                outputs: [.floats(d.outputShape.reduce(1, *))]
            ) { backend, inputs, outputs in
                try backend.averagePool2dForward(d, input: inputs[0], output: outputs[0])
            }
            // Never exact: dividing by k² rounds even integer sums.
            let scale = Reference.averagePool2dForward(d, input: magnitudes(x))
            return .ofSums(
                PoolingOps.averageForward, d, actual: actual[0], expected: expected[0], integers: false,
                scale: scale)
        }
    }

    static func averageBackward(_ d: Pool2dDescriptor, integers: Bool) -> VerificationCase {
        VerificationCase(op: PoolingOps.averageBackward.name, shape: shape(d, integers: integers)) { device, reference in
            let dy = values(d.outputShape.reduce(1, *), seed: d.outputShape.reduce(1, *) + d.stride, integers: integers)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(dy)],
                outputs: [.floats(d.inputShape.reduce(1, *))]
            ) { backend, inputs, outputs in
                try backend.averagePool2dBackward(d, outputGradient: inputs[0], inputGradient: outputs[0])
            }
            let scale = Reference.averagePool2dBackward(d, outputGradient: magnitudes(dy))
            return .ofSums(
                PoolingOps.averageBackward, d, actual: actual[0], expected: expected[0], integers: false,
                scale: scale)
        }
    }

    /// Values and indices both exact: max pooling only selects.
    static func maxForward(_ d: Pool2dDescriptor, integers: Bool) -> VerificationCase {
        VerificationCase(op: PoolingOps.maxForward.name, shape: shape(d, integers: integers)) { device, reference in
            let x = values(d.inputShape.reduce(1, *), seed: d.inputShape.reduce(1, *) + 3 * d.kernelSize, integers: integers)
            let count = d.outputShape.reduce(1, *)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(x)],
                outputs: [.floats(count), .ints(count)]
            ) { backend, inputs, outputs in
                try backend.maxPool2dForward(d, input: inputs[0], output: outputs[0], indices: outputs[1])
            }
            return Comparison(combining: [
                ("values", Comparison(actual: actual[0], expected: expected[0], tolerance: .exact)),
                ("indices", Comparison(actual: actual[1], expected: expected[1], tolerance: .exact)),
            ])
        }
    }

    /// The indices come from the reference's forward pass, the same on both backends;
    /// each input element sums the gradients of the ≤ ⌈k/s⌉² windows that chose it.
    static func maxBackward(_ d: Pool2dDescriptor, integers: Bool) -> VerificationCase {
        VerificationCase(op: PoolingOps.maxBackward.name, shape: shape(d, integers: integers)) { device, reference in
            let x = values(d.inputShape.reduce(1, *), seed: d.inputShape.reduce(1, *) + 5 * d.kernelSize, integers: integers)
            let dy = values(d.outputShape.reduce(1, *), seed: d.outputShape.reduce(1, *) + 11, integers: integers)
            let indices = Reference.maxPool2dForward(d, input: x).indices
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(dy), .ints(indices)],
                outputs: [.floats(d.inputShape.reduce(1, *))]
            ) { backend, inputs, outputs in
                try backend.maxPool2dBackward(d, outputGradient: inputs[0], indices: inputs[1], inputGradient: outputs[0])
            }
            let scale = Reference.maxPool2dBackward(d, outputGradient: magnitudes(dy), indices: indices) ?? []
            return .ofSums(
                PoolingOps.maxBackward, d, actual: actual[0], expected: expected[0], integers: integers,
                scale: scale)
        }
    }
}
