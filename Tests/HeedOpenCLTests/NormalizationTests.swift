import HeedOpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedReference
import HeedTestSupport
import HeedVerify
import XCTest

final class NormalizationTests: XCTestCase {
    /// Training forward (with the in-place running-statistics update), inference forward
    /// and backward, 2-d and 1-d, M from 2 to 1292, against the reference.
    func testOpenCLMatchesTheReference() throws {
        let device = try TestDevices.requireOpenCL()
        let cases = VerificationSuite.cases(matching: "batch_norm")
        XCTAssertEqual(cases.count, 24)  // 8 shapes, 3 directions
        for check in cases {
            assertPassed(try check.run(device, TestDevices.reference), "\(check.op) \(check.shape)")
        }
    }

    /// PyTorch's semantics on one channel worked by hand: x = [1, 2, 3, 4] has mean 2.5,
    /// biased variance 1.25 (used to normalise) and unbiased variance 5/3 (the running one).
    func testReferenceFollowsPyTorchSemantics() {
        let d = BatchNormDescriptor(batch: 2, channels: 1, spatial: 2)
        var runningMean: [Double] = [0]
        var runningVariance: [Double] = [1]
        let result = Reference.batchNormForwardTraining(
            d, input: [1, 2, 3, 4], weight: [2], bias: [0.5],
            runningMean: &runningMean, runningVariance: &runningVariance)
        let inverseStd = 1 / (1.25 + 1e-5 as Double).squareRoot()
        XCTAssertEqual(result.savedMean, [2.5])
        XCTAssertEqual(result.savedInverseStd[0], inverseStd, accuracy: 1e-12)
        XCTAssertEqual(runningMean[0], 0.25, accuracy: 1e-7)  // 0.9·0 + 0.1·2.5
        XCTAssertEqual(runningVariance[0], 0.9 + 0.1 * 5 / 3, accuracy: 1e-7)  // unbiased
        for (y, x) in zip(result.output, [1.0, 2, 3, 4]) {
            XCTAssertEqual(y, (x - 2.5) * inverseStd * 2 + 0.5, accuracy: 1e-12)
        }
        let inference = Reference.batchNormForwardInference(
            d, input: [1, 2, 3, 4], weight: [2], bias: [0.5],
            runningMean: [1], runningVariance: [4 - 1e-5])
        for (y, x) in zip(inference, [1.0, 2, 3, 4]) { XCTAssertEqual(y, (x - 1) / 2 * 2 + 0.5, accuracy: 1e-6) }
    }

    /// Channel c of an (N, C, S) tensor is strided: channel 1 of N = 2, C = 2, S = 1 is
    /// elements 1 and 3, so its statistics must not mix in channel 0.
    func testChannelsAreIndependent() throws {
        let d = BatchNormDescriptor(batch: 2, channels: 2, spatial: 1)
        var runningMean: [Double] = [0, 0]
        var runningVariance: [Double] = [1, 1]
        let result = Reference.batchNormForwardTraining(
            d, input: [0, 10, 2, 30], weight: [1, 1], bias: [0, 0],
            runningMean: &runningMean, runningVariance: &runningVariance)
        XCTAssertEqual(result.savedMean, [1, 20])
    }

    func testBadShapesAreErrorsNamingTheOpAndShapes() throws {
        for backend in [TestDevices.reference, try TestDevices.requireOpenCL()] as [any Backend] {
            let d = BatchNormDescriptor(batch: 2, channels: 3, spatial: 5)
            let full = try backend.makeBuffer(count: 30, of: Float.self)
            let channel = try backend.makeBuffer(count: 3, of: Float.self)
            let wrong = try backend.makeBuffer(count: 4, of: Float.self)
            assertThrows(
                try backend.batchNormForwardTraining(
                    d, input: full, weight: channel, bias: wrong,
                    runningMean: channel, runningVariance: channel, output: full,
                    savedMean: channel, savedInverseStd: channel),
                as: HeedError.self
            ) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "batch_norm",
                        "bias (3) needs 3 elements, buffer has 4, in batch_norm(N=2, C=3, S=5, eps=1e-05, momentum=0.1)"))
            }
            assertThrows(
                try backend.batchNormBackward(
                    d, input: full, outputGradient: channel, weight: channel,
                    savedMean: channel, savedInverseStd: channel, inputGradient: full,
                    weightGradient: channel, biasGradient: channel),
                as: HeedError.self
            ) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "batch_norm",
                        "output gradient (2, 3, 5) needs 30 elements, buffer has 3, in batch_norm(N=2, C=3, S=5, eps=1e-05, momentum=0.1)"))
            }
            assertThrows(
                try backend.batchNormForwardInference(
                    d, input: wrong, weight: channel, bias: channel,
                    runningMean: channel, runningVariance: channel, output: full),
                as: HeedError.self
            ) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "batch_norm",
                        "input (2, 3, 5) needs 30 elements, buffer has 4, in batch_norm(N=2, C=3, S=5, eps=1e-05, momentum=0.1)"))
            }
            let single = BatchNormDescriptor(batch: 1, channels: 3)
            assertThrows(
                try backend.batchNormForwardTraining(
                    single, input: channel, weight: channel, bias: channel,
                    runningMean: channel, runningVariance: channel, output: channel,
                    savedMean: channel, savedInverseStd: channel),
                as: HeedError.self
            ) {
                XCTAssertEqual(
                    $0,
                    .invalidArgument(
                        op: "batch_norm",
                        "training needs more than 1 value per channel, batch_norm(N=1, C=3, S=1, eps=1e-05, momentum=0.1) has 1"))
            }
        }
    }
}
