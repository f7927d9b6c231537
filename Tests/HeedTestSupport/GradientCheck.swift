import HeedOps
import XCTest

/// Checks a backward function against central differences of its forward function,
/// both in Double.
///
/// `backward(upstream)` must return ∂L/∂x for `L = Σᵢ upstream[i]·forward(x)[i]` (the
/// vector-Jacobian product every backward op computes). The upstream gradient is
/// random, so every output element matters. The numerical derivative of each input
/// is `(L(x + h·eᵢ) − L(x − h·eᵢ)) / 2h` with `h = 1e-6`: its truncation error is
/// O(h²)·|L'''| ≈ 1e-12 and its rounding error ≈ ε·|L|/h ≈ 1e-10·|L|, so an analytic
/// gradient that is right agrees to within `1e-7 + 1e-6·|g|` for the moderate values
/// tests use, and one that is wrong by a term does not. Inputs must stay `h` away
/// from kinks (relu at 0, ties of a max).
public func assertGradientMatches(
    at x: [Double],
    seed: UInt64 = 1,
    forward: ([Double]) throws -> [Double],
    backward: ([Double]) throws -> [Double],
    atol: Double = 1e-7, rtol: Double = 1e-6,
    _ label: @autoclosure () -> String = "",
    file: StaticString = #filePath, line: UInt = #line
) throws {
    let outputCount = try forward(x).count
    var random = SeededGenerator(seed: seed)
    let upstream = (0..<outputCount).map { _ in Double.random(in: -1...1, using: &random) }
    let analytic = try backward(upstream)
    XCTAssertEqual(
        analytic.count, x.count, "\(label()): gradient has \(analytic.count) elements for \(x.count) inputs",
        file: file, line: line)
    guard analytic.count == x.count else { return }

    func loss(_ point: [Double]) throws -> Double {
        zip(try forward(point), upstream).reduce(0) { $0 + $1.0 * $1.1 }
    }
    let h = 1e-6
    var failures = 0
    for i in x.indices {
        var plus = x
        var minus = x
        plus[i] += h
        minus[i] -= h
        let numeric = (try loss(plus) - loss(minus)) / (2 * h)
        let error = abs(analytic[i] - numeric)
        if !(error <= atol + rtol * abs(numeric)) {
            failures += 1
            if failures <= 3 {
                XCTFail(
                    "\(label()): ∂L/∂x[\(i)] analytic \(analytic[i]), numeric \(numeric), error \(error)",
                    file: file, line: line)
            }
        }
    }
    if failures > 3 {
        XCTFail("\(label()): \(failures) of \(x.count) gradient elements disagree", file: file, line: line)
    }
}

/// `count` Doubles uniform in `range`, from a seed.
public func randomDoubles(_ count: Int, in range: ClosedRange<Double> = -1...1, seed: UInt64) -> [Double] {
    var random = SeededGenerator(seed: seed)
    return (0..<count).map { _ in Double.random(in: range, using: &random) }
}
