import HeedOps

extension Reference {
    /// The dropout mask of `d` as factors: `d.scale` for kept elements, 0 for dropped.
    public static func dropoutMask(_ d: DropoutDescriptor) -> [Float] {
        (0..<d.count).map { d.keeps(draw: $0 / d.elementsPerDraw) ? d.scale : 0 }
    }

    /// Inverted dropout: `x·scale` where the mask keeps, else 0 (one rounding in T).
    /// The backward is the same function of the output gradient.
    public static func dropout<T: BinaryFloatingPoint>(_ d: DropoutDescriptor, _ x: [T]) -> [T] {
        zip(x, dropoutMask(d)).map { $1 == 0 ? 0 : $0 * T($1) }
    }
}

extension ReferenceBackend {
    public static let random = bodies(randomBodies(Float.self), randomBodies(Double.self))

    static func randomBodies<T: ReferenceScalar>(_: T.Type) -> [ReferenceBody<T>] {
        [
            ReferenceBody(RandomOps.dropoutForward) { d, b in b.output[T.self] = Reference.dropout(d, b.input[T.self]) },
            ReferenceBody(RandomOps.dropoutBackward) { d, b in
                b.inputGradient[T.self] = Reference.dropout(d, b.outputGradient[T.self])
            },
            ReferenceBody(RandomOps.dropout2dForward) { d, b in b.output[T.self] = Reference.dropout(d, b.input[T.self]) },
            ReferenceBody(RandomOps.dropout2dBackward) { d, b in
                b.inputGradient[T.self] = Reference.dropout(d, b.outputGradient[T.self])
            },
        ]
    }
}
