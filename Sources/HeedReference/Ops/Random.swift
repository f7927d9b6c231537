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
    public func dropoutForward(_ d: DropoutDescriptor, input: any DeviceBuffer, output: any DeviceBuffer) throws {
        let op = "\(d.name).forward"
        let (source, result) = (try floats(input, op, "input"), try floats(output, op, "output"))
        try d.validate("forward", inputCount: source.count, outputCount: result.count)
        result.floats = Reference.dropout(d, source.floats)
    }

    public func dropoutBackward(_ d: DropoutDescriptor, outputGradient: any DeviceBuffer,
                                inputGradient: any DeviceBuffer) throws {
        let op = "\(d.name).backward_input"
        let (source, result) = (try floats(outputGradient, op, "outputGradient"), try floats(inputGradient, op, "inputGradient"))
        try d.validate("backward_input", inputCount: source.count, outputCount: result.count)
        result.floats = Reference.dropout(d, source.floats)
    }
}
