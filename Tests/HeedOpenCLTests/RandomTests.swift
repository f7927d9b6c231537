import HeedOpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedReference
import HeedTestSupport
import HeedVerify
import XCTest

final class RandomTests: XCTestCase {
    /// Random123's known-answer vectors for Philox-2x32-10 (`kat_vectors`: counter,
    /// key → output), the same three for Swift and OpenCL.
    static let knownAnswers: [(counter: (UInt32, UInt32), key: UInt32, output: (UInt32, UInt32))] = [
        ((0x0000_0000, 0x0000_0000), 0x0000_0000, (0xff1d_ae59, 0x6cd1_0df2)),
        ((0xffff_ffff, 0xffff_ffff), 0xffff_ffff, (0x2c3f_628b, 0xab4f_d7ad)),
        ((0x243f_6a88, 0x85a3_08d3), 0x1319_8a2e, (0xdd7c_e038, 0xf62a_4c12)),
    ]

    func testPhiloxMatchesTheKnownAnswersInSwift() {
        for vector in Self.knownAnswers {
            let output = Philox.block(counter: vector.counter, key: vector.key)
            XCTAssertEqual([output.0, output.1], [vector.output.0, vector.output.1])
        }
    }

    func testPhiloxMatchesTheKnownAnswersInOpenCL() throws {
        let device = try TestDevices.requireOpenCL()
        func ints(_ values: [UInt32]) -> [Int32] { values.map { Int32(bitPattern: $0) } }
        let counters = try device.makeBuffer(ints(Self.knownAnswers.flatMap { [$0.counter.0, $0.counter.1] }))
        let keys = try device.makeBuffer(ints(Self.knownAnswers.map(\.key)))
        let output = try device.makeBuffer(count: 2 * Self.knownAnswers.count, of: Int32.self)
        try device.launch(
            family: "random", kernel: "philox_block", global: [Self.knownAnswers.count],
            arguments: [.buffer(counters), .buffer(keys), .buffer(output), .int(Int32(Self.knownAnswers.count))])
        XCTAssertEqual(
            try device.read(output, as: Int32.self),
            ints(Self.knownAnswers.flatMap { [$0.output.0, $0.output.1] }))
    }

    /// Dropout and dropout2d at p ∈ {0, 0.1, 0.5, 1}: masks and outputs bit-identical.
    func testOpenCLMatchesTheReference() throws {
        let device = try TestDevices.requireOpenCL()
        let cases = VerificationSuite.cases(matching: "dropout") + VerificationSuite.cases(matching: "dropout2d")
        XCTAssertEqual(cases.count, 56)
        for check in cases {
            assertPassed(try check.run(device, TestDevices.reference), "\(check.op) \(check.shape)")
        }
    }

    /// On 200 003 elements at p = 0.3 the kept count is Binomial(n, 0.7): within 6 standard
    /// deviations (√(n·0.21) ≈ 205) of 0.7·n; every kept value is x/(1 − p) and the
    /// OpenCL mask equals the reference's bit for bit.
    func testKeptFractionAndScale() throws {
        let device = try TestDevices.requireOpenCL()
        let n = 200_003
        let d = DropoutDescriptor(count: n, probability: 0.3, seed: 42, step: 3)
        let ones = try device.makeBuffer([Float](repeating: 1, count: n))
        let output = try device.makeBuffer(count: n, of: Float.self)
        try device.dropoutForward(d, input: ones, output: output)
        let mask = try device.read(output, as: Float.self)
        XCTAssertEqual(mask, Reference.dropoutMask(d))
        let kept = mask.filter { $0 != 0 }
        XCTAssertTrue(kept.allSatisfy { $0 == Float(1 / 0.7 as Double) })
        let sigma = (Double(n) * 0.7 * 0.3).squareRoot()
        XCTAssertLessThan(abs(Double(kept.count) - 0.7 * Double(n)), 6 * sigma, "\(kept.count) of \(n) kept")
    }

