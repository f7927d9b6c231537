import Foundation

/// The OpenCL C sources of Heed's kernels, one family per `.cl` file in this folder.
///
/// The sources are embedded in the binary at build time, so `heed` needs no resource
/// bundle at run time. While developing kernels, set `HEED_KERNEL_DIR` to this folder
/// and edited `.cl` files are read from disk instead, without a rebuild.
public enum KernelLibrary {
    /// The environment variable that points at a folder of `.cl` files to use instead
    /// of the embedded copies.
    public static let overrideDirectoryVariable = "HEED_KERNEL_DIR"

    /// The families the binary carries (file names without `.cl`).
    public static let families: [String] = embedded.keys.sorted()

    /// The source of one kernel family, from `HEED_KERNEL_DIR` when it is set.
    ///
    /// - Parameter family: the file name without `.cl`, for example `"blas"`.
    /// - Throws: `KernelLibraryError` when the family does not exist or the
    ///   override file cannot be read.
    public static func source(
        of family: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> String {
        if let directory = environment[overrideDirectoryVariable], !directory.isEmpty {
            let url = URL(fileURLWithPath: directory).appendingPathComponent("\(family).cl")
            do {
                return try String(contentsOf: url, encoding: .utf8)
            } catch {
                throw KernelLibraryError.unreadableOverride(path: url.path, reason: "\(error.localizedDescription)")
            }
        }
        guard let bytes = embedded[family] else {
            throw KernelLibraryError.unknownFamily(family, known: families)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static let embedded: [String: [UInt8]] = [
        "blas": PackageResources.blas_cl,
        "conv": PackageResources.conv_cl,
        "pooling": PackageResources.pooling_cl,
        "elementwise": PackageResources.elementwise_cl,
        "normalization": PackageResources.normalization_cl,
        "optimizer": PackageResources.optimizer_cl,
        "random": PackageResources.random_cl,
        "softmax": PackageResources.softmax_cl,
        "loss": PackageResources.loss_cl,
        "attention": PackageResources.attention_cl,
        "sampling": PackageResources.sampling_cl,
        "layout": PackageResources.layout_cl,
        "gemm_cpu": PackageResources.gemm_cpu_cl,
        "grouped_conv": PackageResources.grouped_conv_cl,
    ]
}

public enum KernelLibraryError: Error, CustomStringConvertible {
    case unknownFamily(String, known: [String])
    case unreadableOverride(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unknownFamily(name, known):
            return "no kernel family '\(name)' (known: \(known.joined(separator: ", ")))"
        case let .unreadableOverride(path, reason):
            return "cannot read kernel source \(path) (from \(KernelLibrary.overrideDirectoryVariable)): \(reason)"
        }
    }
}
