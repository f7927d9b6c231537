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
    public static let softmax = bodies(softmaxBodies(Float.self), softmaxBodies(Double.self))

    static func softmaxBodies<T: ReferenceScalar>(_: T.Type) -> [ReferenceBody<T>] {
        SoftmaxKind.allCases.flatMap { kind in
            [
                ReferenceBody(SoftmaxOps.forward(kind)) { d, b in
                    b.output[T.self] = Reference.softmax(d, b.input[T.self])
                },
                ReferenceBody(SoftmaxOps.backward(kind)) { d, b in
                    b.inputGradient[T.self] = Reference.softmaxBackward(
                        d, output: b.output[T.self], outputGradient: b.outputGradient[T.self])
                },
            ]
        }
    }
}
