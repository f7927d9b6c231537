import Foundation
import HeedOps

extension Reference {
    /// The flat index of element j = n·S + s of channel c in an (N, C, S) tensor.
    public static func batchNormIndex(_ d: BatchNormDescriptor, _ j: Int, channel c: Int) -> Int {
        ((j / d.spatial) * d.channels + c) * d.spatial + j % d.spatial
    }

    /// Training forward (see `NormalizationOps.batchNormForwardTraining`): statistics in
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
        return (y, savedMean, savedInverseStd)
    }

    /// Evaluation forward: normalises with the running statistics.
    public static func batchNormForwardInference<T: BinaryFloatingPoint>(
        _ d: BatchNormDescriptor, input x: [T], weight: [T], bias: [T], runningMean: [T], runningVariance: [T]
    ) -> [T] {
        (0..<d.count).map { i in
            let c = (i / d.spatial) % d.channels
            let inverseStd = 1 / (Double(runningVariance[c]) + Double(d.epsilon)).squareRoot()
            return T((Double(x[i]) - Double(runningMean[c])) * inverseStd * Double(weight[c]) + Double(bias[c]))
        }
    }

    /// Backward of the training forward from its saved statistics; sums in Double.
    public static func batchNormBackward<T: BinaryFloatingPoint>(
        _ d: BatchNormDescriptor, input x: [T], outputGradient dy: [T], weight: [T],
        savedMean: [T], savedInverseStd: [T]
    ) -> (input: [T], weight: [T], bias: [T]) {
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
    public func batchNormForwardTraining(
        _ d: BatchNormDescriptor, input: any DeviceBuffer, weight: any DeviceBuffer, bias: any DeviceBuffer,
        runningMean: any DeviceBuffer, runningVariance: any DeviceBuffer,
        output: any DeviceBuffer, savedMean: any DeviceBuffer, savedInverseStd: any DeviceBuffer
    ) throws {
        let b = try checked(d, "batch_norm.forward_training", training: true, [
            ("input", input, false), ("weight", weight, true), ("bias", bias, true),
            ("runningMean", runningMean, true), ("runningVariance", runningVariance, true),
            ("output", output, false), ("savedMean", savedMean, true), ("savedInverseStd", savedInverseStd, true),
        ])
        let result = Reference.batchNormForwardTraining(d, input: b[0].floats, weight: b[1].floats, bias: b[2].floats,
                                                        runningMean: &b[3].floats, runningVariance: &b[4].floats)
        (b[5].floats, b[6].floats, b[7].floats) = result
    }

    public func batchNormForwardInference(
        _ d: BatchNormDescriptor, input: any DeviceBuffer, weight: any DeviceBuffer, bias: any DeviceBuffer,
        runningMean: any DeviceBuffer, runningVariance: any DeviceBuffer, output: any DeviceBuffer
    ) throws {
        let b = try checked(d, "batch_norm.forward_inference", training: false, [
            ("input", input, false), ("weight", weight, true), ("bias", bias, true),
            ("runningMean", runningMean, true), ("runningVariance", runningVariance, true), ("output", output, false),
        ])
        b[5].floats = Reference.batchNormForwardInference(d, input: b[0].floats, weight: b[1].floats, bias: b[2].floats,
                                                          runningMean: b[3].floats, runningVariance: b[4].floats)
    }

    public func batchNormBackward(
        _ d: BatchNormDescriptor, input: any DeviceBuffer, outputGradient: any DeviceBuffer,
        weight: any DeviceBuffer, savedMean: any DeviceBuffer, savedInverseStd: any DeviceBuffer,
        inputGradient: any DeviceBuffer, weightGradient: any DeviceBuffer, biasGradient: any DeviceBuffer
    ) throws {
        let b = try checked(d, "batch_norm.backward", training: true, [
            ("input", input, false), ("outputGradient", outputGradient, false), ("weight", weight, true),
            ("savedMean", savedMean, true), ("savedInverseStd", savedInverseStd, true),
            ("inputGradient", inputGradient, false), ("weightGradient", weightGradient, true),
            ("biasGradient", biasGradient, true),
        ])
        let result = Reference.batchNormBackward(d, input: b[0].floats, outputGradient: b[1].floats, weight: b[2].floats,
                                                 savedMean: b[3].floats, savedInverseStd: b[4].floats)
        (b[5].floats, b[6].floats, b[7].floats) = result
    }

    /// The buffers as float32 buffers of this backend, in order, after `d.validate`.
    private func checked(_ d: BatchNormDescriptor, _ op: String, training: Bool,
                         _ named: [(String, any DeviceBuffer, Bool)]) throws -> [ReferenceBuffer] {
        let buffers = try named.map { try floats($0.1, op, $0.0) }
        try d.validate(op, training: training, zip(named, buffers).map { ($0.0, $1.count, perChannel: $0.2) })
        return buffers
    }
}
