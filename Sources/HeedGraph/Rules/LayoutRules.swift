import HeedOps

// Copies of column blocks (`LayoutOps`): slicing, stacking, concatenation.
// Each op runs one backend op (or a few) and, when recording, saves what its backward reads:
// none of them saves anything, their backward only moves gradients.

extension Tensor {
    /// A (B, width) tensor whose columns at the given offsets are the (B, 1) `columns`
    /// and 0 elsewhere; e.g. the affine matrices θ = [[s, 0, tx], [0, s, ty]] from s, tx, ty.
    public static func placeColumns(_ columns: [(tensor: Tensor, offset: Int)], width: Int) throws -> Tensor {
        guard let first = columns.first?.tensor, columns.allSatisfy({ $0.tensor.shape == [first.shape[0], 1] }) else {
            throw HeedError.shapeMismatch(op: "place_columns", "needs (B, 1) columns, got \(columns.map(\.tensor.shape))")
        }
        let batch = first.shape[0]
        let backend = first.backend
        let whole = try Tensor.filled(0, shape: [batch, width], on: backend)
        let blocks = columns.map { ColumnBlockDescriptor(outer: batch, width: 1, wholeWidth: width, offset: $0.offset) }
        for ((column, _), block) in zip(columns, blocks) {
            try backend.insertColumns(block, part: column.storage, whole: whole.storage)
        }
        return result(op: "place_columns", output: whole, inputs: columns.map(\.tensor)) { g, _ in
            try blocks.map { block in
                let d = try Tensor.uninitialized(shape: [batch, 1], on: backend)
                try backend.extractColumns(block, whole: g.storage, part: d.storage)
                return d
            }
        }
    }

    /// Column `index` of a (B, N) tensor, as (B, 1).
    public func column(_ index: Int) throws -> Tensor {
        guard rank == 2, (0..<shape[1]).contains(index) else {
            throw HeedError.shapeMismatch(op: "column", "column \(index) of \(shape)")
        }
        let block = ColumnBlockDescriptor(outer: shape[0], width: 1, wholeWidth: shape[1], offset: index)
        let part = try Tensor.uninitialized(shape: [shape[0], 1], on: backend)
        try backend.extractColumns(block, whole: storage, part: part.storage)
        let (backend, wholeShape) = (backend, shape)
        return Tensor.result(op: "column", output: part, inputs: [self]) { g, _ in
            let d = try Tensor.filled(0, shape: wholeShape, on: backend)
            try backend.insertColumns(block, part: g.storage, whole: d.storage)
            return [d]
        }
    }

    /// Tensors of equal trailing shape joined along axis 0: (N₁ + N₂ + …, …).
    public static func concatenate(_ parts: [Tensor]) throws -> Tensor {
        guard let first = parts.first, first.rank >= 1,
            parts.allSatisfy({ Array($0.shape.dropFirst()) == Array(first.shape.dropFirst()) })
        else {
            throw HeedError.shapeMismatch(op: "concatenate", "needs tensors that differ in axis 0 only, got \(parts.map(\.shape))")
        }
        let total = parts.reduce(0) { $0 + $1.count }
        let shape = [parts.reduce(0) { $0 + $1.shape[0] }] + first.shape.dropFirst()
        let backend = first.backend
        let whole = try uninitialized(shape: shape, on: backend)
        // Axis 0 is outermost: each part is one contiguous block of a single row.
        var offset = 0
        let blocks = parts.map { part -> ColumnBlockDescriptor in
            defer { offset += part.count }
            return ColumnBlockDescriptor(outer: 1, width: part.count, wholeWidth: total, offset: offset)
        }
        for (part, block) in zip(parts, blocks) {
            try backend.insertColumns(block, part: part.storage, whole: whole.storage)
        }
        let partShapes = parts.map(\.shape)
        return result(op: "concatenate", output: whole, inputs: parts) { g, _ in
            try zip(partShapes, blocks).map { partShape, block in
                let d = try uninitialized(shape: partShape, on: backend)
                try backend.extractColumns(block, whole: g.storage, part: d.storage)
                return d
            }
        }
    }

    /// Channels `range` of a (B, C, …) tensor: (B, range.count, …).
    public func channels(_ range: Range<Int>) throws -> Tensor {
        guard rank >= 2, range.lowerBound >= 0, range.upperBound <= shape[1], !range.isEmpty else {
            throw HeedError.shapeMismatch(op: "channels", "channels \(range) of \(shape)")
        }
        let inner = shape.dropFirst(2).reduce(1, *)
        let block = ColumnBlockDescriptor(
            outer: shape[0], width: range.count * inner, wholeWidth: shape[1] * inner,
            offset: range.lowerBound * inner)
        let partShape = [shape[0], range.count] + shape.dropFirst(2)
        let part = try Tensor.uninitialized(shape: partShape, on: backend)
        try backend.extractColumns(block, whole: storage, part: part.storage)
        let (backend, wholeShape) = (backend, shape)
        return Tensor.result(op: "channels", output: part, inputs: [self]) { g, _ in
            let d = try Tensor.filled(0, shape: wholeShape, on: backend)
            try backend.insertColumns(block, part: g.storage, whole: d.storage)
            return [d]
        }
    }

    /// Stacks tensors of one shape (B, …) along a new axis 1: (B, N, …).
    public static func stack(_ parts: [Tensor]) throws -> Tensor {
        guard let first = parts.first, parts.allSatisfy({ $0.shape == first.shape }), first.rank >= 1 else {
            throw HeedError.shapeMismatch(op: "stack", "needs one or more tensors of one shape, got \(parts.map(\.shape))")
        }
        let outer = first.shape[0]
        let width = first.count / max(outer, 1)
        let (backend, partShape) = (first.backend, first.shape)
        let shape = [outer, parts.count] + first.shape.dropFirst()
        let whole = try uninitialized(shape: shape, on: backend)
        let blocks = parts.indices.map {
            ColumnBlockDescriptor(outer: outer, width: width, wholeWidth: width * parts.count, offset: $0 * width)
        }
        for (part, block) in zip(parts, blocks) {
            try backend.insertColumns(block, part: part.storage, whole: whole.storage)
        }
        return result(op: "stack", output: whole, inputs: parts) { g, _ in
            try blocks.map { block in
                let dPart = try uninitialized(shape: partShape, on: backend)
                try backend.extractColumns(block, whole: g.storage, part: dPart.storage)
                return dPart
            }
        }
    }
}
