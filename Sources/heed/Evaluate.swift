import ArgumentParser
import Foundation
import HeedData
import HeedGraph
import HeedModels
import HeedOps

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

        var tally = PartTally()
        try Tensor.withoutGradients {
            for batch in loader.batches(epoch: 0) {
                let images = try Tensor(batch.images, shape: [batch.count, test.channels, test.height, test.width], on: backend)
                guard let attention = network.attention else {
                    tally.add("network output", try network.logProbabilities(images: images).values(), batch.labels)
                    continue
                }
                let analysis = try network.analyse(images)
                tally.add("network output (gated mixture)", try analysis.output.values(), batch.labels)
                let sources = try analysis.sources.values()
                let names = attention.taps.map { "att\($0.index) alone" } + ["classifier alone"]
                let classes = network.classCount
                for (index, name) in names.enumerated() {
                    // Source `index` of every item: rows of the (B, sources, L) stack.
                    var rows: [Float] = []
                    for b in 0..<batch.count {
                        let start = (b * names.count + index) * classes
                        rows += sources[start..<start + classes]
                    }
                    tally.add(name, rows, batch.labels)
                }
                tally.addGates(try analysis.globalGates.values(), sources: names.count, gate: attention.configuration.gate)
                for (index, result) in analysis.modules.enumerated() {
                    tally.addHeadGates("att\(attention.taps[index].index)", try result.gates.values(), heads: attention.configuration.width)
                }
                if network.hasEarlyExit {
                    tally.add("early exit (att1, att0)", try network.earlyExitLogProbabilities(images).values(), batch.labels)
                }
            }
        }
        for (name, accuracy) in tally.accuracies {
            print("  " + name.padding(toLength: 34, withPad: " ", startingAt: 0) + String(format: "%6.2f%%", 100 * accuracy))
        }
        if let attention = network.attention {
            let names = attention.taps.map { "att\($0.index)" } + ["classifier"]
            let weights = tally.meanGateWeights
            print(
                "  mean output-gate weight: "
                    + zip(names, weights).map { String(format: "%@ %.3f", $0 as NSString, $1) }.joined(separator: ", "))
            for (name, gates) in tally.meanHeadGates {
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

/// Correct predictions per named part, and gate averages.
struct PartTally {
    private var correct: [String: Int] = [:]
    private var seen: [String: Int] = [:]
    private var order: [String] = []
    private var gateSums: [Double] = []
    private var gateCount = 0
    private var headGateSums: [(String, [Double])] = []
    private var headGateCount: [String: Int] = [:]

    mutating func add(_ name: String, _ scores: [Float], _ labels: [Int32]) {
        if seen[name] == nil { order.append(name) }
        let classes = scores.count / labels.count
        for (b, label) in labels.enumerated() {
            let row = scores[b * classes..<(b + 1) * classes]
            let best = row.indices.max { row[$0] < row[$1] }! - row.startIndex
            correct[name, default: 0] += best == Int(label) ? 1 : 0
        }
        seen[name, default: 0] += labels.count
    }

    /// The weight each source gets in the mixture: softmax(gates) or σ(gates) normalised.
    mutating func addGates(_ gates: [Float], sources: Int, gate: AggregationGate) {
        if gateSums.isEmpty { gateSums = Array(repeating: 0, count: sources) }
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
            for i in 0..<sources { gateSums[i] += weights[i] }
            gateCount += 1
        }
    }

    mutating func addHeadGates(_ name: String, _ gates: [Float], heads: Int) {
        if !headGateSums.contains(where: { $0.0 == name }) { headGateSums.append((name, Array(repeating: 0, count: heads))) }
        let index = headGateSums.firstIndex { $0.0 == name }!
        for (i, g) in gates.enumerated() { headGateSums[index].1[i % heads] += Double(g) }
        headGateCount[name, default: 0] += gates.count / heads
    }

    var accuracies: [(String, Double)] { order.map { ($0, Double(correct[$0]!) / Double(seen[$0]!)) } }
    var meanGateWeights: [Double] { gateSums.map { $0 / Double(max(gateCount, 1)) } }
    var meanHeadGates: [(String, [Double])] {
        headGateSums.map { name, sums in (name, sums.map { $0 / Double(headGateCount[name]!) }) }
    }
}
