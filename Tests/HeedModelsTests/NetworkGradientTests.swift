import HeedGraph
import HeedModels
import HeedOps
import HeedReference
import HeedTestSupport
import XCTest

/// The training loss `Network.trainingLoss` gives the Trainer, composed by the graph layer
/// (tensors, gradient rules, modules) and run whole in Double on the reference backend,
/// against central differences of the same loss.
///
/// Each check takes a random direction v (entries uniform in [−1, 1]) over one parameter
/// tensor, or over all of them, and compares ⟨∂L/∂p, v⟩ from `backward()` with
/// (L(p + h·v) − L(p − h·v)) / 2h; a wrong gradient anywhere in p moves the product.
///
/// Step and tolerance: h = 1e-6. The difference's rounding error is about ε·|L|/h ≈ 1e-10·|L|
/// (|L| is 1 to 3 here); its truncation error, h²/6·|d³L/dt³| along v, is below 1e-9 for
/// third derivatives up to 1e3. So a right gradient agrees within `1e-8 + 1e-6·|numeric|`,
/// and a rule wrong by a term does not: the smallest checked here is the regulariser's
/// share, which its weight of 10 puts near 1e-5.
///
/// The networks are tiny (WRN-10-1, 8×8 images, batch 3: more than 2, so that the output
/// gate's one-dimensional batch norm does not flatten its input to ±1), without dropout;
/// batch norm runs in training mode, as in training, which is deterministic.
final class NetworkGradientTests: XCTestCase {
    private let backend = ReferenceBackend(precision: .double)
    private let (batch, size, classes) = (3, 8, 3)
    private let trunk = WideResNetConfiguration(depth: 10, width: 1, classes: 3)

    // MARK: The attention network (docs/design.md §4)

    /// NLL of the gated mixture plus the head-separation regulariser, with respect to
    /// each module's attention head, an output head, a score head, the output gate and
    /// the classifier, and then every parameter at once.
    func testAttentionNetworkLossGradient() throws {
        let heads = ["att2", "att1", "att0"].map { "\($0).att_head.conv.weight" }
        try assertLossGradientMatches(
            attentionNetwork(gate: .softmax),
            parameters: heads + ["att1.out_head.conv.weight", "att0.score.conv.weight", "output_gate.gates.weight", "classifier.weight"],
            "softmax gate")
    }

    /// The same with the sigmoid gate, whose mixture weights are normalised sigmoids.
    func testAttentionNetworkLossGradientWithSigmoidGate() throws {
        try assertLossGradientMatches(
            attentionNetwork(gate: .sigmoid), parameters: ["att2.att_head.conv.weight", "output_gate.gates.weight"], "sigmoid gate")
    }

    /// A regulariser weight of 10 (the default is 0.001) makes the regulariser's share of
    /// the gradient large against the tolerance, so that a wrong rule for it would show.
    private func attentionNetwork(gate: AggregationGate) throws -> Network {
        try ModelConfiguration(
            backbone: .wideResNet(trunk), attention: AttentionConfiguration(depth: 3, width: 2, gate: gate, regularizerWeight: 10)
        ).makeModel(on: backend, seed: 7)
    }

    // MARK: Coarse2Fine (docs/design.md §5)

    /// NLL(coarse) + λ·NLL(fine) + regulariser with one head per module: the zoom
    /// weights the attended features by the gates as fixed weights (no gradient), and
    /// with one head the gate is exactly 1, so that choice is no approximation and the
    /// whole composed gradient, through θ, the affine grid and the sampler into the
    /// inverse mapping, the attention heads and the trunk, must match, every parameter's.
    func testCoarse2FineLossGradient() throws {
        try assertLossGradientMatches(
            coarse2Fine(heads: 1),
            parameters: [
                "inverse_mapping.weight", "inverse_mapping.bias", "att2.att_head.conv.weight", "att1.att_head.conv.weight",
                "att2.out_head.conv.weight", "conv0.weight",
            ], "Coarse2Fine, one head")
    }

