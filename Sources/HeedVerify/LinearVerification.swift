import HeedOps
import HeedReference

/// linear cases, every direction, at sizes that are multiples of no tile (a classifier of
/// 10 classes on 65 features, 129 outputs, a batch of 33, a single sample), each with and
/// without bias, on small integers (exact) and uniform floats (float32 summation bound).
enum LinearVerification {
    static let shapes: [(LinearDescriptor, bias: Bool)] = [
        (LinearDescriptor(batch: 1, inFeatures: 1, outFeatures: 1), true),
        (LinearDescriptor(batch: 3, inFeatures: 33, outFeatures: 7), false),
        (LinearDescriptor(batch: 7, inFeatures: 65, outFeatures: 10), true),
        (LinearDescriptor(batch: 33, inFeatures: 17, outFeatures: 129), true),
    ]

    static let cases: [VerificationCase] = shapes.flatMap { d, bias in
        [true, false].flatMap { integers in
            [
                forward(d, bias: bias, integers: integers), backwardInput(d, integers: integers),
                backwardWeight(d, integers: integers), backwardBias(d, integers: integers),
            ]
        }
    }

    static func shape(_ d: LinearDescriptor, bias: Bool = false, integers: Bool) -> String {
        "\(d.batch)×\(d.inFeatures) → \(d.outFeatures)" + (bias ? " +bias" : "") + (integers ? " int" : "")
    }

    static func inputs(
        _ d: LinearDescriptor, integers: Bool
    )
        -> (input: [Float], weight: [Float], bias: [Float], outputGradient: [Float])
    {
        var random = SeededGenerator(seed: UInt64(d.flops) &* 17 &+ (integers ? 1 : 0))
        return (
            random.values(d.batch * d.inFeatures, integers: integers),
            random.values(d.outFeatures * d.inFeatures, integers: integers),
            random.values(d.outFeatures, integers: integers),
            random.values(d.batch * d.outFeatures, integers: integers)
        )
    }

    static func forward(_ d: LinearDescriptor, bias: Bool, integers: Bool) -> VerificationCase {
        VerificationCase(op: LinearOps.forward.name, shape: shape(d, bias: bias, integers: integers)) { device, reference in
            let x = inputs(d, integers: integers)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(x.input), .floats(x.weight), .floats(x.bias)],
                outputs: [.floats(d.batch * d.outFeatures)]
            ) { backend, inputs, outputs in
                try backend.linearForward(
                    d, input: inputs[0], weight: inputs[1], bias: bias ? inputs[2] : nil,
                    output: outputs[0])
            }
            let scale = Reference.linearForward(
                d, input: magnitudes(x.input), weight: magnitudes(x.weight),
                bias: bias ? magnitudes(x.bias) : nil)
            return .ofSums(LinearOps.forward, d, actual: actual[0], expected: expected[0], integers: integers, scale: scale)
        }
    }

    static func backwardInput(_ d: LinearDescriptor, integers: Bool) -> VerificationCase {
        VerificationCase(op: LinearOps.backwardInput.name, shape: shape(d, integers: integers)) { device, reference in
            let x = inputs(d, integers: integers)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(x.outputGradient), .floats(x.weight)],
                outputs: [.floats(d.batch * d.inFeatures)]
            ) { backend, inputs, outputs in
                try backend.linearBackwardInput(d, outputGradient: inputs[0], weight: inputs[1], inputGradient: outputs[0])
            }
            let scale = Reference.linearBackwardInput(
                d, outputGradient: magnitudes(x.outputGradient),
                weight: magnitudes(x.weight))
            return .ofSums(LinearOps.backwardInput, d, actual: actual[0], expected: expected[0], integers: integers, scale: scale)
        }
    }

    static func backwardWeight(_ d: LinearDescriptor, integers: Bool) -> VerificationCase {
        VerificationCase(op: LinearOps.backwardWeight.name, shape: shape(d, integers: integers)) { device, reference in
            let x = inputs(d, integers: integers)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(x.input), .floats(x.outputGradient)],
                outputs: [.floats(d.outFeatures * d.inFeatures)]
            ) { backend, inputs, outputs in
                try backend.linearBackwardWeight(d, input: inputs[0], outputGradient: inputs[1], weightGradient: outputs[0])
            }
            let scale = Reference.linearBackwardWeight(
                d, input: magnitudes(x.input),
                outputGradient: magnitudes(x.outputGradient))
            return .ofSums(LinearOps.backwardWeight, d, actual: actual[0], expected: expected[0], integers: integers, scale: scale)
        }
    }

    static func backwardBias(_ d: LinearDescriptor, integers: Bool) -> VerificationCase {
        VerificationCase(op: LinearOps.backwardBias.name, shape: shape(d, integers: integers)) { device, reference in
            let x = inputs(d, integers: integers)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(x.outputGradient)], outputs: [.floats(d.outFeatures)]
            ) { backend, inputs, outputs in
                try backend.linearBackwardBias(d, outputGradient: inputs[0], biasGradient: outputs[0])
            }
            let scale = Reference.linearBackwardBias(d, outputGradient: magnitudes(x.outputGradient))
            return .ofSums(LinearOps.backwardBias, d, actual: actual[0], expected: expected[0], integers: integers, scale: scale)
        }
    }
}
