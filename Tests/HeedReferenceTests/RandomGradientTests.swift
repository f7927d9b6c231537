import HeedOps
import HeedReference
import HeedTestSupport
import XCTest

/// With its mask fixed by (seed, step), dropout is linear in x; its backward (the same
/// masked scaling of the output gradient) must be that map's transpose.
final class RandomGradientTests: XCTestCase {
    func testDropoutBackwardMatchesTheForward() throws {
        for d in [
            DropoutDescriptor(count: 37, probability: 0.4, seed: 3, step: 1),
            DropoutDescriptor.dropout2d(batch: 2, channels: 3, spatial: 5, probability: 0.5, seed: 3, step: 2),
        ] {
            let x = randomDoubles(d.count, seed: 4)
            XCTAssertTrue(
                Reference.dropoutMask(d).contains(0) && Reference.dropoutMask(d).contains { $0 != 0 },
                "\(d) should keep some elements and drop others")
            try assertGradientMatches(
                at: x, forward: { Reference.dropout(d, $0) },
                backward: { Reference.dropout(d, $0) }, "\(d)")
        }
    }
}