    /// With two heads the gates vary, and the gradient deliberately leaves out their
    /// path through the zoom; the parameters the deepest module's gates do not depend
    /// on (the inverse mapping, the other modules' heads) still have the whole loss's
    /// exact gradient, now through a zoom that mixes two heads.
    func testCoarse2FineLossGradientWithTwoHeads() throws {
        try assertLossGradientMatches(
            coarse2Fine(heads: 2),
            parameters: ["inverse_mapping.weight", "inverse_mapping.bias", "att1.att_head.conv.weight", "att0.att_head.conv.weight"],
            checkingEveryParameter: false, "Coarse2Fine, two heads")
    }

    /// λ = 0.7 rather than 1, so that a rule that dropped the fine loss's weight would show.
    private func coarse2Fine(heads: Int) throws -> Network {
        try ModelConfiguration(
            backbone: .wideResNet(trunk),
            attention: AttentionConfiguration(depth: 3, width: heads, regularizerWeight: 10, orthogonalInitialization: true),
            coarse2fine: Coarse2FineConfiguration(fineStartEpoch: 0, fineWeight: 0.7)
        ).makeModel(on: backend, seed: 11)
    }

    // MARK: The check

    /// Checks ∂L/∂p of the training loss of `network` on a seeded batch, along a random
    /// direction of each named parameter p, and then along one of all the parameters at
    /// once unless `checkingEveryParameter` is false.
    private func assertLossGradientMatches(
        _ network: Network, parameters names: [String], checkingEveryParameter: Bool = true, _ label: String,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        var random = SeededGenerator(seed: 5)
        let images = try Tensor(
            (0..<batch * 3 * size * size).map { _ in Float.random(in: -1...1, using: &random) }, shape: [batch, 3, size, size],
            on: backend)
        let labels = try backend.makeBuffer((0..<batch).map { Int32($0 % classes) })
        network.train()
        network.startEpoch(0)
        func currentLoss() throws -> Double {
            try Tensor.withoutGradients { try backend.readDoubles(network.trainingLoss(images: images, labels: labels).loss.storage)[0] }
        }

        network.zeroGradients()
        try network.trainingLoss(images: images, labels: labels).loss.backward()
        let all = network.namedParameters
        let parameters = Dictionary(uniqueKeysWithValues: all)
        var checks: [(label: String, tensors: [Tensor])] = []
        for name in names {
            checks.append((name, [try XCTUnwrap(parameters[name], "\(label): no parameter \(name)", file: file, line: line)]))
        }
        if checkingEveryParameter { checks.append(("every parameter", all.map(\.tensor))) }

        let h = 1e-6
        for (index, check) in checks.enumerated() {
            let values = try check.tensors.map { try backend.readDoubles($0.storage) }
            let directions = values.enumerated().map { randomDoubles($1.count, seed: UInt64(100 * index + $0)) }
            var analytic = 0.0
            for (tensor, v) in zip(check.tensors, directions) {
                guard let gradient = tensor.gradient else { continue }  // none reached it: 0
                analytic += zip(try backend.readDoubles(gradient.storage), v).reduce(0) { $0 + $1.0 * $1.1 }
            }
            func loss(at step: Double) throws -> Double {
                for (tensor, (p, v)) in zip(check.tensors, zip(values, directions)) {
                    try backend.write(doubles: zip(p, v).map { $0 + step * $1 }, to: tensor.storage)
                }
                return try currentLoss()
            }
            let numeric = (try loss(at: h) - loss(at: -h)) / (2 * h)
            for (tensor, p) in zip(check.tensors, values) { try backend.write(doubles: p, to: tensor.storage) }
            let error = abs(analytic - numeric)
            XCTAssert(
                error <= 1e-8 + 1e-6 * abs(numeric),
                "\(label): ∂L/∂(\(check.label)) along a random direction: analytic \(analytic), numeric \(numeric), error \(error)",
                file: file, line: line)
        }
    }
}
