import Foundation
import HeedOpenCLTestSupport
import HeedOps
import HeedReference
import HeedTestSupport
import HeedVerify
import XCTest

@testable import HeedOpenCL

/// Every choice the OpenCL layer makes by device kind is a field of `DeviceShapes`, and
/// `HEED_TUNING=gpu` runs each field's GPU side on whatever device there is, against the
/// reference. (CI also runs the whole OpenCL test target and `heed verify` under
/// `HEED_TUNING=gpu`; these tests prove that nothing escapes the switch.)
final class DeviceShapesTests: XCTestCase {
    /// For each field of `DeviceShapes`: the verify cases (op names or prefixes) whose
    /// launches read it, and the kernels only its GPU side launches (none where that side
    /// is a size, an engine or a launch of the same kernels). A new field fails
    /// `testEveryFieldIsKindDependentAndListed` until it is listed here.
    static let fields: [String: (ops: [String], gpuKernels: [String])] = [
        "gemmEngine": (["gemm"], ["clblast_sgemm"]),
        "convolutionScratchLimit": (["conv2d"], []),
        "columns": (["conv2d"], ["conv2d_im2col_elements", "conv2d_col2im_elements"]),
        "attendedSums": (
            ["attended_sum"],
            ["attended_sum_forward_grouped", "attended_sum_backward_values_elements", "attended_sum_backward_mask_elements"]
        ),
        "planeSums": (["global_average_pool"], ["global_average_pool_forward_grouped"]),
        "groupedWeightGradient": (["grouped_conv2d"], ["grouped_conv2d_backward_weight_grouped"]),
        "normalization": (["batch_norm"], []),
    ]

    /// Files of the OpenCL layer that may name a device kind, and why none of them is a
    /// launch shape.
    static let kindReadersOutsideShapes: [String: String] = [
        "OpenCLPlatforms.swift": "defines the kinds and reads them from CL_DEVICE_TYPE",
        "DeviceSelection.swift": "prefers the first GPU when no device is requested",
        "CLBlastTuning.swift": "installs Heed's CLBlast parameters on PoCL's CPU device: a fact of that driver, by its real kind",
    ]

    func testEveryFieldIsKindDependentAndListed() throws {
        let device = try TestDevices.requireOpenCL().device
        let gpu = Self.fieldValues(DeviceShapes(for: device.treated(as: .gpu)))
        let cpu = Self.fieldValues(DeviceShapes(for: device.treated(as: .cpu)))
        XCTAssertEqual(Set(gpu.keys), Set(Self.fields.keys), "DeviceShapes' fields and the fields this test runs differ")
        for (field, value) in gpu {
            XCTAssertNotEqual(value, cpu[field], "\(field) is the same on a CPU and a GPU: not a kind-dependent choice")
        }
    }

    func testNoOtherFileOfTheOpenCLLayerChoosesByKind() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/HeedOpenCL")
        let files = try XCTUnwrap(FileManager.default.enumerator(atPath: folder.path)).compactMap { $0 as? String }
            .filter { $0.hasSuffix(".swift") }
        XCTAssertTrue(files.contains("Tuning/DeviceShapes.swift"), "the scan does not see the layer's files: \(files.prefix(5))")
        let kindTest = try Regex(#"\.kind\s*[=!]=|[=!]=\s*\.(cpu|gpu|accelerator)\b|case\s+\.(cpu|gpu|accelerator)\b|\?\s*\.(cpu|gpu)\b"#)
        for file in files where file != "Tuning/DeviceShapes.swift" {
            let name = URL(fileURLWithPath: file).lastPathComponent
            if Self.kindReadersOutsideShapes[name] != nil { continue }
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where line.contains(kindTest) && !line.trimmingCharacters(in: .whitespaces).hasPrefix("///") {
                XCTFail("Sources/HeedOpenCL/\(file):\(number + 1) chooses by device kind outside DeviceShapes: \(line)")
            }
        }
    }

    /// `HEED_TUNING=gpu`: every field takes its GPU value, each field's ops match the
    /// reference, and the GPU-only kernels are the ones that ran; `HEED_TUNING=cpu` runs none of them.
    func testHEEDTUNINGGpuRunsEveryFieldsGPUSideAndTheOpsStillMatch() throws {
        let shared = try TestDevices.requireOpenCL()
        let gpu = try backend(kind: "gpu", shared)
        XCTAssertEqual(gpu.shapedDevice.kind, .gpu)
        XCTAssertEqual(gpu.device.kind, shared.device.kind, "the device itself is unchanged")
        XCTAssertEqual(gpu.shapes, DeviceShapes(for: shared.device.treated(as: .gpu)))
        XCTAssertEqual(gpu.convolutionScratchLimit, 1 << 25)
        XCTAssertEqual(try gpu.normalizationLaunch, NormalizationLaunch.defaults(for: shared.device.treated(as: .gpu)))
        XCTAssertGreaterThan(try gpu.normalizationLaunch.itemsPerChannel, 1)
        // HEED_GEMM, when the environment sets it, outranks the kind (CI's packed-GEMM pass).
        let forcedEngine = shared.settings.environment["HEED_GEMM"].flatMap(GemmEngine.init(rawValue:))
        XCTAssertEqual(gpu.gemmEngine, forcedEngine ?? .clblast)

        let cpu = try backend(kind: "cpu", shared)
        XCTAssertEqual(cpu.shapes, DeviceShapes(for: shared.device.treated(as: .cpu)))
        XCTAssertEqual(cpu.convolutionScratchLimit, 1 << 22)

        let gpuRan = try run(on: gpu)
        let cpuRan = try run(on: cpu)
        for (field, listed) in Self.fields {
            for kernel in listed.gpuKernels where !(kernel.hasPrefix("clblast") && forcedEngine != nil) {
                XCTAssertTrue(gpuRan.contains(kernel), "\(field): \(kernel) did not run under HEED_TUNING=gpu")
                XCTAssertFalse(cpuRan.contains(kernel), "\(field): \(kernel) ran under HEED_TUNING=cpu")
            }
        }
    }

    private func backend(kind: String, _ shared: OpenCLBackend) throws -> OpenCLBackend {
        try OpenCLBackend(
            device: shared.device, diskCache: true,
            settings: OpenCLSettings(environment: shared.settings.environment.merging(["HEED_TUNING": kind]) { $1 }))
    }

    /// Runs every listed op's verify cases on `backend` against the reference, and returns the kernels that ran.
    private func run(on backend: OpenCLBackend) throws -> Set<String> {
        backend.profile = KernelProfile()
        for op in Set(Self.fields.values.flatMap(\.ops)).sorted() {
            let cases = VerificationSuite.cases(matching: op)
            XCTAssertFalse(cases.isEmpty, "no verify cases match \(op)")
            for check in cases {
                assertPassed(try check.run(backend, TestDevices.reference), "\(check.op) \(check.shape) under \(backend.shapes.kind)")
            }
        }
        return Set(try XCTUnwrap(backend.profile).entries.keys)
    }

    /// Each stored field of `shapes` but its kind, by name, as text.
    private static func fieldValues(_ shapes: DeviceShapes) -> [String: String] {
        Dictionary(
            uniqueKeysWithValues: Mirror(reflecting: shapes).children.compactMap { child in
                child.label.flatMap { $0 == "kind" ? nil : ($0, String(describing: child.value)) }
            })
    }
}
