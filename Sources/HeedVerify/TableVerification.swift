import HeedOps

/// Verification cases made from an op's table entry alone, for ops whose outputs are sums
/// of products of their inputs: seeded inputs of the declared shapes, NaN-poisoned outputs,
/// the op run through `Backend.run` on the device and on the reference, and each output
/// compared within the entry's sum bound.
///
/// The bound's per-element scale Σ|terms| is the reference run on the inputs' magnitudes
/// (every product then counts |a|·|b|), rounded once to float32, which moves the bound by
/// a relative 2⁻²⁴ at most.
enum TableVerification {
    /// A case of `op` at `descriptor`, leaving out the optional buffers named in `leftOut`,
    /// on small integers (exact) or uniform floats in [−1, 1].
    static func sums<Descriptor>(
        _ op: OpDefinition<Descriptor>, _ descriptor: Descriptor, shape: String,
        leaving leftOut: Set<String> = [], integers: Bool
    ) -> VerificationCase {
        VerificationCase(op: op.name, shape: shape + (integers ? " int" : "")) { device, reference in
            let declarations = op.buffers(descriptor)
            var random = SeededGenerator(seed: UInt64(truncatingIfNeeded: (op.name + shape).hashValueStable &+ (integers ? 1 : 0)))
            let inputs = declarations.map { declaration -> [Float]? in
                guard declaration.role != .output, !leftOut.contains(declaration.name) else { return nil }
                return random.values(declaration.count ?? 0, integers: integers)
            }
            let actual = try outputs(of: op, descriptor, declarations, inputs, on: device)
            let expected = try outputs(of: op, descriptor, declarations, inputs, on: reference)
            let scale = try outputs(of: op, descriptor, declarations, inputs.map { $0?.map(abs) }, on: reference)
            let parts = declarations.indices.filter { declarations[$0].role == .output }.map { index in
                (
                    name: declarations[index].label,
                    comparison: Comparison.ofSums(
                        op, descriptor, actual: actual[index]!, expected: expected[index]!,
                        integers: integers, scale: scale[index]!.map(Double.init))
                )
            }
            return parts.count == 1 ? parts[0].comparison : Comparison(combining: parts)
        }
    }

    /// Runs `op` with `inputs` (nil: an output, or an optional buffer left out) and returns
    /// every output buffer's contents at its index, starting as NaN.
    private static func outputs<Descriptor>(
        of op: OpDefinition<Descriptor>, _ descriptor: Descriptor,
        _ declarations: [BufferDeclaration], _ inputs: [[Float]?],
        on backend: any Backend
    ) throws -> [[Float]?] {
        let buffers: [(any DeviceBuffer)?] = try zip(declarations, inputs).map { declaration, values in
            if let values { return try backend.makeBuffer(values) }
            guard declaration.role == .output else { return nil }
            return try backend.makeBuffer([Float](repeating: .nan, count: declaration.count ?? 0))
        }
        try backend.run(op, descriptor, buffers)
        return try zip(declarations, buffers).map { declaration, buffer in
            guard declaration.role == .output, let buffer else { return nil }
            return try backend.read(buffer, as: Float.self)
        }
    }
}

extension String {
    /// A hash that is the same in every process (Swift's `hashValue` is seeded per run),
    /// so a case's inputs are too: FNV-1a over the UTF-8 bytes.
    var hashValueStable: Int {
        Int(truncatingIfNeeded: utf8.reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 })
    }
}
