import Foundation
import HeedGraph
import HeedModels
import HeedOpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedTestSupport
import XCTest

/// Two SGD steps of the baseline WRN, the attention network and Coarse2Fine, compared bit
/// for bit with the values recorded in `Tests/Fixtures/training-steps.json`: each step's
/// loss (its float32 bit pattern), a hash of every parameter's gradient, and a hash of every
/// parameter and buffer after the steps. The file was recorded before the graph layer's
/// memory work (issue 13) changed how backward keeps and frees tensors, which must not
/// change a single bit of what training computes.
///
/// To record (on a commit whose numerics are the ones to keep): run this test with
/// `HEED_RECORD_FIXTURES=1`; it writes the reference backend's runs and the OpenCL
/// device's runs into the file (runs for other devices already there are kept) and
/// passes without comparing.
///
/// Float results depend on the device, its driver and the GEMM kernel's parameters, so
/// the OpenCL runs are kept per device (`deviceKey`); a device with no recorded runs is an
/// unmet requirement (skipped on a developer's machine, a failure under `CI=true`).
final class TrainingStepFixtureTests: XCTestCase {
    private static let fixtureURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/training-steps.json")
    private static var recording: Bool { ProcessInfo.processInfo.environment["HEED_RECORD_FIXTURES"] == "1" }

    private static let (batch, size, classes, steps) = (4, 8, 4, 2)
    private static let trunk = WideResNetConfiguration(depth: 10, width: 1, classes: classes, dropout: 0.3)

    /// The three networks, by the name their runs have in the file.
    private static let networks: [(name: String, configuration: ModelConfiguration)] = [
        ("baseline WRN-10-1, dropout 0.3", ModelConfiguration(backbone: .wideResNet(trunk))),
        (
            "attention depth 3 width 2",
            ModelConfiguration(backbone: .wideResNet(trunk), attention: AttentionConfiguration(depth: 3, width: 2))
        ),
        (
            "Coarse2Fine, attention depth 3 width 2",
            ModelConfiguration(
                backbone: .wideResNet(trunk), attention: AttentionConfiguration(depth: 3, width: 2, orthogonalInitialization: true),
                coarse2fine: Coarse2FineConfiguration(fineStartEpoch: 0, fineWeight: 0.7))
        ),
    ]

    func testReferenceBackendTrainsBitIdenticallyToTheFixture() throws {
        try check(TestDevices.reference, key: "reference")
    }

    func testOpenCLBackendTrainsBitIdenticallyToTheFixture() throws {
        let backend = try TestDevices.requireOpenCL()
        try check(backend, key: Self.deviceKey(backend))
    }

