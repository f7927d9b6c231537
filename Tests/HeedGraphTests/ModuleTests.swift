import HeedGraph
import HeedOps
import HeedTestSupport
import XCTest

final class ModuleTests: XCTestCase {
    private final class Part: Module {
        let norm: BatchNorm

        init(on backend: any Backend) throws {
            norm = try BatchNorm(2, on: backend)
            super.init()
            register(child: norm, as: "bn")
        }
    }

    /// A flattened child's entries keep their own names; a named child's get its prefix.
    func testFlattenedChildrenKeepTheirNames() throws {
        let whole = Module()
        let (flat, named) = (try Part(on: TestDevices.reference), try Part(on: TestDevices.reference))
        whole.register(flattened: flat)
        whole.register(child: named, as: "head")
        XCTAssertEqual(whole.namedParameters.map(\.name), ["bn.weight", "bn.bias", "head.bn.weight", "head.bn.bias"])
        XCTAssertEqual(
            whole.namedBuffers.map(\.name), ["bn.running_mean", "bn.running_var", "head.bn.running_mean", "head.bn.running_var"])
        XCTAssertEqual(whole.namedCounters().map(\.name), ["bn.num_batches_tracked", "head.bn.num_batches_tracked"])
        whole.eval()
        XCTAssertFalse(flat.norm.isTraining)
    }
}
