import HeedOps
import HeedReference
import HeedTestSupport
import HeedVerify
import XCTest

/// The grouped convolution's reference against PyTorch's `conv2d(…, groups:)`
/// (Tests/Fixtures/pytorch/grouped_conv2d.json): 2 groups at stride 2, depthwise,
/// depthwise ×2 with a 5×3 kernel at stride 3, and 32 groups, every direction.
final class GroupedConvolutionGoldenTests: XCTestCase {
    /// Both sides compute in Double from the same float32 inputs and round once to
    /// float32, so they differ by at most one ulp, plus 1e-12 of the largest value for
    /// Double sums that cancel to almost nothing.
    private func assertOneULP(
        _ actual: [Double], _ expected: FixtureTensor, _ label: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let tolerance = Tolerance(atol: 1e-12 * Double(expected.values.map(abs).maxPropagatingNaN() ?? 0), rtol: 0x1p-23)
        assertPassed(
            Comparison(actual: actual.map { Float($0) }, expected: expected.values, tolerance: tolerance),
            label, file: file, line: line)
    }

    func testReferenceMatchesPyTorch() throws {
        let cases = try PyTorchFixture.load("grouped_conv2d").cases
        XCTAssertEqual(cases.count, 4)
        for item in cases {
            let (x, w, b) = (try item.tensor("input"), try item.tensor("weight"), try item.tensor("bias"))
            let d = try GroupedConv2dDescriptor(
                input: x.shape, weight: w.shape, stride: try item.intSetting("stride"),
                padding: try item.intSetting("padding"), groups: try item.intSetting("groups"))
            XCTAssertEqual(d.outputShape, try item.tensor("output").shape, item.name)
            let double = { (values: [Float]) in values.map(Double.init) }
            let dy = double(try item.tensor("grad_output").values)
            assertOneULP(
                Reference.groupedConv2dForward(d, input: double(x.values), weight: double(w.values), bias: double(b.values)),
                try item.tensor("output"), "\(item.name) output")
            assertOneULP(
                Reference.groupedConv2dBackwardInput(d, outputGradient: dy, weight: double(w.values)),
                try item.tensor("grad_input"), "\(item.name) grad_input")
            assertOneULP(
                Reference.groupedConv2dBackwardWeight(d, input: double(x.values), outputGradient: dy),
                try item.tensor("grad_weight"), "\(item.name) grad_weight")
            assertOneULP(
                Reference.conv2dBackwardBias(d.sameOutput, outputGradient: dy), try item.tensor("grad_bias"),
                "\(item.name) grad_bias")
        }
    }
}
