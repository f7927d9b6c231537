import HeedData
import XCTest

final class NormalizationStatisticsTests: XCTestCase {
    /// Rounding makes the measured variance of some constant channels slightly negative;
    /// every constant channel must get the floor, never NaN.
    func testConstantChannelsGetTheFloorStd() {
        let (height, width, count) = (8, 8, 3)
        for value in 0...255 {
            var pixels: [UInt8] = []
            for image in 0..<count {
                pixels += [UInt8](repeating: UInt8(value), count: height * width)
                pixels += (0..<height * width).map { UInt8(truncatingIfNeeded: $0 * 7 + image) }
            }
            let dataset = ImageDataset(
                name: "constant", classNames: ["a"], channels: 2, height: height, width: width, pixels: pixels,
                labels: [Int32](repeating: 0, count: count))
            let normalization = Normalization.measured(on: dataset)
            XCTAssertEqual(normalization.std[0], Float(Normalization.minimumStd), "constant \(value)")
            XCTAssertEqual(normalization.mean[0], Float(Double(value) / 255), accuracy: 1e-6, "constant \(value)")
            XCTAssertGreaterThan(normalization.std[1], 0.1, "constant \(value)")
        }
    }
}
