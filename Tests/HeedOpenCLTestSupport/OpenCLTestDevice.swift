import Foundation
import HeedOpenCL
import HeedOps
import HeedTestSupport
import XCTest

/// One OpenCL context for the whole test process: PoCL compiles each program in
/// seconds, so programs must be shared across tests.
extension TestDevices {
    /// The OpenCL backend on the default device (`HEED_DEVICE` applies), opened once.
    public static let openCL: Result<OpenCLBackend, any Error> = {
        let result = Result { try OpenCLBackend() }
        if case .success(let backend) = result {
            ProgramStatisticsReporter.register(backend)
        }
        return result
    }()

    /// The shared OpenCL backend, or an error saying why there is none: `XCTSkip` on
    /// a machine without any OpenCL device, a failure under `CI=true` (CI installs PoCL).
    public static func requireOpenCL() throws -> OpenCLBackend {
        switch openCL {
        case .success(let backend): return backend
        case .failure(let error): throw UnmetRequirement.error("no OpenCL device: \(error)")
        }
    }
}

/// Prints, when the test run ends, how many OpenCL programs were compiled from
/// source and how many came from the disk cache: a second run should compile none.
final class ProgramStatisticsReporter: NSObject, XCTestObservation, @unchecked Sendable {
    private let backend: OpenCLBackend

    private init(backend: OpenCLBackend) {
        self.backend = backend
    }

    static func register(_ backend: OpenCLBackend) {
        let reporter = ProgramStatisticsReporter(backend: backend)
        XCTestObservationCenter.shared.addTestObserver(reporter)
    }

    func testBundleDidFinish(_ testBundle: Bundle) {
        let folder = backend.programCacheDirectory?.path ?? "off"
        print("\(backend.programStatistics) (shared test backend; disk cache: \(folder))")
    }
}
