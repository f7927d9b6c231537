import HeedOps
import HeedReference

/// SGD cases: plain, with weight decay, with momentum (first and later steps), with
/// Nesterov, at sizes 1, 7, 33 and 1031, within the sum bound of `OptimizerOps.sgd`; with
/// dyadic settings and small-integer values, exactly.
enum OptimizerVerification {
    static let settings: [(String, SGDDescriptor)] = [
        ("plain", SGDDescriptor(count: 0, learningRate: 0.1)),
        ("weight decay", SGDDescriptor(count: 0, learningRate: 0.1, weightDecay: 5e-4)),
        ("momentum first", SGDDescriptor(count: 0, learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4, firstStep: true)),
        ("momentum", SGDDescriptor(count: 0, learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4)),
        (
            "nesterov first",
            SGDDescriptor(
                count: 0, learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov: true,
                firstStep: true)
        ),
        ("nesterov", SGDDescriptor(count: 0, learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov: true)),
    ]

    static let cases: [VerificationCase] = {
        var cases: [VerificationCase] = []
        for n in [1, 7, 33, 1031] {
            for (name, setting) in settings {
                var d = setting
                d.count = n
                cases.append(sgdCase(d, name, integers: false))
            }
        }
        for nesterov in [false, true] {
            let d = SGDDescriptor(count: 33, learningRate: 0.5, momentum: 0.5, weightDecay: 0.25, nesterov: nesterov)
            cases.append(sgdCase(d, nesterov ? "nesterov dyadic" : "momentum dyadic", integers: true))
        }
        return cases
    }()

    static func sgdCase(_ d: SGDDescriptor, _ name: String, integers: Bool) -> VerificationCase {
        VerificationCase(op: OptimizerOps.sgd.name, shape: "\(d.count) \(name)\(integers ? " int" : "")") { device, reference in
            var random = SeededGenerator(seed: UInt64(d.count * 31 + name.count))
            func values(_ n: Int) -> [Float] { integers ? random.integers(n, in: -8...8) : random.uniform(n) }
            let (p, grad, buffer) = (values(d.count), values(d.count), values(d.count))
            let usesBuffer = d.momentum != 0
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(grad)],
                outputs: [.initialized(p), .initialized(buffer)]
            ) { backend, i, o in
                try backend.sgdUpdate(d, parameter: o[0], gradient: i[0], momentumBuffer: usesBuffer ? o[1] : nil)
            }
            let (lr, momentum, decay) = (Double(d.learningRate), Double(d.momentum), Double(d.weightDecay))
            var parameterScale: [Double] = []
            var bufferScale: [Double] = []
            for i in 0..<d.count {
                let g = Double(abs(grad[i])) + decay * Double(abs(p[i]))
                let b = usesBuffer ? (d.firstStep ? g : momentum * Double(abs(buffer[i])) + g) : 0
                let step = usesBuffer ? (d.nesterov ? g + momentum * b : b) : g
                parameterScale.append(Double(abs(p[i])) + lr * step)
                bufferScale.append(usesBuffer ? b : Double(abs(buffer[i])))
            }
            return Comparison(combining: [
                (
                    "parameter",
                    .ofSums(
                        OptimizerOps.sgd, d, actual: actual[0], expected: expected[0], integers: integers,
                        scale: parameterScale)
                ),
                (
                    "momentumBuffer",
                    .ofSums(
                        OptimizerOps.sgd, d, actual: actual[1], expected: expected[1], integers: integers,
                        scale: bufferScale)
                ),
            ])
        }
    }
}
