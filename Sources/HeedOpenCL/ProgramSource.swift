import Foundation
import HeedKernels

/// The text of a program, its name (which labels errors) and a digest of the text,
/// computed once so that looking the program up hashes eight bytes, not the text.
///
/// Equal digests are confirmed by comparing the texts (at once when both are the
/// same string, as a family's source always is), so a collision cannot mix programs up.
struct ProgramSource: Hashable, Sendable {
    let name: String
    let text: String
    let digest: UInt64

    init(name: String, text: String) {
        self.name = name
        self.text = text
        self.digest = ProgramBinaryStore.fnv1a64(text)
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(digest)
    }

    static func == (a: ProgramSource, b: ProgramSource) -> Bool {
        a.digest == b.digest && a.name == b.name && a.text == b.text
    }
}

/// The program sources of the kernel families (`KernelLibrary.programSource`: preludes,
/// then the family) for one backend.
///
/// The embedded families are decoded, assembled and hashed once per process; with a
/// `HEED_KERNEL_DIR` folder, each family's files are read once per backend, when it
/// first needs that family. Not thread-safe on its own: the backend calls it under its lock.
final class KernelSources {
    /// Every embedded family, built at first use.
    private static let embedded: [String: ProgramSource] = Dictionary(
        uniqueKeysWithValues:
            KernelLibrary.families.compactMap { family in
                (try? KernelLibrary.programSource(of: family, directory: nil)).map { (family, ProgramSource(name: family, text: $0)) }
            })

    /// The folder read instead of the embedded sources, or nil.
    let directory: URL?
    private var read: [String: ProgramSource] = [:]

    init(directory: URL?) {
        self.directory = directory
    }

    /// The source of `family`; throws `KernelLibraryError` when there is none.
    func source(of family: String) throws -> ProgramSource {
        if directory == nil, let source = Self.embedded[family] { return source }
        if let source = read[family] { return source }
        let source = ProgramSource(name: family, text: try KernelLibrary.programSource(of: family, directory: directory))
        read[family] = source
        return source
    }
}
