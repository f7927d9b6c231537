import HeedOps

/// The knobs of Heed's packed CPU GEMM (`Kernels/gemm_cpu.cl`): the micro-tile the
/// kernels are compiled for and the cache blocks their launches use.
///
/// The micro-tile holds `microRows × vectorsPerRow` accumulators of `vectorWidth` floats
/// in vector registers. Too many for the device's registers and they spill to memory,
/// which costs most of the speed (on AVX2's 16 registers the AVX-512 tile 12 × 2·16
/// spills); too few and the loads of B and broadcasts of A are not hidden.
/// `defaults(for:)` picks a tile that fits from the device's native vector width;
/// `heed tune` measures the others (`searchSpace`).
///
/// Cache blocks, in elements: each work-group computes a block of at most
/// `rowBlock` rows by `columnBlock` columns of C, in steps of at most `depthBlock`
/// along k, so that a `depthBlock × NR` panel of B stays in L1 and a
/// `rowBlock × depthBlock` block of A in L2.
public struct PackedGemmKernel: Hashable, Sendable, CustomStringConvertible {
    /// `MR`: rows of C per micro-tile.
    public var microRows: Int
    /// `VW`: floats per vector (4, 8 or 16).
    public var vectorWidth: Int
    /// `NV`: vectors per row of the micro-tile.
    public var vectorsPerRow: Int
    /// mc, nc, kc upper bounds (rounded to whole micro-tiles, see `PackedGemmPlan`).
    public var rowBlock: Int
    public var columnBlock: Int
    public var depthBlock: Int

    public init(microRows: Int, vectorWidth: Int, vectorsPerRow: Int, rowBlock: Int, columnBlock: Int, depthBlock: Int) {
        self.microRows = microRows
        self.vectorWidth = vectorWidth
        self.vectorsPerRow = vectorsPerRow
        self.rowBlock = rowBlock
        self.columnBlock = columnBlock
        self.depthBlock = depthBlock
    }

    /// `NR`: columns of C per micro-tile.
    public var microColumns: Int { vectorWidth * vectorsPerRow }

    /// What `gemm_cpu.cl` is compiled with.
    var defines: [String: String] {
        ["MR": "\(microRows)", "VW": "\(vectorWidth)", "NV": "\(vectorsPerRow)"]
    }

    public var description: String {
        "\(microRows)x\(microColumns) tile (\(vectorsPerRow) x float\(vectorWidth)), blocks \(rowBlock)x\(columnBlock)x\(depthBlock)"
    }

    // MARK: Device-derived choices

    /// Vector registers the micro-kernel can count on: 32 where vectors are 16 floats
    /// wide (AVX-512), else 16 (SSE, AVX, AVX2; a 32-register NEON core then gets a
    /// tile that fits with room to spare, never one that spills).
    static func vectorRegisters(nativeWidth: Int) -> Int { nativeWidth >= 16 ? 32 : 16 }

    /// Registers a tile needs: accumulators, the row of B and the broadcast of A, each
    /// a vector of `vectorWidth` floats that takes `vectorWidth / native` registers. A
    /// device narrower than 4 floats counts as 4 wide: the kernel has no narrower vectors.
    func registersNeeded(nativeWidth: Int) -> Int {
        (microRows * vectorsPerRow + vectorsPerRow + 1) * max(1, vectorWidth / max(nativeWidth, 4))
    }

    /// The largest tile of two vectors per row that fits the device's registers:
    /// 12 × 2·16 with AVX-512, 6 × 2·8 with AVX2 (the BLIS tiles of those machines).
    /// Blocks of about 144 rows × 256 columns × 256 deep.
    public static func defaults(for device: OpenCLDeviceInfo) -> PackedGemmKernel {
        defaults(nativeWidth: device.nativeFloatVectorWidth)
    }

    static func defaults(nativeWidth: Int) -> PackedGemmKernel {
        let width = allowedVectorWidths.last { $0 <= max(nativeWidth, 4) } ?? 4
        let registers = vectorRegisters(nativeWidth: width)
        let rows = min(12, (registers - 3) / 2 / 2 * 2)
        return PackedGemmKernel(
            microRows: rows, vectorWidth: width, vectorsPerRow: 2,
            rowBlock: 144 / rows * rows, columnBlock: 256, depthBlock: 256)
    }

    // MARK: What may be chosen

    public static let allowedVectorWidths = [4, 8, 16]
    public static let allowedMicroRows = [4, 6, 8, 12, 14, 16]
    public static let allowedVectorsPerRow = [1, 2, 3, 4]
    public static let allowedRowBlocks = [48, 72, 96, 144, 192, 288]
    public static let allowedColumnBlocks = [64, 128, 256, 512, 1024]
    public static let allowedDepthBlocks = [64, 128, 192, 256, 384, 512]

    /// The knobs as `name: value`, the form a tuning file stores.
    public var knobs: [String: Int] {
        [
            "MR": microRows, "VW": vectorWidth, "NV": vectorsPerRow,
            "mc": rowBlock, "nc": columnBlock, "kc": depthBlock,
        ]
    }

    /// The kernel a tuning file's knobs describe; throws when one is missing or not allowed.
    public init(knobs: [String: Int]) throws {
        func value(_ name: String, _ allowed: [Int]) throws -> Int {
            guard let value = knobs[name] else {
                throw HeedError.invalidArgument(op: "gemm_cpu", "tuning has no value for \(name)")
            }
            guard allowed.contains(value) else {
                throw HeedError.invalidArgument(op: "gemm_cpu", "\(name) = \(value) is not one of \(allowed)")
            }
            return value
        }
        self.init(
            microRows: try value("MR", Self.allowedMicroRows), vectorWidth: try value("VW", Self.allowedVectorWidths),
            vectorsPerRow: try value("NV", Self.allowedVectorsPerRow), rowBlock: try value("mc", Self.allowedRowBlocks),
            columnBlock: try value("nc", Self.allowedColumnBlocks), depthBlock: try value("kc", Self.allowedDepthBlocks))
        guard Set(knobs.keys) == Set(self.knobs.keys) else {
            let unknown = Set(knobs.keys).subtracting(self.knobs.keys).sorted()
            throw HeedError.invalidArgument(op: "gemm_cpu", "tuning has unknown knobs \(unknown)")
        }
    }

    /// Every value of each knob that `heed tune` may try on a device of this native
    /// vector width: the micro-tiles that fit its registers, and the block sizes.
    public static func searchSpace(nativeWidth: Int) -> [String: [Int]] {
        let widths = allowedVectorWidths.filter { $0 <= 2 * max(nativeWidth, 4) && $0 >= max(nativeWidth, 4) / 2 }
        return [
            "VW": widths, "MR": allowedMicroRows, "NV": allowedVectorsPerRow,
            "mc": allowedRowBlocks, "nc": allowedColumnBlocks, "kc": allowedDepthBlocks,
        ]
    }

    /// Whether the micro-tile fits the registers of a device of this native width
    /// (`heed tune` skips tiles that would spill, which are known to lose).
    public func fitsRegisters(nativeWidth: Int) -> Bool {
        registersNeeded(nativeWidth: nativeWidth) <= Self.vectorRegisters(nativeWidth: max(nativeWidth, 4))
    }
}
