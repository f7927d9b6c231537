import ArgumentParser
import Foundation
import HeedData
import HeedGraph
import HeedModels
import HeedOps
import HeedTraining

/// `heed evaluate`: accuracy of the whole network and of each of its parts.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a trained network on a test set, part by part.",
        discussion: """
            Prints the accuracy of the gated mixture (the network's output), of each attention module \
            alone, of the classifier alone, the mean gate values, and (attention depth ≥ 2) of early \
            exit: predicting from the modules before the last group only, with the share of the \
            convolution work that saves. The model's shape and normalisation come from the checkpoint.
            """)

    @OptionGroup var saved: SavedModelOptions
    @OptionGroup(title: "Data") var data: DataOptions
    @OptionGroup var device: DeviceOptions

    @Option(name: .long, help: "Seed of the synthetic set (the training run's --seed).")
    var seed: UInt64?

    func run() throws {
        let backend = try device.openBackend()
        let model = try saved.load(on: backend)
        let network = model.network
        let seed = self.seed ?? model.seed ?? 1
        let (train, test) = try data.load(seed: seed)
        guard test.classCount == network.classCount else {
            throw ValidationError("the test set has \(test.classCount) classes, the network \(network.classCount)")
        }
        let loader = data.loader(
            test, training: false, normalization: try model.normalization(else: data.normalization(for: train)), seed: seed)
        print("evaluating \(network.configuration) on \(test.name) (\(test.count) images) on \(backend.name)")

        // Every part's counts and the gates stay on the device until the end (`PartTally`):
        // nothing here is printed per image, so no batch waits for a read.
        let tally = PartTally(backend: backend)
        try Tensor.withoutGradients {
            for batch in loader.batches(epoch: 0) {
                let images = try Tensor(batch.images, shape: [batch.count, test.channels, test.height, test.width], on: backend)
                let labels = try backend.makeBuffer(batch.labels)
                guard let attention = network.attention else {
                    try tally.add("network output", network.logProbabilities(images: images), labels, items: batch.count)
                    continue
                }
                let analysis = try network.analyse(images)
                try tally.add("network output (gated mixture)", analysis.output, labels, items: batch.count)
                let names = attention.taps.map { "att\($0.index) alone" } + ["classifier alone"]
                for (index, name) in names.enumerated() {
                    // Source `index` of every item: a (B, 1, L) block of the (B, sources, L) stack.
                    try tally.add(name, analysis.sources.channels(index..<index + 1), labels, items: batch.count)
                }
                tally.addGates(analysis.globalGates)
                for (index, result) in analysis.modules.enumerated() {
                    tally.addHeadGates("att\(attention.taps[index].index)", result.gates)
                }
                if network.hasEarlyExit {
                    try tally.add("early exit (att1, att0)", network.earlyExitLogProbabilities(images), labels, items: batch.count)
                }
            }
        }
        let accuracies = try tally.accuracies()
        for (name, accuracy) in accuracies {
            print("  " + name.padding(toLength: 34, withPad: " ", startingAt: 0) + String(format: "%6.2f%%", 100 * accuracy))
        }
        if let attention = network.attention {
            let names = attention.taps.map { "att\($0.index)" } + ["classifier"]
            let weights = try tally.meanGateWeights(sources: names.count, gate: attention.configuration.gate)
            print(
                "  mean output-gate weight: "
                    + zip(names, weights).map { String(format: "%@ %.3f", $0 as NSString, $1) }.joined(separator: ", "))
            for (name, gates) in try tally.meanHeadGates(heads: attention.configuration.width) {
                print("  mean attention gates of \(name): " + gates.map { String(format: "%.3f", $0) }.joined(separator: " "))
            }
            if network.hasEarlyExit {
                print(
                    String(
                        format: "  early exit skips %.1f%% of the convolution work per image",
                        100 * (try network.earlyExitSavings(height: test.height, width: test.width))))
            }
        }
    }
}

/// Correct predictions per named part, and gate averages, kept on the device: each part's
/// counts in a `StepTallies` (read when it is full and at the end), the gates of every
/// batch as device tensors (B·(sources + heads per module) floats, a few per image),
/// joined and read once at the end.
final class PartTally {
    private let backend: any Backend
    private var parts: [(name: String, tallies: StepTallies, batches: Int, correct: Int, seen: Int)] = []
    private var globalGates: [Tensor] = []
    private var headGates: [(name: String, gates: [Tensor])] = []

    init(backend: any Backend) {
        self.backend = backend
    }

    /// Queues the count of items whose first largest score (N, L) is at their label (N).
    func add(_ name: String, _ scores: Tensor, _ labels: any DeviceBuffer, items: Int) throws {
        if !parts.contains(where: { $0.name == name }) { parts.append((name, try StepTallies(backend: backend), 0, 0, 0)) }
        let index = parts.firstIndex { $0.name == name }!
        if parts[index].tallies.isFull { try drain(index) }
        parts[index].batches += 1
        try parts[index].tallies.record(step: parts[index].batches, logProbabilities: scores, labels: labels, items: items)
    }

    /// A batch's global gates (B, sources), kept for `meanGateWeights`.
    func addGates(_ gates: Tensor) {
        globalGates.append(gates)
    }

    /// A batch's attention gates (B, heads) of module `name`, kept for `meanHeadGates`.
    func addHeadGates(_ name: String, _ gates: Tensor) {
        if !headGates.contains(where: { $0.name == name }) { headGates.append((name, [])) }
        headGates[headGates.firstIndex { $0.name == name }!].gates.append(gates)
    }

    /// Each part's accuracy, in the order the parts were first added (reads what is left).
    func accuracies() throws -> [(String, Double)] {
        for index in parts.indices { try drain(index) }
        return parts.map { ($0.name, Double($0.correct) / Double($0.seen)) }
    }

    /// The weight each source gets in the mixture: softmax(gates) or σ(gates) normalised,
    /// averaged over the images (one read).
    func meanGateWeights(sources: Int, gate: AggregationGate) throws -> [Double] {
        guard !globalGates.isEmpty else { return [] }
        let gates = try Tensor.withoutGradients { try Tensor.concatenate(globalGates).values() }
        var sums = Array(repeating: 0.0, count: sources)
        for row in stride(from: 0, to: gates.count, by: sources) {
            let values = gates[row..<row + sources].map(Double.init)
            let weights: [Double]
            switch gate {
            case .softmax:
                let exps = values.map { exp($0 - values.max()!) }
                weights = exps.map { $0 / exps.reduce(0, +) }
            case .sigmoid:
                let sig = values.map { 1 / (1 + exp(-$0)) }
                weights = sig.map { $0 / (1e-6 + sig.reduce(0, +)) }
            }
            for i in 0..<sources { sums[i] += weights[i] }
        }
        let rows = Double(gates.count / sources)
        return sums.map { $0 / rows }
    }

    /// Each module's attention gates averaged over the images, head by head (one read per module).
    func meanHeadGates(heads: Int) throws -> [(String, [Double])] {
        try headGates.map { name, batches in
            let gates = try Tensor.withoutGradients { try Tensor.concatenate(batches).values() }
            var sums = Array(repeating: 0.0, count: heads)
            for (i, g) in gates.enumerated() { sums[i % heads] += Double(g) }
            return (name, sums.map { $0 / Double(gates.count / heads) })
        }
    }

    private func drain(_ index: Int) throws {
        for batch in try parts[index].tallies.drain() {
            parts[index].correct += batch.correct
            parts[index].seen += batch.items
        }
    }
}
