import HeedVisualization
import XCTest

final class ColorMapTests: XCTestCase {
    func testEndpointsAreViridisPurpleAndYellow() {
        XCTAssertEqual(ColorMap.viridis.colour(at: 0), Colour(red: 68, green: 1, blue: 84), "#440154")
        XCTAssertEqual(ColorMap.viridis.colour(at: 1), Colour(red: 253, green: 231, blue: 37), "#fde725")
        XCTAssertEqual(ColorMap.viridis.colour(at: -3), ColorMap.viridis.colour(at: 0), "clamped below")
        XCTAssertEqual(ColorMap.viridis.colour(at: 7), ColorMap.viridis.colour(at: 1), "clamped above")
        XCTAssertEqual(ColorMap.viridis.colour(at: .nan), ColorMap.viridis.colour(at: 0))
    }

    func testLuminanceRisesMonotonically() {
        // Relative luminance (sRGB decoded to linear light, Rec. 709 weights).
        func luminance(_ colour: Colour) -> Double {
            let linear = [colour.red, colour.green, colour.blue].map { byte -> Double in
                let v = Double(byte) / 255
                return v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4)
            }
            return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
        }
        let fine = (0...255).map { luminance(ColorMap.viridis.colour(at: Float($0) / 255)) }
        // Neighbouring shades may dip by less than one 8-bit level of green from rounding.
        for i in 1..<fine.count { XCTAssertGreaterThan(fine[i], fine[i - 1] - 0.7152 * 0.003, "step \(i)") }
        let coarse = (0...16).map { luminance(ColorMap.viridis.colour(at: Float($0) / 16)) }
        for i in 1..<coarse.count { XCTAssertGreaterThan(coarse[i], coarse[i - 1], "sixteenth \(i)") }
    }
}
