import HeedData
import XCTest

@testable import HeedVisualization

final class TrainingCurvesTests: XCTestCase {
    private func count(_ colour: Colour, in image: RGBImage) -> Int {
        stride(from: 0, to: image.pixels.count, by: 3).filter {
            image.pixels[$0] == colour.red && image.pixels[$0 + 1] == colour.green && image.pixels[$0 + 2] == colour.blue
        }.count
    }

    /// Both series are drawn in both panels: the train colour and the test colour appear
    /// left and right of the middle; a falling loss runs from the top left down.
    func testDrawsTrainAndTestInBothPanels() {
        let epochs = (1...5).map {
            TrainingCurves.Epoch(
                epoch: $0, trainLoss: 2.0 / Double($0), testLoss: 2.2 / Double($0), trainAccuracy: 0.1 * Double($0),
                testAccuracy: 0.09 * Double($0))
        }
        let image = TrainingCurves.draw(epochs)
        XCTAssertEqual([image.width, image.height], [800, 280])
        let left = image.cropped(x: 0, y: 30, width: 400, height: 250)
        let right = image.cropped(x: 400, y: 30, width: 400, height: 250)
        for panel in [left, right] {
            XCTAssertGreaterThan(count(TrainingCurves.trainColour, in: panel), 100)
            XCTAssertGreaterThan(count(TrainingCurves.testColour, in: panel), 100)
        }
        // The first loss point is the highest value: at the plot's top-left corner (x 60, y 38).
        let corner = left.cropped(x: 56, y: 4, width: 10, height: 10)
        XCTAssertGreaterThan(count(TrainingCurves.trainColour, in: corner) + count(TrainingCurves.testColour, in: corner), 0)
    }

    /// One epoch, and a diverged epoch's NaN, still draw (the NaN point is left out).
    func testOneEpochAndNonFiniteValuesDraw() {
        let one = TrainingCurves.draw([TrainingCurves.Epoch(epoch: 1, trainLoss: 1, testLoss: 1, trainAccuracy: 0.5, testAccuracy: 0.5)])
        XCTAssertGreaterThan(count(TrainingCurves.testColour, in: one), 40)
        let diverged = TrainingCurves.draw([
            TrainingCurves.Epoch(epoch: 1, trainLoss: 1, testLoss: 1, trainAccuracy: 0.5, testAccuracy: 0.5),
            TrainingCurves.Epoch(epoch: 2, trainLoss: .nan, testLoss: .infinity, trainAccuracy: 0.5, testAccuracy: 0.5),
        ])
        XCTAssertEqual(diverged.width, 800)
    }
}
