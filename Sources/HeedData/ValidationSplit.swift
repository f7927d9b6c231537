import HeedOps

/// A held-out part of a training set (`--val-split`): per class, the same fraction of its
/// images, chosen by a fixed shuffle of the class's images, so the split depends on the
/// set alone (not on the run's seed) and runs with other seeds validate on the same images.
public enum ValidationSplit {
    /// The indices kept for training and those held out, each in dataset order.
    /// Each class holds out `fraction` of its images rounded to nearest, but keeps at
    /// least one for training.
    public static func split(labels: [Int32], fraction: Double) -> (train: [Int], heldOut: [Int]) {
        precondition((0..<1).contains(fraction), "a fraction in 0..<1")
        var byClass: [Int32: [Int]] = [:]
        for (index, label) in labels.enumerated() { byClass[label, default: []].append(index) }
        var heldOut: [Int] = []
        for (label, members) in byClass {
            var random = SeededGenerator(seed: 0x7661_6C5F_7370_6C74 ^ UInt64(UInt32(bitPattern: label)))
            let count = min(Int((fraction * Double(members.count)).rounded()), members.count - 1)
            heldOut += members.shuffled(using: &random).prefix(count)
        }
        let held = Set(heldOut)
        return (labels.indices.filter { !held.contains($0) }, heldOut.sorted())
    }
}