    /// dropout2d keeps or drops each (n, c) channel whole, about 1 − p of them (3 000
    /// channels at p = 0.5: within 6·√750 ≈ 164 of 1 500).
    func testDropout2dDropsWholeChannels() throws {
        let device = try TestDevices.requireOpenCL()
        let (batch, channels, spatial) = (30, 100, 49)
        let d = DropoutDescriptor.dropout2d(batch: batch, channels: channels, spatial: spatial, probability: 0.5, seed: 7, step: 0)
        let ones = try device.makeBuffer([Float](repeating: 1, count: d.count))
        try device.dropoutForward(d, input: ones, output: ones)  // in place
        let mask = try device.read(ones, as: Float.self)
        var keptChannels = 0
        for channel in 0..<(batch * channels) {
            let values = Set(mask[(channel * spatial)..<((channel + 1) * spatial)])
            XCTAssertEqual(values.count, 1, "channel \(channel) is partly dropped")
            if values.first != 0 { keptChannels += 1 }
        }
        XCTAssertLessThan(abs(Double(keptChannels) - 1500), 6 * 750.0.squareRoot(), "\(keptChannels) channels kept")
    }

    /// The backward regenerates the forward's mask from (seed, step); another step draws
    /// another mask.
    func testBackwardReusesTheMaskAndStepsDiffer() throws {
        let device = try TestDevices.requireOpenCL()
        let d = DropoutDescriptor(count: 1031, probability: 0.5, seed: 5, step: 11)
        let ones = try device.makeBuffer([Float](repeating: 1, count: d.count))
        let forward = try device.makeBuffer(count: d.count, of: Float.self)
        let backward = try device.makeBuffer(count: d.count, of: Float.self)
        try device.dropoutForward(d, input: ones, output: forward)
        try device.dropoutBackward(d, outputGradient: ones, inputGradient: backward)
        XCTAssertEqual(try device.read(forward, as: Float.self), try device.read(backward, as: Float.self))
        var next = d
        next.step += 1
        try device.dropoutForward(next, input: ones, output: backward)
        XCTAssertNotEqual(try device.read(forward, as: Float.self), try device.read(backward, as: Float.self))
    }

    func testBadShapesAreErrorsNamingTheOpAndShapes() throws {
        for backend in [TestDevices.reference, try TestDevices.requireOpenCL()] as [any Backend] {
            let ten = try backend.makeBuffer(count: 10, of: Float.self)
            let twelve = try backend.makeBuffer(count: 12, of: Float.self)
            let d = DropoutDescriptor(count: 10, probability: 0.5, seed: 1, step: 2)
            assertThrows(try backend.dropoutForward(d, input: ten, output: twelve), as: HeedError.self) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "dropout",
                        "output (10) needs 10 elements, buffer has 12, in dropout(count=10, elementsPerDraw=1, p=0.5, seed=1, step=2)"))
            }
            let d2 = DropoutDescriptor.dropout2d(batch: 2, channels: 2, spatial: 3, probability: 0.5, seed: 1, step: 2)
            assertThrows(try backend.dropoutBackward(d2, outputGradient: ten, inputGradient: twelve), as: HeedError.self) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "dropout2d",
                        "output gradient (12) needs 12 elements, buffer has 10, in dropout2d(count=12, elementsPerDraw=3, p=0.5, seed=1, step=2)"
                    ))
            }
            let bad = DropoutDescriptor(count: 10, probability: 1.5, seed: 1, step: 2)
            assertThrows(try backend.dropoutForward(bad, input: ten, output: ten), as: HeedError.self) {
                XCTAssertEqual(
                    $0,
                    .invalidArgument(
                        op: "dropout",
                        "probability must be in [0, 1], in dropout(count=10, elementsPerDraw=1, p=1.5, seed=1, step=2)"))
            }
        }
    }
}
