import HeedVerify
import XCTest

final class ComparisonTests: XCTestCase {
    func testANaNAnywhereIsTheMaximumAndTheMinimum() {
        for position in 0..<4 {
            var values: [Double] = [1, -2, 3, 0.5]
            values[position] = .nan
            XCTAssertTrue(values.maxPropagatingNaN()!.isNaN, "NaN at \(position)")
            XCTAssertTrue(values.minPropagatingNaN()!.isNaN, "NaN at \(position)")
        }
        XCTAssertEqual([1, -2, 3, 0.5].maxPropagatingNaN(), 3)
        XCTAssertEqual([1, -2, 3, 0.5].minPropagatingNaN(), -2)
        XCTAssertNil([Float]().maxPropagatingNaN())
    }

    func testANaNAnywhereFailsTheComparison() {
        let reference: [Float] = [1, 2, 3, 4]
        for position in 0..<4 {
            var actual = reference
            actual[position] = .nan
            XCTAssertFalse(Comparison(actual: actual, expected: reference, tolerance: .exact).passed, "NaN at \(position)")
            XCTAssertFalse(Comparison(actual: reference, expected: actual, tolerance: .exact).passed, "NaN at \(position)")
        }
    }
}
