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
    public func insertColumns(_ d: ColumnBlockDescriptor, part: any DeviceBuffer, whole: any DeviceBuffer) throws {
        let (part, whole) = (try floats(part, "insert_columns", "part"), try floats(whole, "insert_columns", "whole"))
        try d.validate("insert_columns", part: part.count, whole: whole.count)
        Reference.insertColumns(d, part: part.floats, whole: &whole.floats)
    }

    public func extractColumns(_ d: ColumnBlockDescriptor, whole: any DeviceBuffer, part: any DeviceBuffer) throws {
        let (whole, part) = (try floats(whole, "extract_columns", "whole"), try floats(part, "extract_columns", "part"))
        try d.validate("extract_columns", part: part.count, whole: whole.count)
        part.floats = Reference.extractColumns(d, whole: whole.floats)
    }
}
