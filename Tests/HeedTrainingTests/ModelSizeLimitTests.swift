import HeedGraph
import HeedModels
import HeedOps
import HeedTestSupport
import XCTest

/// Model sizes read from a file's metadata (ISSUE 15) are checked before anything is
/// built: none of these tests allocates the network it describes.
final class ModelSizeLimitTests: XCTestCase {
    private func problem(_ metadata: [String: String]) -> String? {
        do {
            _ = try ModelConfiguration(metadata: metadata)
            return nil
        } catch {
            return "\(error)"
        }
    }

    private let small = ["depth": "10", "width": "1", "classes": "10"]

    func testSizesOverTheirLimitsAreNamed() {
        func limited(_ key: String, _ value: String) -> String? { problem(small.merging([key: value]) { $1 }) }
        XCTAssertEqual(
            limited("width", "100000"),
            "metadata gives an invalid model: WideResNet: invalid argument: width 100000 is more than the limit of 1024")
        XCTAssertEqual(
            limited("classes", String(1 << 62)),
            "metadata gives an invalid model: WideResNet: invalid argument: classes \(1 << 62) is more than the limit of 1048576")
        XCTAssertEqual(
            limited("depth", "600004"),
            "metadata gives an invalid model: WideResNet: invalid argument: depth 600004 is more than the limit of 1000")
        XCTAssertEqual(
            problem(small.merging(["attention_depth": "3", "attention_width": String(Int.max), "attention_gate": "softmax"]) { $1 }),
            "metadata gives an invalid model: attention: invalid argument: attention width \(Int.max) is more than the limit of 1024")
    }

    /// Sizes each within its limit can still make too many weights together.
    func testTheWeightCountIsCapped() {
        XCTAssertEqual(
            problem(["depth": "1000", "width": "1024", "classes": "1048576"]),
            "metadata gives an invalid model: model: invalid argument: WRN-1000-1024 has more than 2147483648 weights "
                + "(depth, width, classes or attention width too large)")
        XCTAssertNil(problem(["depth": "28", "width": "10", "classes": "100"]))
    }

    /// `weightCount` is the network's parameters of rank 2 and more (convolution and linear weights).
    func testTheWeightCountIsThatOfTheBuiltNetwork() throws {
        let trunk = WideResNetConfiguration(depth: 16, width: 2, classes: 5)
        for configuration in [
            ModelConfiguration(backbone: .wideResNet(WideResNetConfiguration(depth: 10, width: 1, classes: 10))),
            ModelConfiguration(backbone: .wideResNet(trunk), attention: AttentionConfiguration(depth: 3, width: 2)),
            ModelConfiguration(
                backbone: .wideResNet(trunk), attention: AttentionConfiguration(depth: 2, width: 3), coarse2fine: Coarse2FineConfiguration()
            ),
        ] {
            let network = try configuration.makeModel(on: TestDevices.reference, seed: 1)
            let weights = network.namedParameters.filter { $0.tensor.shape.count >= 2 }.reduce(0) { $0 + $1.tensor.shape.reduce(1, *) }
            XCTAssertEqual(configuration.weightCount, weights, "\(configuration)")
        }
    }
}
