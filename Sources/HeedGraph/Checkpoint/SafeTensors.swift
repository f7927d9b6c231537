import Foundation

/// A safetensors file in memory: named tensors and a string-to-string metadata map.
///
/// The format (https://github.com/huggingface/safetensors): an 8-byte little-endian
/// header length N, N bytes of JSON `{"name": {"dtype", "shape", "data_offsets"}, …,
/// "__metadata__": {…}}`, then the tensor bytes, little-endian, row-major. PyTorch's
/// `safetensors.torch.save_file(model.state_dict(), path)` writes exactly this, so
/// PyTorch weights load unchanged and Heed's load in PyTorch.
public struct SafeTensors: Equatable, Sendable {
    /// Element types Heed reads and writes. PyTorch BatchNorm's
    /// `num_batches_tracked` is I64; everything else Heed stores is F32.
    public enum DType: String, Sendable, CaseIterable {
        case f32 = "F32"
        case f64 = "F64"
        case f16 = "F16"
        case bf16 = "BF16"
        case i64 = "I64"
        case i32 = "I32"
        case u8 = "U8"

        public var byteSize: Int {
            switch self {
            case .f64, .i64: return 8
            case .f32, .i32: return 4
            case .f16, .bf16: return 2
            case .u8: return 1
            }
        }
    }

    /// One tensor: its type, shape and raw little-endian bytes.
    public struct Entry: Equatable, Sendable {
        public var dtype: DType
        public var shape: [Int]
        public var bytes: [UInt8]

        public var elementCount: Int { shape.reduce(1, *) }

        public init(dtype: DType, shape: [Int], bytes: [UInt8]) {
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }

        /// A float32 tensor.
        public init(shape: [Int], floats: [Float]) {
            precondition(shape.reduce(1, *) == floats.count, "shape \(shape) does not hold \(floats.count) values")
            self.init(dtype: .f32, shape: shape, bytes: floats.withUnsafeBytes { Array($0) })
        }

        /// An int64 tensor.
        public init(shape: [Int], int64s: [Int64]) {
            precondition(shape.reduce(1, *) == int64s.count, "shape \(shape) does not hold \(int64s.count) values")
            self.init(dtype: .i64, shape: shape, bytes: int64s.withUnsafeBytes { Array($0) })
        }

        /// The values as Float; F64, F16, BF16 and integer types are converted.
        public func floats() -> [Float] {
            bytes.withUnsafeBytes { raw in
                switch dtype {
                case .f32: return Array(raw.bindMemory(to: Float.self))
                case .f64: return raw.bindMemory(to: Double.self).map { Float($0) }
                case .f16: return raw.bindMemory(to: UInt16.self).map { Float(Float16(bitPattern: $0)) }
                case .bf16: return raw.bindMemory(to: UInt16.self).map { Float(bitPattern: UInt32($0) << 16) }
                case .i64: return raw.bindMemory(to: Int64.self).map { Float($0) }
                case .i32: return raw.bindMemory(to: Int32.self).map { Float($0) }
                case .u8: return raw.map { Float($0) }
                }
            }
        }

        /// The values as Int64; floats are truncated toward zero, and nil when one is
        /// NaN, infinite or outside Int64's range (checked, as converting it would trap).
        public func int64s() -> [Int64]? {
            bytes.withUnsafeBytes { raw in
                switch dtype {
                case .i64: return Array(raw.bindMemory(to: Int64.self))
                case .i32: return raw.bindMemory(to: Int32.self).map { Int64($0) }
                case .u8: return raw.map { Int64($0) }
                default:
                    let values = floats().compactMap { Int64(exactly: $0.rounded(.towardZero)) }
                    return values.count == elementCount ? values : nil
                }
            }
        }
    }

    public var tensors: [String: Entry]
    public var metadata: [String: String]

    public init(tensors: [String: Entry] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }
}
