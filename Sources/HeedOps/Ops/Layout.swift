/// Moving blocks of columns between tensors: stacking the outputs of several heads
/// into one tensor, and its backward, taking them apart again.
///
/// Both tensors are viewed as row-major matrices with the same number of rows
/// (`outer`): a part of `width` columns and a whole of `wholeWidth` columns, of which
/// the part occupies columns `offset ..< offset + width`. Stacking N tensors of
/// shape (B, L) into (B, N, L) is N inserts with outer B, width L, whole width N·L and
/// offsets 0, L, 2L, ….
public protocol LayoutOps {
    /// `whole[o, offset + i] = part[o, i]`; the other columns of `whole` are not touched.
    func insertColumns(_ descriptor: ColumnBlockDescriptor, part: any DeviceBuffer, whole: any DeviceBuffer) throws

    /// `part[o, i] = whole[o, offset + i]`.
    func extractColumns(_ descriptor: ColumnBlockDescriptor, whole: any DeviceBuffer, part: any DeviceBuffer) throws
}

/// A block of `width` columns at `offset` inside rows of `wholeWidth` columns, `outer` rows.
public struct ColumnBlockDescriptor: Sendable, Equatable, CustomStringConvertible {
    public var outer: Int
    public var width: Int
    public var wholeWidth: Int
    public var offset: Int

    public init(outer: Int, width: Int, wholeWidth: Int, offset: Int) {
        self.outer = outer
        self.width = width
        self.wholeWidth = wholeWidth
        self.offset = offset
    }

    public var partCount: Int { outer * width }
    public var wholeCount: Int { outer * wholeWidth }

    public var description: String {
        "columns \(offset)..<\(offset + width) of (\(outer), \(wholeWidth))"
    }

    /// Throws unless the block lies inside the rows and the buffers hold the two matrices.
    public func validate(_ op: String, part: Int, whole: Int) throws {
        try ShapeRequirements.requireNonNegative(op, ["outer": outer, "width": width, "wholeWidth": wholeWidth, "offset": offset])
        guard offset + width <= wholeWidth else {
            throw HeedError.shapeMismatch(op: op, "\(self) reaches past the \(wholeWidth) columns")
        }
        try ShapeRequirements.requireCount(op, "part", shape: "(\(outer), \(width))", expected: partCount, count: part, in: self)
        try ShapeRequirements.requireCount(op, "whole", shape: "(\(outer), \(wholeWidth))", expected: wholeCount, count: whole, in: self)
    }
}
