import Foundation
import XCTest

/// What a test needs and may lack (an OpenCL device, the `heed` executable).
///
/// On a developer's machine a missing requirement skips the test; under `CI=true`
/// it fails it, so CI cannot pass with its device and CLI tests skipped.
public struct UnmetRequirement: Error, CustomStringConvertible {
    public let description: String

    /// `XCTSkip(reason)`, or under `CI=true` an `UnmetRequirement`, which fails the test that throws it.
    public static func error(_ reason: String) -> any Error {
        guard ProcessInfo.processInfo.environment["CI"] == "true" else { return XCTSkip(reason) }
        return UnmetRequirement(description: "cannot run under CI=true: \(reason)")
    }
}
