import HeedOps

extension Reference {
    /// `whole[o, offset + i] = part[o, i]`, other columns kept.
    public static func insertColumns<T>(_ d: ColumnBlockDescriptor, part: [T], whole: inout [T]) {
        for o in 0..<d.outer {
            for i in 0..<d.width { whole[o * d.wholeWidth + d.offset + i] = part[o * d.width + i] }
        }
    }

    /// `part[o, i] = whole[o, offset + i]`.
    public static func extractColumns<T>(_ d: ColumnBlockDescriptor, whole: [T]) -> [T] {
        (0..<d.partCount).map { index in whole[(index / d.width) * d.wholeWidth + d.offset + index % d.width] }
    }
}

extension ReferenceBackend {
    public static let layout: [OpImplementation<ReferenceBackend>] = [
        OpImplementation(LayoutOps.insertColumns) { _, d, b in Reference.insertColumns(d, part: b.part.floats, whole: &b.whole.floats) },
        OpImplementation(LayoutOps.extractColumns) { _, d, b in b.part.floats = Reference.extractColumns(d, whole: b.whole.floats) },
    ]
}
