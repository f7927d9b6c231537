import HeedOps
import HeedReference

/// Batch normalisation cases: 2-d (N, C, H·W) and 1-d (N, C) shapes, odd sizes, M = N·S
/// from 2 to beyond the kernel's work-group size; inputs offset per channel so the
/// means are far from 0. Each output is compared within the sum bound of its op's table
/// entry over the magnitude it is built from (see `scales` in each case). Every shape
/// runs plain and with the fused ReLU (`relu` in the label), whose outputs the same
/// bounds hold (relu moves no two values apart); the means near β ∈ [−1, 1] make the
/// ReLU clamp a good share of each channel.
enum NormalizationVerification {
    static let shapes = [(1, 1, 2), (1, 1, 3), (3, 7, 33), (7, 3, 1), (2, 5, 49), (33, 3, 1), (4, 3, 323), (5, 16, 1)]

    static let cases: [VerificationCase] = [false, true].flatMap { relu in
        shapes.flatMap { shape in
            let d = BatchNormDescriptor(batch: shape.0, channels: shape.1, spatial: shape.2, relu: relu)
            return [trainingCase(d), inferenceCase(d), backwardCase(d)]
        }
    }

    static func label(_ d: BatchNormDescriptor) -> String {
        "N=\(d.batch) C=\(d.channels) S=\(d.spatial)\(d.relu ? " relu" : "")"
    }

    /// Seeded inputs: x with a per-channel offset in [−3, 3], γ in [0.5, 1.5], β in
    /// [−1, 1], running mean in [−1, 1] and running variance in [0.5, 2].
    struct Inputs {
        var x, weight, bias, runningMean, runningVariance: [Float]

        init(_ d: BatchNormDescriptor, seed: UInt64) {
            var random = SeededGenerator(seed: seed &+ UInt64(d.count * 7 + d.channels))
            let offsets = random.uniform(d.channels, in: -3...3)
            x = (0..<d.count).map { offsets[($0 / d.spatial) % d.channels] + Float.random(in: -1...1, using: &random) }
            weight = random.uniform(d.channels, in: 0.5...1.5)
            bias = random.uniform(d.channels)
            runningMean = random.uniform(d.channels)
            runningVariance = random.uniform(d.channels, in: 0.5...2)
        }
    }

    static func channelSum(_ d: BatchNormDescriptor, _ values: [Double]) -> [Double] {
        (0..<d.channels).map { c in
            (0..<d.reduced).reduce(0) { $0 + values[Reference.batchNormIndex(d, $1, channel: c)] }
        }
    }

    static func compare(
        _ op: OpDefinition<BatchNormDescriptor>, _ d: BatchNormDescriptor, _ names: [String],
        _ actual: [[Float]], _ expected: [[Float]], _ scales: [[Double]]
    ) -> Comparison {
        Comparison(
            combining: names.indices.map { k in
                (names[k], .ofSums(op, d, actual: actual[k], expected: expected[k], integers: false, scale: scales[k]))
            })
    }

