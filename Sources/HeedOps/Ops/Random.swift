/// Ops that draw random numbers: dropout, with masks from `Philox` keyed by
/// (seed, step, draw index), so both backends draw the identical mask and a backward
/// regenerates it instead of storing it.
public enum RandomOps {
    /// Inverted dropout (PyTorch `F.dropout` in training): `output = keep ? input / (1 − p) : 0`,
    /// one keep/drop draw per element. Reads input, writes output (both `count` floats;
    /// output may be input). Dropped elements are 0 even where the input is NaN or ∞
    /// (PyTorch's x·0 would give NaN there).
    public static let dropoutForward = forwardOp("dropout.forward")

    /// `inputGradient = keep ? outputGradient / (1 − p) : 0` with the forward's mask,
    /// regenerated from the same descriptor (seed, step). inputGradient may be outputGradient.
    public static let dropoutBackward = backwardOp("dropout.backward_input")

    /// Channel dropout (PyTorch `F.dropout2d`): as `dropoutForward`, one draw per (n, c)
    /// channel (`elementsPerDraw` = H·W).
    public static let dropout2dForward = forwardOp("dropout2d.forward")

    /// The backward of `dropout2dForward`, as `dropoutBackward`.
    public static let dropout2dBackward = backwardOp("dropout2d.backward_input")

    /// dropout or dropout2d by the descriptor's draws (dropout2d with H·W = 1 is dropout).
    public static func forward(_ descriptor: DropoutDescriptor) -> OpDefinition<DropoutDescriptor> {
        descriptor.elementsPerDraw == 1 ? dropoutForward : dropout2dForward
    }

    public static func backward(_ descriptor: DropoutDescriptor) -> OpDefinition<DropoutDescriptor> {
        descriptor.elementsPerDraw == 1 ? dropoutBackward : dropout2dBackward
    }

    private static func forwardOp(_ name: String) -> OpDefinition<DropoutDescriptor> {
        OpDefinition(name, .random, kernels: ["dropout_forward"]) { d in
            [.input("input", [d.count]), .output("output", [d.count])]
        }
    }

    private static func backwardOp(_ name: String) -> OpDefinition<DropoutDescriptor> {
        OpDefinition(name, .random, kernels: ["dropout_backward"]) { d in
            [.input("outputGradient", [d.count]), .output("inputGradient", [d.count])]
        }
    }

    static let table = [dropoutForward.erased, dropoutBackward.erased, dropout2dForward.erased, dropout2dBackward.erased]
}

extension Backend {
    public func dropoutForward(_ descriptor: DropoutDescriptor, input: any DeviceBuffer, output: any DeviceBuffer) throws {
        try run(RandomOps.forward(descriptor), descriptor, [input, output])
    }

    public func dropoutBackward(
        _ descriptor: DropoutDescriptor, outputGradient: any DeviceBuffer,
        inputGradient: any DeviceBuffer
    ) throws {
        try run(RandomOps.backward(descriptor), descriptor, [outputGradient, inputGradient])
    }
}

/// One dropout mask: which elements survive and by how much they are scaled.
///
/// Draw d (element d for dropout, channel d = n·C + c for dropout2d) is
/// `r = Philox.block(counter: (d, step), key: seed).0 >> 8`, 24 uniform bits; it keeps
/// its elements when `r ≥ threshold` with `threshold = round(p·2²⁴)`, so the keep
/// probability is 1 − threshold/2²⁴ (p to within 2⁻²⁵). Kept elements are multiplied by
/// `scale` = Float(1/(1 − p)) (0 when p = 1, where nothing is kept).
public struct DropoutDescriptor: OpDescriptor, Equatable {
    /// Elements of input and output.
    public var count: Int
    /// Consecutive elements sharing one draw: 1 for dropout, H·W for dropout2d.
    public var elementsPerDraw: Int
    /// Drop probability p, in [0, 1].
    public var probability: Float
    /// The key of the generator (one per training run).
    public var seed: UInt32
    /// The high counter word: a new value for every call in a run (the training step
    /// times the number of dropout layers plus the layer's index, say).
    public var step: UInt32

    public init(count: Int, elementsPerDraw: Int = 1, probability: Float, seed: UInt32, step: UInt32) {
        self.count = count
        self.elementsPerDraw = elementsPerDraw
        self.probability = probability
        self.seed = seed
        self.step = step
    }

    /// dropout2d on an (N, C, H, W) tensor: one draw per channel of each sample.
    public static func dropout2d(
        batch: Int, channels: Int, spatial: Int, probability: Float,
        seed: UInt32, step: UInt32
    ) -> DropoutDescriptor {
        DropoutDescriptor(
            count: batch * channels * spatial, elementsPerDraw: spatial, probability: probability,
            seed: seed, step: step)
    }

    /// Draws below this 24-bit value drop their elements.
    public var threshold: UInt32 { UInt32((Double(probability) * 0x1p24).rounded()) }

    /// The factor kept elements are multiplied by.
    public var scale: Float { probability < 1 ? Float(1 / (1 - Double(probability))) : 0 }

    /// The op's name in errors: `dropout2d` when a draw covers several elements, else
    /// `dropout`, as `RandomOps.forward(_:)` picks the table's op.
    public var name: String { elementsPerDraw == 1 ? "dropout" : "dropout2d" }

    /// Whether draw `index` keeps its elements.
    public func keeps(draw index: Int) -> Bool {
        Philox.block(counter: (UInt32(truncatingIfNeeded: index), step), key: seed).0 >> 8 >= threshold
    }

    public var description: String {
        "\(name)(count=\(count), elementsPerDraw=\(elementsPerDraw), p=\(probability), seed=\(seed), step=\(step))"
    }

    /// Throws unless p ∈ [0, 1] and the draws tile `count`.
    public func validate() throws {
        guard (0...1).contains(probability) else {
            throw HeedError.invalidArgument(op: name, "probability must be in [0, 1], in \(self)")
        }
        guard count >= 0, elementsPerDraw > 0, count % elementsPerDraw == 0, count / elementsPerDraw <= 1 << 32 else {
            throw HeedError.invalidArgument(op: name, "count must be a non-negative multiple of elementsPerDraw, in \(self)")
        }
    }
}
