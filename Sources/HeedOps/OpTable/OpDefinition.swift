/// The sizes and settings of one call of an op (`Conv2dDescriptor`, `LinearDescriptor`, ...).
///
/// A descriptor knows nothing of buffers: the op's table entry declares those, and
/// `OpDefinition.bind` checks them against it.
public protocol OpDescriptor: Sendable, CustomStringConvertible {
    /// Throws `HeedError.invalidArgument` (or `.shapeMismatch`) unless the sizes and
    /// settings describe a call the op can make.
    func validate() throws
}

/// One buffer of an op, as the op's table entry declares it.
public struct BufferDeclaration: Sendable, Equatable {
    /// Whether the op reads the buffer, writes it, or both (an optimizer's state).
    public enum Role: Sendable, Equatable {
        case input
        case output
        case update
    }

    /// The name a backend's body reads the buffer by (`outputGradient`).
    public let name: String
    /// The name errors use (`output gradient`).
    public let label: String
    public let role: Role
    public let elementType: ElementType
    /// The tensor's shape; nil where the op's own check counts the elements (GEMM's
    /// strided matrices, which need a span, not an exact size).
    public let shape: [Int]?
    /// Whether a call may leave the buffer out (a convolution without bias).
    public let isOptional: Bool

    public init(
        _ name: String, _ role: Role, _ shape: [Int]?, _ elementType: ElementType = .float32,
        optional: Bool = false, label: String? = nil
    ) {
        self.name = name
        self.label = label ?? Self.words(name)
        self.role = role
        self.elementType = elementType
        self.shape = shape
        self.isOptional = optional
    }

    public static func input(
        _ name: String, _ shape: [Int]?, _ elementType: ElementType = .float32,
        optional: Bool = false, label: String? = nil
    ) -> Self {
        Self(name, .input, shape, elementType, optional: optional, label: label)
    }

    public static func output(
        _ name: String, _ shape: [Int]?, _ elementType: ElementType = .float32,
        label: String? = nil
    ) -> Self {
        Self(name, .output, shape, elementType, label: label)
    }

    public static func update(_ name: String, _ shape: [Int]?, optional: Bool = false, label: String? = nil) -> Self {
        Self(name, .update, shape, optional: optional, label: label)
    }

    /// Elements the shape holds; nil without a shape or where the product overflows.
    public var count: Int? {
        shape?.reduce(Optional(1)) { product, size in
            product.flatMap { product in
                let (result, overflow) = product.multipliedReportingOverflow(by: size)
                return overflow ? nil : result
            }
        } ?? nil
    }

    /// `outputGradient` -> `output gradient`.
    static func words(_ name: String) -> String {
        name.reduce(into: "") { text, character in
            if character.isUppercase { text += " " + character.lowercased() } else { text.append(character) }
        }
    }
}

/// How far an op's result may be from the reference's, stated once per op and used by
/// its verification cases (the bounds are README.md's "How correctness is checked").
public enum ToleranceRule<Descriptor: OpDescriptor>: Sendable {
    /// Inputs make every intermediate exact in float32: equal bit for bit.
    case exact
    /// Sums of `terms` float32 products: `γ_terms · Σ|terms|` (Higham §3.1).
    case sums(terms: @Sendable (Descriptor) -> Int)
    /// A bound the op's verification states in its own words (transcendental ulps,
    /// bounds propagated through several steps).
    case stated(String)
}

/// One op of the table: its name, family, buffers, work and tolerance, declared once.
///
/// Backends register a body per definition (`OpImplementation`), the graph layer's
/// gradient rule calls it through `Backend`, `heed verify` and the benchmarks take its
/// name and counts from here.
///
/// ```swift
/// static let forward = OpDefinition<LinearDescriptor>("linear.forward", .linear) { d in [
///     .input("input", d.inputShape), .input("weight", d.weightShape),
///     .input("bias", [d.outFeatures], optional: true), .output("output", d.outputShape),
/// ] }
/// ```
public struct OpDefinition<Descriptor: OpDescriptor>: Sendable {
    /// The op and direction, as `heed verify --op` prints it: `linear.forward`.
    public let name: String
    public let family: OpFamily
    /// The buffers in the order a call passes them.
    public let buffers: @Sendable (Descriptor) -> [BufferDeclaration]
    /// Floating-point operations of one call (2 per multiply-add), for the benchmarks.
    public let flops: @Sendable (Descriptor) -> Int
    /// Bytes one call moves at the least, where the declared buffers do not say
    /// (strided GEMM operands); see `bytes(_:)`.
    let byteCount: (@Sendable (Descriptor) -> Int)?
    /// The OpenCL kernels that run it (in `Kernels/<family>.cl`); empty where it runs
    /// as GEMMs or other ops.
    public let kernels: [String]
    public let tolerance: ToleranceRule<Descriptor>
    /// Checks beyond the descriptor's own and the declared shapes, given each buffer's
    /// element count (nil for an optional buffer left out).
    public let check: (@Sendable (Descriptor, [Int?]) throws -> Void)?

    public init(
        _ name: String, _ family: OpFamily, kernels: [String] = [], tolerance: ToleranceRule<Descriptor> = .exact,
        flops: @escaping @Sendable (Descriptor) -> Int = { _ in 0 },
        bytes: (@Sendable (Descriptor) -> Int)? = nil,
        check: (@Sendable (Descriptor, [Int?]) throws -> Void)? = nil,
        buffers: @escaping @Sendable (Descriptor) -> [BufferDeclaration]
    ) {
        self.name = name
        self.family = family
        self.kernels = kernels
        self.tolerance = tolerance
        self.flops = flops
        byteCount = bytes
        self.check = check
        self.buffers = buffers
    }

    /// The name errors give: the op without its direction (`linear`).
    public var errorName: String { String(name.prefix { $0 != "." }) }

    /// Bytes one call moves at the least, as benchmarks/README.md counts them: every
    /// declared buffer read or written once (an updated buffer twice), except the optional
    /// ones the call leaves out.
    public func bytes(_ descriptor: Descriptor, leaving leftOut: Set<String> = []) -> Int {
        if let byteCount { return byteCount(descriptor) }
        return buffers(descriptor).filter { !leftOut.contains($0.name) }.reduce(0) { total, buffer in
            total + (buffer.count ?? 0) * buffer.elementType.byteSize * (buffer.role == .update ? 2 : 1)
        }
    }

    /// The definition without its descriptor type, for the table.
    public var erased: AnyOpDefinition {
        AnyOpDefinition(name: name, family: family, kernels: kernels)
    }
}

/// What the table lists of every op, whatever its descriptor.
public struct AnyOpDefinition: Sendable, Equatable {
    public let name: String
    public let family: OpFamily
    public let kernels: [String]
}
