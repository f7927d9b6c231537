/// Moving blocks of columns between tensors: stacking the outputs of several heads
/// into one tensor, and its backward, taking them apart again.
///
/// Both tensors are viewed as row-major matrices with the same number of rows
/// (`outer`): a part of `width` columns and a whole of `wholeWidth` columns, of which
/// the part occupies columns `offset ..< offset + width`. Stacking N tensors of
/// shape (B, L) into (B, N, L) is N inserts with outer B, width L, whole width N·L and
/// offsets 0, L, 2L, ….
///
/// Both ops share one descriptor, which cannot name the op in an error, so each op's
/// `check` runs the descriptor's `validate(op)`.
public enum LayoutOps {
    /// `whole[o, offset + i] = part[o, i]`; the other columns of `whole` are not touched.
    public static let insertColumns = OpDefinition<ColumnBlockDescriptor>(
        "insert_columns", .layout, kernels: ["insert_columns"], check: { d, _ in try d.validate("insert_columns") }
    ) { d in [.input("part", d.partShape), .update("whole", d.wholeShape)] }

    /// `part[o, i] = whole[o, offset + i]`.
    public static let extractColumns = OpDefinition<ColumnBlockDescriptor>(
        "extract_columns", .layout, kernels: ["extract_columns"], check: { d, _ in try d.validate("extract_columns") }
    ) { d in [.input("whole", d.wholeShape), .output("part", d.partShape)] }

    static let table = [insertColumns.erased, extractColumns.erased]
}

extension Backend {
    public func insertColumns(_ descriptor: ColumnBlockDescriptor, part: any DeviceBuffer, whole: any DeviceBuffer) throws {
        try run(LayoutOps.insertColumns, descriptor, [part, whole])
    }

    public func extractColumns(_ descriptor: ColumnBlockDescriptor, whole: any DeviceBuffer, part: any DeviceBuffer) throws {
        try run(LayoutOps.extractColumns, descriptor, [whole, part])
    }
}

/// A block of `width` columns at `offset` inside rows of `wholeWidth` columns, `outer` rows.
public struct ColumnBlockDescriptor: OpDescriptor, Equatable {
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

    public var partShape: [Int] { [outer, width] }
    public var wholeShape: [Int] { [outer, wholeWidth] }
    public var partCount: Int { outer * width }
    public var wholeCount: Int { outer * wholeWidth }

    public var description: String {
        "columns \(offset)..<\(offset + width) of (\(outer), \(wholeWidth))"
    }

    /// Nothing to check without the op's name: each op's `check` runs `validate(op)`.
    public func validate() {}

    /// Throws unless the sizes are not negative and the block lies inside the rows;
    /// `op` names the op in the error.
    public func validate(_ op: String) throws {
        try ShapeRequirements.requireNonNegative(op, ["outer": outer, "width": width, "wholeWidth": wholeWidth, "offset": offset])
        guard offset + width <= wholeWidth else {
            throw HeedError.shapeMismatch(op: op, "\(self) reaches past the \(wholeWidth) columns")
        }
    }
}
