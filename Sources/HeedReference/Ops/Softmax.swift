import Foundation
import HeedOps

extension Reference {
    /// Softmax or log-softmax of `x` along the descriptor's axis, in Double: subtract the
    /// row maximum, exponentiate, normalise.
    public static func softmax<T: BinaryFloatingPoint>(_ d: SoftmaxDescriptor, _ x: [T]) -> [T] {
        var y = [T](repeating: 0, count: d.count)
        for o in 0..<d.outer {
            for i in 0..<d.inner {
                let indices = (0..<d.axis).map { (o * d.axis + $0) * d.inner + i }
                let m = indices.map { Double(x[$0]) }.max()!
                let sum = indices.reduce(0.0) { $0 + exp(Double(x[$1]) - m) }
                for e in indices {
                    let shifted = Double(x[e]) - m
                    y[e] = T(d.kind == .logSoftmax ? shifted - log(sum) : exp(shifted) / sum)
                }
            }
        }
        return y
    }

    /// The input gradient from the forward's output `y` and the output gradient `dy`:
    /// softmax `y·(dy − Σ dy·y)`, log-softmax `dy − exp(y)·Σ dy`.
    public static func softmaxBackward<T: BinaryFloatingPoint>(_ d: SoftmaxDescriptor, output y: [T], outputGradient dy: [T]) -> [T] {
        var dx = [T](repeating: 0, count: d.count)
        for o in 0..<d.outer {
            for i in 0..<d.inner {
                let indices = (0..<d.axis).map { (o * d.axis + $0) * d.inner + i }
                switch d.kind {
                case .softmax:
                    let s = indices.reduce(0.0) { $0 + Double(dy[$1]) * Double(y[$1]) }
                    for e in indices { dx[e] = T(Double(y[e]) * (Double(dy[e]) - s)) }
                case .logSoftmax:
                    let s = indices.reduce(0.0) { $0 + Double(dy[$1]) }
                    for e in indices { dx[e] = T(Double(dy[e]) - exp(Double(y[e])) * s) }
                }
            }
        }
        return dx
    }
}

extension ReferenceBackend {
    public func softmaxForward(_ d: SoftmaxDescriptor, input: any DeviceBuffer, output: any DeviceBuffer) throws {
        let (x, y) = (try floats(input, d.op, "input"), try floats(output, d.op, "output"))
        try d.validate(counts: ["input": x.count, "output": y.count])
        y.floats = Reference.softmax(d, x.floats)
    }

    public func softmaxBackward(_ d: SoftmaxDescriptor, output: any DeviceBuffer,
                                outputGradient: any DeviceBuffer, inputGradient: any DeviceBuffer) throws {
        let y = try floats(output, d.op, "output")
        let dy = try floats(outputGradient, d.op, "output gradient")
        let dx = try floats(inputGradient, d.op, "input gradient")
        try d.validate(counts: ["output": y.count, "output gradient": dy.count, "input gradient": dx.count])
        dx.floats = Reference.softmaxBackward(d, output: y.floats, outputGradient: dy.floats)
    }
}
