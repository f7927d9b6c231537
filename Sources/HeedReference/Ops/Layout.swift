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
    public static let layout = bodies(layoutBodies(Float.self), layoutBodies(Double.self))

    static func layoutBodies<T: ReferenceScalar>(_: T.Type) -> [ReferenceBody<T>] {
        [
            ReferenceBody(LayoutOps.insertColumns) { d, b in Reference.insertColumns(d, part: b.part[T.self], whole: &b.whole[T.self]) },
            ReferenceBody(LayoutOps.extractColumns) { d, b in b.part[T.self] = Reference.extractColumns(d, whole: b.whole[T.self]) },
        ]
    }
}
