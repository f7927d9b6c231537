import HeedOps
import HeedReference

/// conv2d cases, every direction: 1×1 stride 2 (a Wide ResNet shortcut), 3×3 padding 1 at
/// strides 1 and 2, a 5×3 kernel at stride 3 with padding 2, a kernel as large as the
/// input, odd sizes and channel counts that are multiples of no tile, batches of 1 to 4.
/// Each on small integers (exact) and on uniform floats (float32 summation bound).
enum ConvolutionVerification {
    /// (descriptor, whether the forward pass adds a bias).
    static let shapes: [(Conv2dDescriptor, bias: Bool)] = [
        (Conv2dDescriptor(batch: 1, inChannels: 1, outChannels: 1, height: 1, width: 1, kernelHeight: 1, kernelWidth: 1), true),
        (
            Conv2dDescriptor(
                batch: 3, inChannels: 5, outChannels: 7, height: 9, width: 9, kernelHeight: 1, kernelWidth: 1,
                stride: 2), false
        ),
        (
            Conv2dDescriptor(
                batch: 2, inChannels: 3, outChannels: 4, height: 7, width: 7, kernelHeight: 3, kernelWidth: 3,
                padding: 1), true
        ),
        (
            Conv2dDescriptor(
                batch: 3, inChannels: 4, outChannels: 5, height: 9, width: 7, kernelHeight: 3, kernelWidth: 3,
                stride: 2, padding: 1), false
        ),
        (
            Conv2dDescriptor(
                batch: 2, inChannels: 33, outChannels: 17, height: 11, width: 13, kernelHeight: 3, kernelWidth: 3,
                padding: 1), true
        ),
        (
            Conv2dDescriptor(
                batch: 2, inChannels: 3, outChannels: 4, height: 10, width: 8, kernelHeight: 5, kernelWidth: 3,
                stride: 3, padding: 2), true
        ),
        (Conv2dDescriptor(batch: 2, inChannels: 3, outChannels: 2, height: 3, width: 3, kernelHeight: 3, kernelWidth: 3), false),
        (
            Conv2dDescriptor(
                batch: 4, inChannels: 16, outChannels: 32, height: 8, width: 8, kernelHeight: 3, kernelWidth: 3,
                stride: 2, padding: 1), false
        ),
    ]

    static let cases: [VerificationCase] = shapes.flatMap { d, bias in
        [true, false].flatMap { integers in
            [
                forward(d, bias: bias, integers: integers), backwardInput(d, integers: integers),
                backwardWeight(d, integers: integers), backwardBias(d, integers: integers),
            ]
        }
    }

    static func shape(_ d: Conv2dDescriptor, bias: Bool = false, integers: Bool) -> String {
        let (x, w) = (d.inputShape.map(String.init), d.weightShape.map(String.init))
        return "\(x.joined(separator: "×")) ⋆ \(w.joined(separator: "×")) s\(d.stride) p\(d.padding)"
            + (bias ? " +bias" : "") + (integers ? " int" : "")
    }

    /// Seeded input, weight, bias and output gradient for one shape.
    static func inputs(
        _ d: Conv2dDescriptor, integers: Bool
    )
        -> (input: [Float], weight: [Float], bias: [Float], outputGradient: [Float])
    {
        var random = SeededGenerator(seed: UInt64(d.flops) &* 31 &+ UInt64(d.padding) &+ (integers ? 1 : 0))
        return (
            random.values(d.inputShape.reduce(1, *), integers: integers),
            random.values(d.weightShape.reduce(1, *), integers: integers),
            random.values(d.outChannels, integers: integers),
            random.values(d.outputShape.reduce(1, *), integers: integers)
        )
    }

    static func forward(_ d: Conv2dDescriptor, bias: Bool, integers: Bool) -> VerificationCase {
        VerificationCase(op: ConvolutionOps.forward.name, shape: shape(d, bias: bias, integers: integers)) { device, reference in
            let x = inputs(d, integers: integers)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(x.input), .floats(x.weight), .floats(x.bias)],
                outputs: [.floats(d.outputShape.reduce(1, *))]
            ) { backend, inputs, outputs in
                try backend.conv2dForward(
                    d, input: inputs[0], weight: inputs[1], bias: bias ? inputs[2] : nil,
                    output: outputs[0])
            }
            let scale = Reference.conv2dForward(
                d, input: magnitudes(x.input), weight: magnitudes(x.weight),
                bias: bias ? magnitudes(x.bias) : nil)
            return .ofSums(
                ConvolutionOps.forward, d, actual: actual[0], expected: expected[0], integers: integers,
                scale: scale)
        }
    }

    static func backwardInput(_ d: Conv2dDescriptor, integers: Bool) -> VerificationCase {
        VerificationCase(op: ConvolutionOps.backwardInput.name, shape: shape(d, integers: integers)) { device, reference in
            let x = inputs(d, integers: integers)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(x.outputGradient), .floats(x.weight)],
                outputs: [.floats(d.inputShape.reduce(1, *))]
            ) { backend, inputs, outputs in
                try backend.conv2dBackwardInput(d, outputGradient: inputs[0], weight: inputs[1], inputGradient: outputs[0])
            }
            let scale = Reference.conv2dBackwardInput(
                d, outputGradient: magnitudes(x.outputGradient),
                weight: magnitudes(x.weight))
            return .ofSums(
                ConvolutionOps.backwardInput, d, actual: actual[0], expected: expected[0], integers: integers,
                scale: scale)
        }
    }

    static func backwardWeight(_ d: Conv2dDescriptor, integers: Bool) -> VerificationCase {
        VerificationCase(op: ConvolutionOps.backwardWeight.name, shape: shape(d, integers: integers)) { device, reference in
            let x = inputs(d, integers: integers)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(x.input), .floats(x.outputGradient)],
                outputs: [.floats(d.weightShape.reduce(1, *))]
            ) { backend, inputs, outputs in
                try backend.conv2dBackwardWeight(d, input: inputs[0], outputGradient: inputs[1], weightGradient: outputs[0])
            }
            let scale = Reference.conv2dBackwardWeight(
                d, input: magnitudes(x.input),
                outputGradient: magnitudes(x.outputGradient))
            return .ofSums(
                ConvolutionOps.backwardWeight, d, actual: actual[0], expected: expected[0], integers: integers,
                scale: scale)
        }
    }

    static func backwardBias(_ d: Conv2dDescriptor, integers: Bool) -> VerificationCase {
        VerificationCase(op: ConvolutionOps.backwardBias.name, shape: shape(d, integers: integers)) { device, reference in
            let x = inputs(d, integers: integers)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(x.outputGradient)], outputs: [.floats(d.outChannels)]
            ) { backend, inputs, outputs in
                try backend.conv2dBackwardBias(d, outputGradient: inputs[0], biasGradient: outputs[0])
            }
            let scale = Reference.conv2dBackwardBias(d, outputGradient: magnitudes(x.outputGradient))
            return .ofSums(
                ConvolutionOps.backwardBias, d, actual: actual[0], expected: expected[0], integers: integers,
                scale: scale)
        }
    }
}
