import HeedGraph
import HeedModels
import HeedOps
import HeedTestSupport
import XCTest

/// What one attention module (docs/design.md §4) keeps for backward, from its shapes.
final class AttentionModuleMemoryTests: XCTestCase {
    /// On Z (B, C, h, w) with K heads and L classes, S = h·w, the module's rules read: Z
    /// and the stacked head weights ((K + K·L + K), C, 3, 3) for its one convolution; the
    /// masks (B, K, S), the softmax's output, which the softmax, the attended sum and the
    /// gates all read; the values (B, K, L, S) for the attended sum; the scores (B, K, S)
    /// and the head outputs (B, K, L) for the gates. Not the convolution's output
    /// (B, K·L + 2K, S), of which the values and scores are copies. 4 bytes per element.
    func testAttentionModuleSavesWhatItsRulesRead() throws {
        let backend = TestDevices.reference
        let (b, c, h, w, heads, classes) = (2, 6, 5, 4, 3, 4)
        let s = h * w
        var random = SeededGenerator(seed: 9)
        let module = try AttentionModule(channels: c, classes: classes, heads: heads, orthogonal: false, on: backend, random: &random)
        let z = try Tensor((0..<b * c * s).map { _ in Float.random(in: -1...1, using: &random) }, shape: [b, c, h, w], on: backend)
        let result = try module(z)
        let stackedWeights = (heads + heads * classes + heads) * c * 9
        let masks = b * heads * s
        let values = b * heads * classes * s
        let scores = b * heads * s
        let headOutputs = b * heads * classes
        XCTAssertEqual(result.output.bytesSavedForBackward, 4 * (b * c * s + stackedWeights + masks + values + scores + headOutputs))
    }
}
