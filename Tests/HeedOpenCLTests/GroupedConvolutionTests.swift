import HeedGraph
import HeedOpenCLTestSupport
import HeedOps
import HeedTestSupport
import HeedVerify
import XCTest

final class GroupedConvolutionTests: XCTestCase {
    /// The cases `heed verify --op grouped_conv2d` runs: 1, 2, 3, 32 groups and depthwise,
    /// every direction, NaN-poisoned outputs; exact on integers, else within γₙ·Σ|terms|.
    func testOpenCLMatchesTheReference() throws {
        let device = try TestDevices.requireOpenCL()
        let cases = VerificationSuite.cases(matching: "grouped_conv2d")
        XCTAssertEqual(cases.count, 42)
        for check in cases {
            assertPassed(try check.run(device, TestDevices.reference), "\(check.op) \(check.shape)")
        }
    }

    /// The graph layer's grouped convolution and its gradients agree across backends.
    func testTensorGradientsAgreeAcrossBackends() throws {
        let device = try TestDevices.requireOpenCL()
        var random = SeededGenerator(seed: 5)
        let (x, w, b) = (random.integers(2 * 6 * 5 * 5), random.integers(4 * 3 * 3 * 3), random.integers(4))
        func gradients(on backend: any Backend) throws -> [[Float]] {
            let input = try Tensor(parameter: x, shape: [2, 6, 5, 5], on: backend)
            let weight = try Tensor(parameter: w, shape: [4, 3, 3, 3], on: backend)
            let bias = try Tensor(parameter: b, shape: [4], on: backend)
            let output = try input.groupedConv2d(weight: weight, bias: bias, stride: 2, padding: 1, groups: 2)
            try output.multiplying(output).sum().backward()
            return try [output.values()] + [input, weight, bias].map { try $0.gradient!.values() }
        }
        XCTAssertEqual(try gradients(on: device), try gradients(on: TestDevices.reference), "integer inputs: exact")
    }
}
