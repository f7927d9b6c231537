import ArgumentParser
import Foundation
import HeedOps
import HeedReference
import HeedVerify

/// `heed verify`: every op on the chosen device against the CPU reference.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every op on an OpenCL device against the CPU reference.",
        discussion: """
            Runs each op, forward and backward, at several shapes (odd sizes included) with the \
            same seeded inputs on the device and on the reference backend, and prints the largest \
            errors beside the tolerance. Exits non-zero if any case fails.
            """)

    @OptionGroup var device: DeviceOptions

    @Option(name: .long, help: "Only this op (e.g. gemm); `--op list` prints the names.")
    var op: String?

    func run() throws {
        if op == "list" {
            VerificationSuite.opNames.forEach { print($0) }
            return
        }
        let cases = VerificationSuite.cases(matching: op)
        if cases.isEmpty {
            throw ValidationError("unknown op '\(op ?? "")'; known ops: \(VerificationSuite.opNames.joined(separator: ", "))")
        }
        let backend = try device.openBackend()
        let reference = ReferenceBackend()
        print("Verifying \(cases.count) cases on \(backend.name) against the reference")
        print(backend.tuning.summary(gemmEngine: backend.gemmEngine))

        let table = TextTable(columns: ["op", "shape", "max abs err", "max rel err", "tolerance", "result"])
        var failures = 0
        for check in cases {
            let row: [String]
            do {
                let result = try check.run(backend, reference)
                if !result.passed { failures += 1 }
                row = [
                    check.op, check.shape, format(result.maxAbsoluteError), format(result.maxRelativeError),
                    result.tolerance.description, result.passed ? "pass" : "FAIL: \(result.firstFailure!)",
                ]
            } catch {
                failures += 1
                row = [check.op, check.shape, "-", "-", "-", "ERROR: \(error)"]
            }
            table.printRow(row)
        }
        print("\(cases.count - failures) passed, \(failures) failed")
        if failures > 0 { throw ExitCode.failure }
    }

    private func format(_ value: Double) -> String {
        value == 0 ? "0" : String(format: "%.2e", value)
    }
}
