import HeedOpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedReference
import HeedTestSupport
import XCTest

final class BufferTests: XCTestCase {
    private func backends() throws -> [any Backend] {
        [TestDevices.reference, try TestDevices.requireOpenCL()]
    }

    func testRandomFloatsRoundTripBitForBit() throws {
        var random = SeededGenerator(seed: 7)
        // Every bit pattern class: random values, signed zeros, subnormals, extremes, NaN, ±∞.
        let values =
            random.uniform(1031, in: -1e30...1e30)
            + [0, -0.0, .leastNonzeroMagnitude, -.leastNormalMagnitude, .greatestFiniteMagnitude, .nan, .infinity, -.infinity]
        for backend in try backends() {
            let buffer = try backend.makeBuffer(values)
            let back = try backend.read(buffer, as: Float.self)
            XCTAssertEqual(back.map(\.bitPattern), values.map(\.bitPattern), backend.name)
        }
    }

    func testIntegersRoundTripAndFill() throws {
        let values: [Int32] = [0, 1, -1, .max, .min, 42, 7]
        for backend in try backends() {
            let buffer = try backend.makeBuffer(values)
            XCTAssertEqual(try backend.read(buffer, as: Int32.self), values, backend.name)
            try backend.fill(buffer, with: Int32(-5))
            XCTAssertEqual(try backend.read(buffer, as: Int32.self), Array(repeating: -5, count: 7), backend.name)
        }
    }

    func testFillWritesEveryElement() throws {
        for backend in try backends() {
            for count in [1, 3, 1025] {
                let buffer = try backend.makeBuffer(count: count, of: Float.self)
                try backend.fill(buffer, with: Float.nan)
                XCTAssertTrue(try backend.read(buffer, as: Float.self).allSatisfy(\.isNaN), backend.name)
                try backend.fill(buffer, with: Float(2.5))
                XCTAssertEqual(try backend.read(buffer, as: Float.self), Array(repeating: 2.5, count: count), backend.name)
            }
        }
    }

    func testEmptyBuffersAreValid() throws {
        for backend in try backends() {
            let buffer = try backend.makeBuffer(count: 0, of: Float.self)
            try backend.write([Float](), to: buffer)
            try backend.fill(buffer, with: Float(1))
            XCTAssertEqual(try backend.read(buffer, as: Float.self), [], backend.name)
        }
    }

    func testMismatchedTransfersAreErrors() throws {
        for backend in try backends() {
            let buffer = try backend.makeBuffer(count: 4, of: Float.self)
            assertThrows(try backend.write([Float](repeating: 0, count: 5), to: buffer), as: HeedError.self) {
                XCTAssertEqual($0, .shapeMismatch(op: "write", "5 values for a buffer of float32[4]"))
            }
            assertThrows(try backend.read(buffer, as: Int32.self), as: HeedError.self) {
                XCTAssertEqual($0, .invalidArgument(op: "read", "buffer holds float32, expected int32"))
            }
            assertThrows(try backend.makeBuffer(count: -1, of: Float.self), as: HeedError.self)
        }
    }

    func testBuffersOfAnotherBackendAreRefused() throws {
        let openCL = try TestDevices.requireOpenCL()
        let reference = TestDevices.reference
        let foreign = try reference.makeBuffer([Float(1)])
        assertThrows(try openCL.read(foreign, as: Float.self), as: HeedError.self) {
            XCTAssertEqual($0, .foreignBuffer(op: "read (source)", expected: "OpenCL"))
        }
        let d = GemmDescriptor(m: 1, n: 1, k: 1)
        let own = try openCL.makeBuffer([Float(1)])
        assertThrows(try openCL.gemm(d, a: own, b: foreign, c: own), as: HeedError.self) {
            XCTAssertEqual($0, .foreignBuffer(op: "gemm (B)", expected: "OpenCL"))
        }
        assertThrows(try reference.gemm(d, a: foreign, b: foreign, c: own), as: HeedError.self) {
            XCTAssertEqual($0, .foreignBuffer(op: "gemm (C)", expected: "reference"))
        }
    }
}
