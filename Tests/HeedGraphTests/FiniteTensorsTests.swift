import HeedGraph
import XCTest

final class FiniteTensorsTests: XCTestCase {
    func testTheFirstNonFiniteTensorIsNamed() throws {
        var file = SafeTensors(tensors: ["a": .init(shape: [2], floats: [1, 2]), "steps": .init(shape: [], int64s: [3])])
        XCTAssertNoThrow(try file.requireFinite(path: "x.safetensors"))
        file.tensors["c"] = .init(shape: [3], floats: [0, 1, .infinity])
        file.tensors["b"] = .init(shape: [3], floats: [0, .nan, 1])
        XCTAssertThrowsError(try file.requireFinite(path: "x.safetensors")) {
            XCTAssertEqual($0 as? NonFiniteTensorError, NonFiniteTensorError(path: "x.safetensors", tensor: "b"))
            XCTAssertEqual("\($0)", "x.safetensors: not written: tensor 'b' holds NaN or infinity")
        }
    }
}
