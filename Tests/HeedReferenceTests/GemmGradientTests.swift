import HeedOps
import HeedReference
import HeedTestSupport
import XCTest

/// The gradients of C = A·B are GEMMs too: ∂L/∂A = G·Bᵀ and ∂L/∂B = Aᵀ·G. The graph
/// layer relies on these identities; check them on the reference in Double.
final class GemmGradientTests: XCTestCase {
    func testGradientsOfAProductAreProductsWithTheTransposes() throws {
        let (m, n, k) = (3, 5, 7)
        let a = randomDoubles(m * k, seed: 1)
        let b = randomDoubles(k * n, seed: 2)
        func product(_ a: [Double], _ b: [Double]) -> [Double] {
            var c = [Double](repeating: 0, count: m * n)
            Reference.gemm(GemmDescriptor(m: m, n: n, k: k), a: a, b: b, c: &c)
            return c
        }
        try assertGradientMatches(
            at: a, forward: { product($0, b) },
            backward: { g in
                var gradient = [Double](repeating: 0, count: m * k)
                Reference.gemm(GemmDescriptor(transposeB: true, m: m, n: k, k: n), a: g, b: b, c: &gradient)
                return gradient
            }, "∂L/∂A")
        try assertGradientMatches(
            at: b, forward: { product(a, $0) },
            backward: { g in
                var gradient = [Double](repeating: 0, count: k * n)
                Reference.gemm(GemmDescriptor(transposeA: true, m: k, n: n, k: m), a: a, b: g, c: &gradient)
                return gradient
            }, "∂L/∂B")
    }
}
