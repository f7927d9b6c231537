import HeedOps

/// Column-block copies: exact (they move values without arithmetic). Inserts start
/// from a random whole, so columns outside the block must survive untouched.
enum LayoutVerification {
    static let cases: [VerificationCase] = {
        let shapes = [
            ColumnBlockDescriptor(outer: 1, width: 1, wholeWidth: 1, offset: 0),
            ColumnBlockDescriptor(outer: 3, width: 7, wholeWidth: 33, offset: 7),
            ColumnBlockDescriptor(outer: 33, width: 10, wholeWidth: 40, offset: 30),
            ColumnBlockDescriptor(outer: 7, width: 1, wholeWidth: 3, offset: 2),
        ]
        return shapes.flatMap { d in [insertCase(d), extractCase(d)] }
    }()

    static func insertCase(_ d: ColumnBlockDescriptor) -> VerificationCase {
        VerificationCase(op: LayoutOps.insertColumns.name, shape: d.description) { device, reference in
            var random = SeededGenerator(seed: UInt64(d.wholeCount + d.offset))
            let part = random.uniform(d.partCount)
            let whole = random.uniform(d.wholeCount)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(part)],
                outputs: [.initialized(whole)]
            ) { backend, i, o in
                try backend.insertColumns(d, part: i[0], whole: o[0])
            }
            return Comparison(actual: actual[0], expected: expected[0], tolerance: .exact)
        }
    }

    static func extractCase(_ d: ColumnBlockDescriptor) -> VerificationCase {
        VerificationCase(op: LayoutOps.extractColumns.name, shape: d.description) { device, reference in
            var random = SeededGenerator(seed: UInt64(d.wholeCount * 3 + d.offset))
            let whole = random.uniform(d.wholeCount)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(whole)],
                outputs: [.floats(d.partCount)]
            ) { backend, i, o in
                try backend.extractColumns(d, whole: i[0], part: o[0])
            }
            return Comparison(actual: actual[0], expected: expected[0], tolerance: .exact)
        }
    }
}
