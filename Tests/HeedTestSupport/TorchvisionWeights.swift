/// The deterministic weights of `Tests/Fixtures/models/generate_torchvision.py`, value for
/// value: each tensor filled from a formula keyed by its name and element index, so that
/// the torchvision fixtures need not commit 100 MB of weights (the generator's docstring
/// states the formula; a drift on either side fails the fixtures' checksums).
public enum TorchvisionWeights {
    /// FNV-1a, 64 bits, of the name's UTF-8 bytes.
    public static func nameHash(_ name: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash
    }

    /// u in [0, 1) for element `index` of the tensor whose name hashes to `hash`: the top 24
    /// bits of splitmix64's finaliser of hash + (index + 1)·golden ratio, exact in float32.
    public static func uniform(hash: UInt64, index: Int) -> Double {
        var z = hash &+ UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 40) / Double(1 << 24)
    }

    /// The float32 values of the tensor `name` of `shape`: convolution weights (rank 4)
    /// uniform in ±√(3 / fan_in), linear weights (rank 2) in ±8·√(3 / fan_in); batch norm
    /// weight 0.85 + 0.25·s, bias and running_mean 0.1·s, running_var 0.5 + u (s = 2u − 1).
    public static func values(name: String, shape: [Int]) -> [Float] {
        let hash = nameHash(name)
        let count = shape.reduce(1, *)
        let fanIn = shape.dropFirst().reduce(1, *)
        // The rule is chosen once per tensor, not per element; each is the generator's
        // expression, operation for operation, so that the values agree to the bit.
        enum Rule { case weight(bound: Double), runningVariance, shift, scale }
        let rule: Rule
        if shape.count == 2 || shape.count == 4 {
            rule = .weight(bound: Double(shape.count == 2 ? 8 : 1) * (3 / Double(fanIn)).squareRoot())
        } else if name.hasSuffix("running_var") {
            rule = .runningVariance
        } else if name.hasSuffix("running_mean") || name.hasSuffix("bias") {
            rule = .shift
        } else {
            rule = .scale
        }
        var values = [Float](repeating: 0, count: count)
        for index in 0..<count {
            let u = uniform(hash: hash, index: index)
            let s = 2 * u - 1
            switch rule {
            case .weight(let bound): values[index] = Float(s * bound)
            case .runningVariance: values[index] = Float(0.5 + u)
            case .shift: values[index] = Float(0.1 * s)
            case .scale: values[index] = Float(0.85 + 0.25 * s)
            }
        }
        return values
    }
}
