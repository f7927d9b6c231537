import HeedOps
import HeedReference
import HeedTestSupport
import HeedVerify
import XCTest

/// `ReferenceBackend(precision: .double)`: float32 buffers that hold Doubles, ops that
/// compute in Double, and host transfers that still take and give Floats.
final class ReferencePrecisionTests: XCTestCase {
    private let single = ReferenceBackend()
    private let double = ReferenceBackend(precision: .double)

    /// 1 + 1e-10 is 1 in Float: the double backend keeps the 1e-10 through an op, the
    /// single one does not.
    func testOpsComputeInTheBackendsPrecision() throws {
        let a = try double.makeBuffer(count: 1, of: Float.self)
        let b = try double.makeBuffer(count: 1, of: Float.self)
        let sum = try double.makeBuffer(count: 1, of: Float.self)
        try double.write(doubles: [1], to: a)
        try double.write(doubles: [1e-10], to: b)
        try double.add(count: 1, a: a, b: b, output: sum)
        XCTAssertEqual(try double.readDoubles(sum), [1 + 1e-10])
        XCTAssertEqual(try double.read(sum, as: Float.self), [1], "a host read rounds to Float")

        let (x, y, z) = (
            try single.makeBuffer([1] as [Float]), try single.makeBuffer([1e-10] as [Float]), try single.makeBuffer([.nan] as [Float])
        )
        try single.add(count: 1, a: x, b: y, output: z)
        XCTAssertEqual(try single.read(z, as: Float.self), [1])
    }

    /// A whole body in Double: the double backend's softmax equals `Reference.softmax` on
    /// the Doubles, bit for bit.
    func testABodyRunsTheReferenceFunctionInDouble() throws {
        let d = SoftmaxDescriptor(outer: 3, axis: 7)
        let x = randomDoubles(21, in: -3...3, seed: 4)
        let input = try double.makeBuffer(count: 21, of: Float.self)
        let output = try double.makeBuffer(count: 21, of: Float.self)
        try double.write(doubles: x, to: input)
        try double.softmaxForward(d, input: input, output: output)
        XCTAssertEqual(try double.readDoubles(output), Reference.softmax(d, x))
    }

    /// Every op of the table runs on the double backend: the first of `heed verify`'s cases
    /// of each op, with the double backend as the device and the single one as the
    /// reference, agrees within the op's float32 tolerance (computing in Double and rounding
    /// on read is at least as close to the exact result as float32 is).
    func testEveryOpPassesItsVerificationOnTheDoubleBackend() throws {
        var seen = Set<String>()
        let cases = VerificationSuite.cases().filter { seen.insert($0.op).inserted }
        XCTAssertEqual(seen, Set(OpTable.all.map(\.name)), "a case for every op")
        for check in cases {
            assertPassed(try check.run(double, single), "\(check.op) \(check.shape)")
        }
    }

    /// Floats written widen exactly; `fill` widens its value; unwritten elements are NaN.
    func testHostTransfersOfTheDoubleBackendTakeAndGiveFloats() throws {
        let values: [Float] = [0.1, -3, .greatestFiniteMagnitude]
        let buffer = try double.makeBuffer(values)
        XCTAssertEqual(try double.readDoubles(buffer), values.map(Double.init))
        XCTAssertEqual(try double.read(buffer, as: Float.self), values)
        try double.fill(buffer, with: Float(0.1))
        XCTAssertEqual(try double.readDoubles(buffer), [Double](repeating: Double(Float(0.1)), count: 3))
        XCTAssertTrue(try double.readDoubles(double.makeBuffer(count: 2, of: Float.self)).allSatisfy(\.isNaN))
        XCTAssertEqual(try single.readDoubles(single.makeBuffer(values)), values.map(Double.init), "a single buffer widens")
        let labels = try double.makeBuffer([3, -1] as [Int32])
        XCTAssertEqual(try double.read(labels, as: Int32.self), [3, -1], "int32 buffers are the same in both precisions")
    }

    /// Doubles go only into a double-precision buffer, and a count must match.
    func testWritingDoublesNeedsADoubleBufferOfTheRightCount() throws {
        assertThrows(try single.write(doubles: [1], to: single.makeBuffer(count: 1, of: Float.self)), as: HeedError.self) {
            XCTAssertEqual("\($0)", "write(doubles:): invalid argument: destination holds single precision: Doubles would be rounded")
        }
        assertThrows(try double.write(doubles: [1, 2], to: double.makeBuffer(count: 1, of: Float.self)), as: HeedError.self) {
            XCTAssertEqual("\($0)", "write(doubles:): shape mismatch: 2 values for a buffer of float32[1]")
        }
    }

    /// An op refuses a float32 buffer of the other precision, naming it, in both directions.
    func testAnOpRefusesABufferOfTheOtherPrecision() throws {
        for (backend, other) in [(double, single), (single, double)] {
            let a = try backend.makeBuffer([1] as [Float])
            let b = try other.makeBuffer([2] as [Float])
            let output = try backend.makeBuffer(count: 1, of: Float.self)
            assertThrows(try backend.add(count: 1, a: a, b: b, output: output), as: HeedError.self) {
                XCTAssertEqual(
                    "\($0)", "add: invalid argument: b holds \(other.precision) precision, the backend computes in \(backend.precision)")
            }
        }
    }
}
