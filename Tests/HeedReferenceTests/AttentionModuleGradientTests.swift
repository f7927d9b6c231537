import HeedOps
import HeedReference
import HeedTestSupport
import XCTest

/// The whole attention module of docs/design.md §4, composed from the reference ops in Double,
/// against central differences: with Z (B, C, h, w) and head weights Wa, Wo, Ws,
///
///     M = softmax_s conv(Z, Wa);  o = Σ_s conv(Z, Wo)·M;  out = Σ_k softmax_k tanh(Σ_s conv(Z, Ws)·M)·o
///     L = Σ out·u + λ·R(M)        (u random, R the head-separation regulariser)
///
/// and a backward chained here by hand from each op's reference backward (the two gradients
/// reaching M added), for ∂L/∂Z, ∂L/∂Wa, ∂L/∂Wo, ∂L/∂Ws. The graph layer's own composition
/// of the whole network's loss is checked in HeedModelsTests (`NetworkGradientTests`).
final class AttentionModuleGradientTests: XCTestCase {
    let (batch, channels, height, width, heads, classes) = (2, 3, 4, 5, 2, 3)
    /// Large, so that the regulariser's share of ∂L/∂M (R is ~1e-4 for masks this
    /// flat) is far above the check's tolerance and a wrong dR would show.
    let lambda = 500.0

    private func descriptor(_ outChannels: Int) -> Conv2dDescriptor {
        Conv2dDescriptor(
            batch: batch, inChannels: channels, outChannels: outChannels, height: height, width: width,
            kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 1)
    }

    private var positions: Int { height * width }
    private var attention: AttentionDescriptor { AttentionDescriptor(batch: batch, heads: heads, classes: classes, positions: positions) }
    private var spatial: SoftmaxDescriptor { SoftmaxDescriptor(outer: batch * heads, axis: positions) }
    private var separation: HeadSeparationDescriptor { HeadSeparationDescriptor(batch: batch, heads: heads, height: height, width: width) }

    /// out (B·L values) followed by R, so one upstream vector covers both.
    private func forward(_ z: [Double], _ wa: [Double], _ wo: [Double], _ ws: [Double]) -> [Double] {
        let mask = Reference.softmax(spatial, Reference.conv2dForward(descriptor(heads), input: z, weight: wa, bias: nil))
        let values = Reference.conv2dForward(descriptor(heads * classes), input: z, weight: wo, bias: nil)
        let scores = Reference.conv2dForward(descriptor(heads), input: z, weight: ws, bias: nil)
        let headOutputs = Reference.attendedSum(attention, values: values, mask: mask)
        let output = Reference.attentionGates(attention, scores: scores, mask: mask, headOutputs: headOutputs).output
        return output + [lambda * Reference.headSeparation(separation, masks: mask).loss]
    }

    private func backward(
        _ z: [Double], _ wa: [Double], _ wo: [Double], _ ws: [Double], _ upstream: [Double]
    )
        -> (z: [Double], wa: [Double], wo: [Double], ws: [Double])
    {
        let logits = Reference.conv2dForward(descriptor(heads), input: z, weight: wa, bias: nil)
        let mask = Reference.softmax(spatial, logits)
        let values = Reference.conv2dForward(descriptor(heads * classes), input: z, weight: wo, bias: nil)
        let scores = Reference.conv2dForward(descriptor(heads), input: z, weight: ws, bias: nil)
        let headOutputs = Reference.attendedSum(attention, values: values, mask: mask)
        let dOutput = Array(upstream.dropLast())
        let gates = Reference.attentionGatesBackward(
            attention, scores: scores, mask: mask, headOutputs: headOutputs, outputGradient: dOutput)
        let sum = Reference.attendedSumBackward(attention, values: values, mask: mask, outputGradient: gates.headOutputs)
        let (gram, _) = Reference.headSeparation(separation, masks: mask)
        let dR = Reference.headSeparationBackward(separation, masks: mask, gram: gram, lossGradient: lambda * upstream.last!)
        let dMask = zip(zip(gates.mask, sum.mask), dR).map { $0.0 + $0.1 + $1 }
        let dLogits = Reference.softmaxBackward(spatial, output: mask, outputGradient: dMask)
        func input(_ d: Conv2dDescriptor, _ dy: [Double], _ w: [Double]) -> [Double] {
            Reference.conv2dBackwardInput(d, outputGradient: dy, weight: w)
        }
        let dz = zip(
            zip(input(descriptor(heads), dLogits, wa), input(descriptor(heads * classes), sum.values, wo)),
            input(descriptor(heads), gates.scores, ws)
        ).map { $0.0 + $0.1 + $1 }
        return (
            dz,
            Reference.conv2dBackwardWeight(descriptor(heads), input: z, outputGradient: dLogits),
            Reference.conv2dBackwardWeight(descriptor(heads * classes), input: z, outputGradient: sum.values),
            Reference.conv2dBackwardWeight(descriptor(heads), input: z, outputGradient: gates.scores)
        )
    }

    func testWholeModuleGradients() throws {
        let z = randomDoubles(batch * channels * positions, seed: 1)
        let wa = randomDoubles(heads * channels * 9, in: -0.5...0.5, seed: 2)
        let wo = randomDoubles(heads * classes * channels * 9, in: -0.5...0.5, seed: 3)
        let ws = randomDoubles(heads * channels * 9, in: -0.5...0.5, seed: 4)
        try assertGradientMatches(at: z, forward: { forward($0, wa, wo, ws) }, backward: { backward(z, wa, wo, ws, $0).z }, "∂L/∂Z")
        try assertGradientMatches(at: wa, forward: { forward(z, $0, wo, ws) }, backward: { backward(z, wa, wo, ws, $0).wa }, "∂L/∂Wa")
        try assertGradientMatches(at: wo, forward: { forward(z, wa, $0, ws) }, backward: { backward(z, wa, wo, ws, $0).wo }, "∂L/∂Wo")
        try assertGradientMatches(at: ws, forward: { forward(z, wa, wo, $0) }, backward: { backward(z, wa, wo, ws, $0).ws }, "∂L/∂Ws")
    }
}