    static func trainingCase(_ d: BatchNormDescriptor) -> VerificationCase {
        VerificationCase(op: NormalizationOps.forwardTraining.name, shape: label(d)) { device, reference in
            let v = Inputs(d, seed: 1)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(v.x), .floats(v.weight), .floats(v.bias)],
                outputs: [
                    .initialized(v.runningMean), .initialized(v.runningVariance), .floats(d.count),
                    .floats(d.channels), .floats(d.channels),
                ]
            ) { backend, i, o in
                try backend.batchNormForwardTraining(
                    d, input: i[0], weight: i[1], bias: i[2], runningMean: o[0],
                    runningVariance: o[1], output: o[2], savedMean: o[3], savedInverseStd: o[4])
            }
            let m = Double(d.reduced)
            let momentum = Double(d.momentum)
            let meanAbs = channelSum(d, v.x.map { Double(abs($0)) }).map { $0 / m }
            let (mean, inverseStd) = (expected[3].map(Double.init), expected[4].map(Double.init))
            let unbiased = (0..<d.channels).map { 1 / (inverseStd[$0] * inverseStd[$0]) * m / (m - 1) }
            let outputScale = (0..<d.count).map { i -> Double in
                let c = (i / d.spatial) % d.channels
                return Double(abs(v.weight[c])) * inverseStd[c] * (meanAbs[c] + abs(Double(v.x[i]) - mean[c]))
                    + Double(abs(v.bias[c]))
            }
            let scales: [[Double]] = [
                (0..<d.channels).map { (1 - momentum) * Double(abs(v.runningMean[$0])) + momentum * meanAbs[$0] },
                (0..<d.channels).map { (1 - momentum) * Double(v.runningVariance[$0]) + momentum * unbiased[$0] },
                outputScale, meanAbs, inverseStd,
            ]
            return compare(
                NormalizationOps.forwardTraining, d,
                ["runningMean", "runningVariance", "output", "savedMean", "savedInverseStd"], actual, expected, scales)
        }
    }

    static func inferenceCase(_ d: BatchNormDescriptor) -> VerificationCase {
        VerificationCase(op: NormalizationOps.forwardInference.name, shape: label(d)) { device, reference in
            let v = Inputs(d, seed: 2)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference,
                inputs: [.floats(v.x), .floats(v.weight), .floats(v.bias), .floats(v.runningMean), .floats(v.runningVariance)],
                outputs: [.floats(d.count)]
            ) { backend, i, o in
                try backend.batchNormForwardInference(
                    d, input: i[0], weight: i[1], bias: i[2], runningMean: i[3],
                    runningVariance: i[4], output: o[0])
            }
            let scale = (0..<d.count).map { i -> Double in
                let c = (i / d.spatial) % d.channels
                let inverseStd = 1 / (Double(v.runningVariance[c]) + Double(d.epsilon)).squareRoot()
                return Double(abs(v.weight[c])) * inverseStd * Double(abs(v.x[i]) + abs(v.runningMean[c]))
                    + Double(abs(v.bias[c]))
            }
            return compare(NormalizationOps.forwardInference, d, ["output"], actual, expected, [scale])
        }
    }

    /// The backward from the reference forward's saved statistics (rounded to float32,
    /// as a device would hand them over) and a random output gradient; with the fused
    /// ReLU, from that forward's output too, and the bounds are those of the gradient
    /// that passes the ReLU.
    static func backwardCase(_ d: BatchNormDescriptor) -> VerificationCase {
        VerificationCase(op: NormalizationOps.backward.name, shape: label(d)) { device, reference in
            var v = Inputs(d, seed: 3)
            let saved = Reference.batchNormForwardTraining(
                d, input: v.x, weight: v.weight, bias: v.bias,
                runningMean: &v.runningMean, runningVariance: &v.runningVariance)
            var random = SeededGenerator(seed: UInt64(d.count))
            let outputGradient = random.uniform(d.count)
            let fusedOutput: [OpHarness.Input] = d.relu ? [.floats(saved.output)] : []
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference,
                inputs: [
                    .floats(v.x), .floats(outputGradient), .floats(v.weight), .floats(saved.savedMean), .floats(saved.savedInverseStd),
                ]
                    + fusedOutput,
                outputs: [.floats(d.count), .floats(d.channels), .floats(d.channels)]
            ) { backend, i, o in
                try backend.batchNormBackward(
                    d, input: i[0], outputGradient: i[1], output: d.relu ? i[5] : nil, weight: i[2], savedMean: i[3],
                    savedInverseStd: i[4], inputGradient: o[0], weightGradient: o[1], biasGradient: o[2])
            }
            let dy = d.relu ? Reference.reluBackward(input: saved.output, outputGradient: outputGradient) : outputGradient
            let m = Double(d.reduced)
            let xHat = (0..<d.count).map { i -> Double in
                let c = (i / d.spatial) % d.channels
                return (Double(v.x[i]) - Double(saved.savedMean[c])) * Double(saved.savedInverseStd[c])
            }
            let sumAbsDy = channelSum(d, dy.map { Double(abs($0)) })
            let sumAbsDyXHat = channelSum(d, zip(dy, xHat).map { abs(Double($0) * $1) })
            let inputScale = (0..<d.count).map { i -> Double in
                let c = (i / d.spatial) % d.channels
                return Double(abs(v.weight[c])) * Double(saved.savedInverseStd[c])
                    * (Double(abs(dy[i])) + sumAbsDy[c] / m + abs(xHat[i]) * sumAbsDyXHat[c] / m)
            }
            return compare(
                NormalizationOps.backward, d, ["inputGradient", "weightGradient", "biasGradient"], actual, expected,
                [inputScale, sumAbsDyXHat, sumAbsDy])
        }
    }
}
