import HeedOpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedReference
import HeedTestSupport
import HeedVerify
import XCTest

final class LayoutTests: XCTestCase {
    func testOpenCLMatchesTheReference() throws {
        let device = try TestDevices.requireOpenCL()
        for op in ["insert_columns", "extract_columns"] {
            let cases = VerificationSuite.cases(matching: op)
            XCTAssertFalse(cases.isEmpty, op)
            for check in cases { assertPassed(try check.run(device, TestDevices.reference), "\(op) \(check.shape)") }
        }
    }

    /// Stacking two (2, 3) tensors into (2, 2, 3), worked by hand.
    func testStackingByInsertsAndBack() {
        var whole = [Float](repeating: 0, count: 12)
        Reference.insertColumns(
            ColumnBlockDescriptor(outer: 2, width: 3, wholeWidth: 6, offset: 0), part: [1, 2, 3, 4, 5, 6], whole: &whole)
        Reference.insertColumns(
            ColumnBlockDescriptor(outer: 2, width: 3, wholeWidth: 6, offset: 3), part: [7, 8, 9, 10, 11, 12], whole: &whole)
        XCTAssertEqual(whole, [1, 2, 3, 7, 8, 9, 4, 5, 6, 10, 11, 12])
        XCTAssertEqual(
            Reference.extractColumns(ColumnBlockDescriptor(outer: 2, width: 3, wholeWidth: 6, offset: 3), whole: whole),
            [7, 8, 9, 10, 11, 12])
    }

    func testBlocksOutsideTheRowsAreShapeErrorsOnBothBackends() throws {
        for backend in [TestDevices.reference, try TestDevices.requireOpenCL()] as [any Backend] {
            let part = try backend.makeBuffer(count: 6, of: Float.self)
            let whole = try backend.makeBuffer(count: 12, of: Float.self)
            assertThrows(
                try backend.insertColumns(ColumnBlockDescriptor(outer: 2, width: 3, wholeWidth: 6, offset: 4), part: part, whole: whole),
                as: HeedError.self
            ) {
                XCTAssertEqual($0, .shapeMismatch(op: "insert_columns", "columns 4..<7 of (2, 6) reaches past the 6 columns"))
            }
            assertThrows(
                try backend.extractColumns(ColumnBlockDescriptor(outer: 3, width: 3, wholeWidth: 6, offset: 0), whole: whole, part: part),
                as: HeedError.self
            ) {
                XCTAssertEqual(
                    $0, .shapeMismatch(op: "extract_columns", "whole (3, 6) needs 18 elements, buffer has 12, in columns 0..<3 of (3, 6)"))
            }
        }
    }
}
