/// Ops that draw random numbers: dropout, with masks from `Philox` keyed by
/// (seed, step, draw index), so both backends draw the identical mask and a backward
/// regenerates it instead of storing it.
public protocol RandomOps {
    /// Inverted dropout (PyTorch `F.dropout` / `F.dropout2d` in training):
    /// `output = keep ? input / (1 − p) : 0`, one keep/drop draw per element (dropout)
    /// or per (n, c) channel (dropout2d, `elementsPerDraw` = H·W). Reads input, writes
    /// output (both `count` floats; output may be input). Dropped elements are 0 even
    /// where the input is NaN or ∞ (PyTorch's x·0 would give NaN there).
    func dropoutForward(_ descriptor: DropoutDescriptor, input: any DeviceBuffer, output: any DeviceBuffer) throws

    /// `inputGradient = keep ? outputGradient / (1 − p) : 0` with the forward's mask,
    /// regenerated from the same descriptor (seed, step). inputGradient may be outputGradient.
    func dropoutBackward(_ descriptor: DropoutDescriptor, outputGradient: any DeviceBuffer,
                         inputGradient: any DeviceBuffer) throws
}

/// One dropout mask: which elements survive and by how much they are scaled.
///
/// Draw d (element d for dropout, channel d = n·C + c for dropout2d) is
/// `r = Philox.block(counter: (d, step), key: seed).0 >> 8`, 24 uniform bits; it keeps
/// its elements when `r ≥ threshold` with `threshold = round(p·2²⁴)`, so the keep
/// probability is 1 − threshold/2²⁴ (p to within 2⁻²⁵). Kept elements are multiplied by
/// `scale` = Float(1/(1 − p)) (0 when p = 1, where nothing is kept).
public struct DropoutDescriptor: Sendable, Equatable, CustomStringConvertible {
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
    public static func dropout2d(batch: Int, channels: Int, spatial: Int, probability: Float,
                                 seed: UInt32, step: UInt32) -> DropoutDescriptor {
        DropoutDescriptor(count: batch * channels * spatial, elementsPerDraw: spatial, probability: probability,
                          seed: seed, step: step)
    }

    /// Draws below this 24-bit value drop their elements.
    public var threshold: UInt32 { UInt32((Double(probability) * 0x1p24).rounded()) }

    /// The factor kept elements are multiplied by.
    public var scale: Float { probability < 1 ? Float(1 / (1 - Double(probability))) : 0 }

    /// The op name used in errors and verification: `dropout2d` when a draw covers
    /// several elements, else `dropout` (dropout2d with H·W = 1 is dropout).
    public var name: String { elementsPerDraw == 1 ? "dropout" : "dropout2d" }

    /// Whether draw `index` keeps its elements.
    public func keeps(draw index: Int) -> Bool {
        Philox.block(counter: (UInt32(truncatingIfNeeded: index), step), key: seed).0 >> 8 >= threshold
    }

    public var description: String {
        "\(name)(count=\(count), elementsPerDraw=\(elementsPerDraw), p=\(probability), seed=\(seed), step=\(step))"
    }

    /// Throws unless p ∈ [0, 1], the draws tile `count`, and both buffers have `count`
    /// elements. `direction` is `forward` or `backward_input`.
    public func validate(_ direction: String, inputCount: Int, outputCount: Int) throws {
        let op = "\(name).\(direction)"
        guard (0...1).contains(probability) else {
            throw HeedError.invalidArgument(op: op, "probability must be in [0, 1], in \(self)")
        }
        guard count >= 0, elementsPerDraw > 0, count % elementsPerDraw == 0, count / elementsPerDraw <= 1 << 32 else {
            throw HeedError.invalidArgument(op: op, "count must be a non-negative multiple of elementsPerDraw, in \(self)")
        }
        guard inputCount == count, outputCount == count else {
            throw HeedError.shapeMismatch(op: op, "buffers of \(inputCount) and \(outputCount) elements, expected \(count), in \(self)")
        }
    }
}