    /// What the OpenCL results depend on: the device, its driver, and the GEMM engine with
    /// its kernel parameters (`heed tune`'s file changes the packed GEMM's blocking).
    static func deviceKey(_ backend: OpenCLBackend) -> String {
        let gemm: String
        switch backend.gemmEngine {
        case .packed: gemm = "packed GEMM \(backend.tuning.packedGemm)"
        case .clblast:
            let xgemm = backend.tuning.clblastXgemm?.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } ?? []
            gemm = "CLBlast GEMM" + (xgemm.isEmpty ? "" : " \(xgemm.joined(separator: ","))")
        }
        return "OpenCL \(backend.device.name) (driver \(backend.device.driverVersion)); \(gemm)"
    }

    private func check(_ backend: any Backend, key: String, file: StaticString = #filePath, line: UInt = #line) throws {
        var runs: [String: Run] = [:]
        for (name, configuration) in Self.networks {
            runs[name] = try Self.train(configuration, on: backend)
        }
        var fixture = (try? Self.loadFixture()) ?? Fixture(devices: [:])
        if Self.recording {
            fixture.devices[key] = runs
            try Self.save(fixture)
            print("recorded \(runs.count) runs for \(key) in \(Self.fixtureURL.path)")
            return
        }
        fixture = try Self.loadFixture()
        guard let recorded = fixture.devices[key] else {
            throw UnmetRequirement.error(
                "no training-step fixture for \(key) (recorded: \(fixture.devices.keys.sorted().joined(separator: " | ")))")
        }
        XCTAssertEqual(Set(recorded.keys), Set(runs.keys), "\(key): networks", file: file, line: line)
        for (name, run) in runs.sorted(by: { $0.key < $1.key }) {
            guard let expected = recorded[name] else { continue }
            for (index, (step, expectedStep)) in zip(run.steps, expected.steps).enumerated() {
                XCTAssertEqual(
                    step.lossBits, expectedStep.lossBits,
                    "\(key), \(name), step \(index): loss \(step.loss), recorded \(expectedStep.loss)", file: file, line: line)
                for (parameter, hash) in step.gradients.sorted(by: { $0.key < $1.key }) where expectedStep.gradients[parameter] != hash {
                    XCTFail("\(key), \(name), step \(index): gradient of \(parameter) differs", file: file, line: line)
                }
                XCTAssertEqual(
                    Set(step.gradients.keys), Set(expectedStep.gradients.keys), "\(key), \(name), step \(index): gradients",
                    file: file, line: line)
            }
            XCTAssertEqual(run.steps.count, expected.steps.count, "\(key), \(name): steps", file: file, line: line)
            for (tensor, hash) in run.state.sorted(by: { $0.key < $1.key }) where expected.state[tensor] != hash {
                XCTFail("\(key), \(name): \(tensor) after \(Self.steps) steps differs", file: file, line: line)
            }
            XCTAssertEqual(Set(run.state.keys), Set(expected.state.keys), "\(key), \(name): state", file: file, line: line)
        }
    }

    /// `steps` SGD steps (Nesterov momentum 0.9, weight decay 5e-4, lr 0.1) of a network
    /// seeded 3 on one seeded batch, with the losses, gradients and final state recorded.
    private static func train(_ configuration: ModelConfiguration, on backend: any Backend) throws -> Run {
        let network = try configuration.makeModel(on: backend, seed: 3)
        network.train()
        network.startEpoch(0)
        var random = SeededGenerator(seed: 5)
        let images = try Tensor(
            (0..<batch * 3 * size * size).map { _ in Float.random(in: -2...2, using: &random) }, shape: [batch, 3, size, size],
            on: backend)
        let labels = try backend.makeBuffer((0..<batch).map { Int32($0 % classes) })
        let optimizer = SGD(parameters: network.namedParameters, configuration: SGD.Configuration(learningRate: 0.1))
        var recorded: [Step] = []
        for _ in 0..<steps {
            network.zeroGradients()
            let loss = try network.trainingLoss(images: images, labels: labels).loss
            try loss.backward()
            var gradients: [String: String] = [:]
            for (name, parameter) in network.namedParameters {
                if let gradient = parameter.gradient { gradients[name] = try hash(gradient) }
            }
            let value = try loss.item()
            recorded.append(Step(loss: value, lossBits: hex(value.bitPattern), gradients: gradients))
            try optimizer.step()
        }
        var state: [String: String] = [:]
        for (name, tensor) in network.state { state[name] = try hash(tensor) }
        return Run(steps: recorded, state: state)
    }

    /// FNV-1a (64-bit) of the tensor's float32 bit patterns, with its shape in front.
    private static func hash(_ tensor: Tensor) throws -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ word: UInt32) {
            for byte in 0..<4 {
                h ^= UInt64((word >> (8 * byte)) & 0xff)
                h = h &* 0x0000_0100_0000_01b3
            }
        }
        for extent in tensor.shape { mix(UInt32(truncatingIfNeeded: extent)) }
        for value in try tensor.values() { mix(value.bitPattern) }
        return hex(h)
    }

    private static func hex<T: FixedWidthInteger>(_ value: T) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, T.bitWidth / 4 - digits.count)) + digits
    }

    private static func loadFixture() throws -> Fixture {
        try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: fixtureURL))
    }

    private static func save(_ fixture: Fixture) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try (encoder.encode(fixture) + Data("\n".utf8)).write(to: fixtureURL, options: .atomic)
    }

    private struct Fixture: Codable {
        var description =
            "Two SGD steps of three networks (Tests/HeedTrainingTests/TrainingStepFixtureTests.swift, which documents "
            + "how to record): per device, per network, each step's loss (its float32 bits in hex), an FNV-1a hash of "
            + "each parameter's gradient, and a hash of each parameter and buffer after the steps."
        var devices: [String: [String: Run]]
    }

    private struct Run: Codable {
        var steps: [Step]
        var state: [String: String]
    }

    private struct Step: Codable {
        /// For a reader; the comparison is of `lossBits`.
        var loss: Float
        var lossBits: String
        var gradients: [String: String]
    }
}
