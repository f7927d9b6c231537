import Foundation
import XCTest

@testable import HeedBench

final class SuitesTests: XCTestCase {
    /// The built-in suites are benchmarks/suites.json, the file the peers read.
    func testBuiltInSuitesAreTheFileThePeersRead() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../benchmarks/suites.json").standardized
        let fromFile = try BenchmarkSuites.load(from: file)
        let builtIn = try BenchmarkSuites.builtIn()
        XCTAssertEqual(builtIn.kernels.map(\.id), fromFile.kernels.map(\.id))
        XCTAssertEqual(builtIn.train.map(\.id), fromFile.train.map(\.id))
    }

    /// Every op is benchmarked, in full and in --quick runs, and the issue's shapes are there.
    func testSuitesCoverEveryOpAndTheIssuesShapes() throws {
        let suites = try BenchmarkSuites.builtIn()
        for op in KernelCase.Op.allCases {
            XCTAssertTrue(suites.kernels.contains { $0.op == op && $0.quick != false }, "no quick case for \(op)")
        }
        let squares = suites.kernels.filter { $0.op == .gemm && $0.m == $0.n && $0.n == $0.k }.compactMap(\.m)
        XCTAssertEqual(squares, [256, 512, 1024, 2048])
        for pass in [BenchmarkPass.forward, .input, .weight] {
            XCTAssertTrue(suites.kernels.contains { $0.op == .conv2d && $0.pass == pass })
        }
        let attention = suites.kernels.filter { $0.op == .attention }
        XCTAssertEqual(Set(attention.compactMap(\.classes)), [10, 100])
        XCTAssertEqual(Set(attention.compactMap(\.heads)), [4])
        let networks = suites.train.map {
            "\($0.arch ?? "wrn\($0.depth ?? 0)-\($0.width ?? 0)") AD\($0.attentionDepth) AW\($0.attentionWidth) \($0.size) \($0.pass)"
        }
        XCTAssertEqual(
            Set(networks),
            [
                "wrn16-4 AD3 AW4 32 train", "wrn16-4 AD3 AW4 32 inference", "wrn28-10 AD3 AW4 32 train", "wrn28-10 AD3 AW4 32 inference",
                "resnet50 AD2 AW4 224 train", "resnet50 AD2 AW4 224 inference",
            ])
    }

    func testUnknownLayerIsNamed() throws {
        let json = try Self.builtInText().replacingOccurrences(
            of: #""layer": "group0", "pass": "forward"}"#,
            with: #""layer": "group9", "pass": "forward"}"#)
        XCTAssertThrowsError(try BenchmarkSuites.decode(Data(json.utf8), source: "edited.json")) {
            let message = "\($0)"
            XCTAssertTrue(message.contains("edited.json") && message.contains("unknown layer 'group9'"), message)
        }
    }

    func testMissingFieldAndBadJSONAreNamed() throws {
        let json = try Self.builtInText().replacingOccurrences(of: #""m": 512,  "n": 512,  "k": 512"#, with: #""m": 512, "n": 512"#)
        XCTAssertThrowsError(try BenchmarkSuites.decode(Data(json.utf8), source: "edited.json")) {
            XCTAssertTrue("\($0)".contains("case 'gemm 512': op gemm needs 'k'"), "\($0)")
        }
        XCTAssertThrowsError(try BenchmarkSuites.decode(Data("{\"settings\": 3}".utf8), source: "bad.json")) {
            XCTAssertTrue("\($0)".hasPrefix("invalid benchmark suites in bad.json: "), "\($0)")
        }
        XCTAssertThrowsError(try BenchmarkSuites.load(from: URL(fileURLWithPath: "/no/such/suites.json"))) {
            XCTAssertTrue("\($0)".contains("/no/such/suites.json: cannot be read"), "\($0)")
        }
    }

    func testDuplicateIdsAreRefused() throws {
        let json = try Self.builtInText().replacingOccurrences(of: #""id": "gemm 512""#, with: #""id": "gemm 256""#)
        XCTAssertThrowsError(try BenchmarkSuites.decode(Data(json.utf8), source: "edited.json")) {
            XCTAssertTrue("\($0)".contains("case id 'gemm 256' appears twice"), "\($0)")
        }
    }

    func testSamplesMedianMinimumAndMaximum() {
        let odd = Samples([3, 1, 2])
        XCTAssertEqual([odd.median, odd.minimum, odd.maximum], [2, 1, 3])
        let even = Samples([4, 1, 3, 2])
        XCTAssertEqual([even.median, even.minimum, even.maximum], [2.5, 1, 4])
    }

    private static func builtInText() throws -> String {
        String(decoding: PackageResources.suites_json, as: UTF8.self)
    }

    /// A network case is a Wide ResNet (depth and width) or a torchvision ResNet (arch), not both.
    func testANetworkCaseHasArchOrDepthAndWidth() throws {
        let json = try Self.builtInText().replacingOccurrences(
            of: #""id": "resnet50 attention train 224", "arch": "resnet50","#,
            with: #""id": "resnet50 attention train 224", "arch": "resnet50", "depth": 16,"#)
        XCTAssertThrowsError(try BenchmarkSuites.decode(Data(json.utf8), source: "edited.json")) {
            XCTAssertEqual(
                "\($0)",
                "invalid benchmark suites in edited.json: case 'resnet50 attention train 224': a network case has either 'arch' or both 'depth' and 'width'"
            )
        }
    }
}
