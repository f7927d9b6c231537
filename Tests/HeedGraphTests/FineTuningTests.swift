import HeedGraph
import HeedOps
import HeedReference
import HeedSupport
import HeedTestSupport
import XCTest

/// What `heed train --pretrained` builds on: SGD parameter groups (--backbone-lr-scale),
/// frozen batch norm (--freeze-bn) and loading the tensors that fit (`PretrainedWeights`).
final class FineTuningTests: XCTestCase {
    private let backend = TestDevices.reference

    /// Sets `parameter.gradient` to `gradient` through a loss Σ p·g.
    private func setGradient(_ parameter: Tensor, _ gradient: [Float]) throws {
        try parameter.multiplying(Tensor(gradient, shape: parameter.shape, on: backend)).sum().backward()
    }

    /// Two steps of Nesterov SGD with weight decay, the first group at lr x 0.25, against
    /// torch.optim.SGD's update computed by hand in Double. Float32 against Double through
    /// a handful of operations per element: within 1e-6 relative.
    func testAGroupsLearningRateIsScaled() throws {
        let (p0, q0): ([Float], [Float]) = ([0.5, -1.25, 2], [1, -0.5])
        let (gp, gq): ([[Float]], [[Float]]) = ([[0.3, -0.7, 1.1], [0.2, 0.4, -0.9]], [[-0.6, 0.8], [0.5, 0.1]])
        let p = try Tensor(parameter: p0, shape: [3], on: backend)
        let q = try Tensor(parameter: q0, shape: [2], on: backend)
        let configuration = SGD.Configuration(learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov: true)
        let sgd = SGD(
            groups: [
                SGD.ParameterGroup(parameters: [("backbone.w", p)], learningRateScale: 0.25),
                SGD.ParameterGroup(parameters: [("head.w", q)]),
            ], configuration: configuration)
        for step in 0..<2 {
            try setGradient(p, gp[step])
            try setGradient(q, gq[step])
            try sgd.step()
        }
        func byHand(_ start: [Float], _ gradients: [[Float]], lr: Double) -> [Double] {
            var parameter = start.map(Double.init)
            var buffer = [Double](repeating: 0, count: start.count)
            for (step, gradient) in gradients.enumerated() {
                for i in parameter.indices {
                    let g = Double(gradient[i]) + Double(Float(5e-4)) * parameter[i]
                    buffer[i] = step == 0 ? g : Double(Float(0.9)) * buffer[i] + g
                    parameter[i] -= lr * (g + Double(Float(0.9)) * buffer[i])
                }
            }
            return parameter
        }
        for (tensor, expected) in [(p, byHand(p0, gp, lr: Double(Float(0.1)) * 0.25)), (q, byHand(q0, gq, lr: Double(Float(0.1))))] {
            for (actual, want) in zip(try tensor.values(), expected) {
                XCTAssertEqual(Double(actual), want, accuracy: 1e-6 * abs(want))
            }
        }
        XCTAssertEqual(Set(sgd.momentumBuffers.keys), ["backbone.w", "head.w"])
    }

    /// Groups at scale 1 step bit for bit as one group: --backbone-lr-scale 1 changes nothing.
    func testGroupsAtScaleOneStepExactlyAsOneGroup() throws {
        let start: [Float] = [0.5, -1.25, 2, 0.125, -3]
        let gradient: [Float] = [0.3, -0.7, 1.1, 0.2, -0.05]
        let configuration = SGD.Configuration(learningRate: 0.1)
        func train(grouped: Bool) throws -> [Float] {
            let a = try Tensor(parameter: Array(start.prefix(2)), shape: [2], on: backend)
            let b = try Tensor(parameter: Array(start.dropFirst(2)), shape: [3], on: backend)
            let sgd =
                grouped
                ? SGD(
                    groups: [.init(parameters: [("b", b)], learningRateScale: 1), .init(parameters: [("a", a)])],
                    configuration: configuration)
                : SGD(parameters: [("a", a), ("b", b)], configuration: configuration)
            for _ in 0..<3 {
                try setGradient(a, Array(gradient.prefix(2)))
                try setGradient(b, Array(gradient.dropFirst(2)))
                try sgd.step()
            }
            return try a.values() + b.values()
        }
        XCTAssertEqual(try train(grouped: true).map(\.bitPattern), try train(grouped: false).map(\.bitPattern))
    }

