import Foundation

/// The OpenCL C sources of Heed's kernels, one family per `.cl` file in this folder.
///
/// The sources are embedded in the binary at build time, so `heed` needs no resource
/// bundle at run time. While developing kernels, set `HEED_KERNEL_DIR` to this folder
/// and edited `.cl` files are read from disk instead, without a rebuild (an OpenCL
/// backend reads each file once, when it first builds that family).
public enum KernelLibrary {
    /// The environment variable that points at a folder of `.cl` files to use instead
    /// of the embedded copies.
    public static let overrideDirectoryVariable = "HEED_KERNEL_DIR"

    /// The families the binary carries (file names without `.cl`), each a program of its own.
    public static let families: [String] = embedded.keys.filter { !preludes.contains($0) }.sorted()

    /// Files of functions that several families share (names without `.cl`). A prelude is
    /// no program of its own: `programSource(of:directory:)` puts it ahead of each family
    /// that uses it.
    public static let preludes = ["columns", "reductions"]

    /// The preludes each family's program starts with, in order; families not listed have none.
    public static let preludesOfFamily: [String: [String]] = [
        "attention": ["reductions"],
        "conv": ["columns"],
        "gemm_cpu": ["columns"],
        "grouped_conv": ["reductions"],
        "normalization": ["reductions"],
        "pooling": ["reductions"],
        "softmax": ["reductions"],
    ]

    /// The folder `HEED_KERNEL_DIR` names in `environment`, or nil when it is unset or empty.
    public static func overrideDirectory(in environment: [String: String]) -> URL? {
        guard let path = environment[overrideDirectoryVariable], !path.isEmpty else { return nil }
        return URL(fileURLWithPath: path)
    }

    /// The text of one `.cl` file (a family or a prelude), from `directory` when given,
    /// else the embedded copy (decoded once per process).
    ///
    /// - Parameter name: the file name without `.cl`, for example `"blas"`.
    /// - Throws: `KernelLibraryError` when there is no such file or the override file
    ///   cannot be read.
    public static func source(of name: String, directory: URL?) throws -> String {
        if let directory {
            let url = directory.appendingPathComponent("\(name).cl")
            do {
                return try String(contentsOf: url, encoding: .utf8)
            } catch {
                throw KernelLibraryError.unreadableOverride(path: url.path, reason: "\(error.localizedDescription)")
            }
        }
        guard let text = decoded[name] else {
            throw KernelLibraryError.unknownFamily(name, known: families)
        }
        return text
    }

    /// The text of one `.cl` file, from the folder `HEED_KERNEL_DIR` names in `environment`
    /// when it is set (see `source(of:directory:)`).
    public static func source(of name: String, environment: [String: String]) throws -> String {
        try source(of: name, directory: overrideDirectory(in: environment))
    }

    /// The text a family's program is built from: its preludes, then the family.
    ///
    /// With preludes, each file starts with `#line 1 "<file>.cl"`, so the compiler's
    /// messages name the file and line they are about; a family without preludes is its
    /// file's text unchanged.
    public static func programSource(of family: String, directory: URL?) throws -> String {
        guard !preludes.contains(family) else {
            throw KernelLibraryError.unknownFamily(family, known: families)
        }
        let text = try source(of: family, directory: directory)
        let included = preludesOfFamily[family] ?? []
        if included.isEmpty { return text }
        let texts = try included.map { try source(of: $0, directory: directory) } + [text]
        return zip(included + [family], texts).map { "#line 1 \"\($0).cl\"\n\($1)" }.joined(separator: "\n")
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
        "reductions": PackageResources.reductions_cl,
        "columns": PackageResources.columns_cl,
    ]

    private static let decoded: [String: String] = embedded.mapValues { String(decoding: $0, as: UTF8.self) }
}

public enum KernelLibraryError: Error, CustomStringConvertible {
    case unknownFamily(String, known: [String])
    case unreadableOverride(path: String, reason: String)

    public var description: String {
        switch self {
        case .unknownFamily(let name, let known):
            return "no kernel family '\(name)' (known: \(known.joined(separator: ", ")))"
        case .unreadableOverride(let path, let reason):
            return "cannot read kernel source \(path) (from \(KernelLibrary.overrideDirectoryVariable)): \(reason)"
        }
    }
}
