import Foundation
import HeedOps

extension Reference {
    /// The flat index of element j = n·S + s of channel c in an (N, C, S) tensor.
    public static func batchNormIndex(_ d: BatchNormDescriptor, _ j: Int, channel c: Int) -> Int {
        ((j / d.spatial) * d.channels + c) * d.spatial + j % d.spatial
    }

    /// Training forward (see `NormalizationOps.forwardTraining`): statistics in
    /// Double, two passes; updates the running statistics in place.
    public static func batchNormForwardTraining<T: BinaryFloatingPoint>(
        _ d: BatchNormDescriptor, input x: [T], weight: [T], bias: [T],
        runningMean: inout [T], runningVariance: inout [T]
    ) -> (output: [T], savedMean: [T], savedInverseStd: [T]) {
        var y = [T](repeating: 0, count: d.count)
        var savedMean = [T](repeating: 0, count: d.channels)
        var savedInverseStd = [T](repeating: 0, count: d.channels)
        let m = Double(d.reduced)
        let momentum = Double(d.momentum)
        for c in 0..<d.channels {
            let values = (0..<d.reduced).map { Double(x[batchNormIndex(d, $0, channel: c)]) }
            let mean = values.reduce(0, +) / m
            let squares = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            let inverseStd = 1 / (squares / m + Double(d.epsilon)).squareRoot()
            savedMean[c] = T(mean)
            savedInverseStd[c] = T(inverseStd)
            runningMean[c] = T((1 - momentum) * Double(runningMean[c]) + momentum * mean)
            runningVariance[c] = T((1 - momentum) * Double(runningVariance[c]) + momentum * squares / (m - 1))
            for j in 0..<d.reduced {
                let i = batchNormIndex(d, j, channel: c)
                y[i] = T((Double(x[i]) - mean) * inverseStd * Double(weight[c]) + Double(bias[c]))
            }
        }
        return (d.relu ? relu(y) : y, savedMean, savedInverseStd)
    }

    /// Evaluation forward: normalises with the running statistics.
    public static func batchNormForwardInference<T: BinaryFloatingPoint>(
        _ d: BatchNormDescriptor, input x: [T], weight: [T], bias: [T], runningMean: [T], runningVariance: [T]
    ) -> [T] {
        let y = (0..<d.count).map { i in
            let c = (i / d.spatial) % d.channels
            let inverseStd = 1 / (Double(runningVariance[c]) + Double(d.epsilon)).squareRoot()
            return T((Double(x[i]) - Double(runningMean[c])) * inverseStd * Double(weight[c]) + Double(bias[c]))
        }
        return d.relu ? relu(y) : y
    }

    /// Backward of the training forward from its saved statistics; sums in Double. With
    /// `d.relu`, `output` is the fused forward's and the gradient first goes back through
    /// the ReLU (`reluBackward` on that output).
    public static func batchNormBackward<T: BinaryFloatingPoint>(
        _ d: BatchNormDescriptor, input x: [T], outputGradient: [T], output: [T]? = nil, weight: [T],
        savedMean: [T], savedInverseStd: [T]
    ) -> (input: [T], weight: [T], bias: [T]) {
        precondition(d.relu == (output != nil), "batchNormBackward: output is for a fused relu, and only for one")
        let dy = output.map { reluBackward(input: $0, outputGradient: outputGradient) } ?? outputGradient
        var dx = [T](repeating: 0, count: d.count)
        var dWeight = [T](repeating: 0, count: d.channels)
        var dBias = [T](repeating: 0, count: d.channels)
        let m = Double(d.reduced)
        for c in 0..<d.channels {
            let (mean, inverseStd) = (Double(savedMean[c]), Double(savedInverseStd[c]))
            let indices = (0..<d.reduced).map { batchNormIndex(d, $0, channel: c) }
            let xHat = indices.map { (Double(x[$0]) - mean) * inverseStd }
            let sumDy = indices.reduce(0) { $0 + Double(dy[$1]) }
            let sumDyXHat = zip(indices, xHat).reduce(0) { $0 + Double(dy[$1.0]) * $1.1 }
            dBias[c] = T(sumDy)
            dWeight[c] = T(sumDyXHat)
            let scale = Double(weight[c]) * inverseStd
            for (i, xh) in zip(indices, xHat) {
                dx[i] = T(scale * (Double(dy[i]) - sumDy / m - xh * sumDyXHat / m))
            }
        }
        return (dx, dWeight, dBias)
    }
}

extension ReferenceBackend {
    public static let normalization = bodies(normalizationBodies(Float.self), normalizationBodies(Double.self))

    static func normalizationBodies<T: ReferenceScalar>(_: T.Type) -> [ReferenceBody<T>] {
        [
            ReferenceBody(NormalizationOps.forwardTraining) { d, b in
                (b.output[T.self], b.savedMean[T.self], b.savedInverseStd[T.self]) = Reference.batchNormForwardTraining(
                    d, input: b.input[T.self], weight: b.weight[T.self], bias: b.bias[T.self],
                    runningMean: &b.runningMean[T.self], runningVariance: &b.runningVariance[T.self])
            },
            ReferenceBody(NormalizationOps.forwardInference) { d, b in
                b.output[T.self] = Reference.batchNormForwardInference(
                    d, input: b.input[T.self], weight: b.weight[T.self], bias: b.bias[T.self],
                    runningMean: b.runningMean[T.self], runningVariance: b.runningVariance[T.self])
            },
            ReferenceBody(NormalizationOps.backward) { d, b in
                (b.inputGradient[T.self], b.weightGradient[T.self], b.biasGradient[T.self]) = Reference.batchNormBackward(
                    d, input: b.input[T.self], outputGradient: b.outputGradient[T.self],
                    output: b.optional("output")?[T.self], weight: b.weight[T.self],
                    savedMean: b.savedMean[T.self], savedInverseStd: b.savedInverseStd[T.self])
            },
        ]
    }
}