    /// A frozen batch norm in training mode gives the eval-mode output bit for bit, leaves the
    /// running statistics and num_batches_tracked alone, and its gradients are eval-mode BN's:
    /// ∂x = ∂y·γ·s, ∂γ = Σ ∂y·x̂, ∂β = Σ ∂y with s = 1/sqrt(var + eps), checked against Double
    /// within 1e-5 (float32 sums of 3·4 terms of moderate size).
    func testFrozenBatchNormUsesAndKeepsItsRunningStatistics() throws {
        let (batch, channels, spatial) = (3, 2, 4)
        let values = randomDoubles(batch * channels * spatial, in: -2...2, seed: 11).map(Float.init)
        let upstream = randomDoubles(values.count, seed: 12).map(Float.init)
        let (mean, variance): ([Float], [Float]) = ([0.25, -0.5], [0.8, 1.7])
        let (gamma, beta): ([Float], [Float]) = ([1.2, 0.7], [0.1, -0.3])
        func layer() throws -> BatchNorm {
            let bn = try BatchNorm(channels, on: backend)
            try bn.runningMean.assign(mean)
            try bn.runningVariance.assign(variance)
            try bn.weight.assign(gamma)
            try bn.bias.assign(beta)
            bn.batchesTracked.value = 7
            return bn
        }
        let evaluation = try layer()
        evaluation.eval()
        let expected = try Tensor.withoutGradients { try evaluation(Tensor(values, shape: [batch, channels, 2, 2], on: backend)) }

        let frozen = try layer()
        frozen.isFrozen = true
        let x = try Tensor(parameter: values, shape: [batch, channels, 2, 2], on: backend)
        let y = try frozen(x)
        XCTAssertEqual(try y.values(), try expected.values())
        try y.multiplying(Tensor(upstream, shape: y.shape, on: backend)).sum().backward()
        XCTAssertEqual(try frozen.runningMean.values(), mean)
        XCTAssertEqual(try frozen.runningVariance.values(), variance)
        XCTAssertEqual(frozen.batchesTracked.value, 7)

        var (dx, dGamma, dBeta) = ([Double](repeating: 0, count: values.count), [0.0, 0.0], [0.0, 0.0])
        for i in values.indices {
            let c = (i / spatial) % channels
            let s = 1 / (Double(variance[c]) + 1e-5).squareRoot()
            dx[i] = Double(upstream[i]) * Double(gamma[c]) * s
            dGamma[c] += Double(upstream[i]) * (Double(values[i]) - Double(mean[c])) * s
            dBeta[c] += Double(upstream[i])
        }
        for (tensor, want) in [(x, dx), (frozen.weight, dGamma), (frozen.bias, dBeta)] {
            let actual = try XCTUnwrap(tensor.gradient).values()
            for (a, w) in zip(actual, want) { XCTAssertEqual(Double(a), w, accuracy: 1e-5 * max(1, abs(w))) }
        }
    }

    /// conv.weight (4, 3) and bn.* in the model; the file: conv.weight, bn.weight, bn.running_var,
    /// a classifier fc.weight for another class count, and an extra tensor.
    private final class Small: Module {
        let conv: Linear, bn: BatchNorm, fc: Linear
        init(on backend: any Backend) throws {
            var random = SeededGenerator(seed: 3)
            conv = try Linear(3, 4, bias: false, on: backend, random: &random)
            bn = try BatchNorm(4, on: backend)
            fc = try Linear(4, 2, on: backend, random: &random)
            super.init()
            register(child: conv, as: "conv")
            register(child: bn, as: "bn")
            register(child: fc, as: "fc")
        }
    }

    private func file(_ tensors: [String: [Int]], value: Float = 0.5) -> SafeTensors {
        SafeTensors(
            tensors: tensors.mapValues { shape in .init(shape: shape, floats: [Float](repeating: value, count: shape.reduce(1, *))) })
    }

    func testLoadsWhatFitsAndReportsTheRest() throws {
        let model = try Small(on: backend)
        let initialBias = try model.fc.bias!.values()
        var weights = file(["conv.weight": [4, 3], "bn.weight": [4], "bn.running_var": [4], "fc.weight": [1000, 4], "aux.weight": [7]])
        weights.tensors["bn.num_batches_tracked"] = .init(shape: [], int64s: [12])
        let report = try PretrainedWeights.load(weights, into: model, path: "p.safetensors") { $0.name.hasPrefix("fc.") }
        XCTAssertEqual(report.loaded, ["conv.weight", "bn.weight", "bn.running_var", "bn.num_batches_tracked"])
        XCTAssertEqual(report.initialised, ["bn.bias", "fc.bias", "bn.running_mean"])
        XCTAssertEqual(report.reinitialised, [.init(name: "fc.weight", fileShape: [1000, 4], modelShape: [2, 4])])
        XCTAssertEqual(report.ignored, ["aux.weight"])
        XCTAssertEqual(try model.conv.weight.values(), [Float](repeating: 0.5, count: 12))
        XCTAssertEqual(try model.bn.runningVariance.values(), [Float](repeating: 0.5, count: 4))
        XCTAssertEqual(model.bn.batchesTracked.value, 12)
        XCTAssertEqual(try model.fc.bias!.values(), initialBias)
        XCTAssertNotEqual(try model.fc.weight.values(), [Float](repeating: 0.5, count: 8))
    }

    func testAFileThatDoesNotFitListsEveryMismatchAndLoadsNothing() throws {
        let model = try Small(on: backend)
        let before = try model.state.map { try $0.tensor.values() }
        let weights = file(["conv.weight": [4, 5], "bn.weight": [6], "bn.bias": [4], "fc.weight": [1000, 4]])
        assertThrows(try PretrainedWeights.load(weights, into: model, path: "p.safetensors") { _ in false }, as: FileError.self) {
            XCTAssertEqual(
                "\($0)",
                "p.safetensors: tensors that do not fit the model: conv.weight [4, 5] in the file, [4, 3] in the model; "
                    + "bn.weight [6] in the file, [4] in the model; fc.weight [1000, 4] in the file, [2, 4] in the model "
                    + "(another architecture or --classes?)")
        }
        let nonfinite = file(["conv.weight": [4, 3], "bn.bias": [4]], value: .nan)
        assertThrows(try PretrainedWeights.load(nonfinite, into: model, path: "p.safetensors") { _ in false }, as: FileError.self) {
            XCTAssertTrue("\($0)".contains("tensor 'conv.weight' holds nan at element 0"), "\($0)")
        }
        XCTAssertEqual(try model.state.map { try $0.tensor.values() }, before, "a refused file changes nothing")
    }
}
