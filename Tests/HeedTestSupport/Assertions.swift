import HeedVerify
import XCTest

/// Fails the test with the comparison's first bad element when it did not pass.
public func assertPassed(
    _ comparison: Comparison, _ label: @autoclosure () -> String,
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssert(
        comparison.passed,
        "\(label()): \(comparison.firstFailure ?? "") (tolerance \(comparison.tolerance))",
        file: file, line: line)
}

/// Asserts that `body` throws an error of type `E` and hands it to `check`.
public func assertThrows<E: Error, T>(
    _ body: @autoclosure () throws -> T, as errorType: E.Type,
    file: StaticString = #filePath, line: UInt = #line, _ check: (E) -> Void = { _ in }
) {
    do {
        _ = try body()
        XCTFail("expected \(E.self) to be thrown", file: file, line: line)
    } catch let error as E {
        check(error)
    } catch {
        XCTFail("expected \(E.self), got \(type(of: error)): \(error)", file: file, line: line)
    }
}
