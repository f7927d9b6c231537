/// A tensor that holds NaN or infinity, refused before its file is written.
public struct NonFiniteTensorError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let tensor: String

    public init(path: String, tensor: String) {
        self.path = path
        self.tensor = tensor
    }

    public var description: String { "\(path): not written: tensor '\(tensor)' holds NaN or infinity" }
}

extension SafeTensors {
    /// Throws ``NonFiniteTensorError`` naming the first F32 tensor (in name order)
    /// with a value that is not finite.
    ///
    /// - Parameter path: the file about to be written, named in the error.
    public func requireFinite(path: String) throws {
        for name in tensors.keys.sorted() {
            guard let entry = tensors[name], entry.dtype == .f32 else { continue }
            if entry.floats().contains(where: { !$0.isFinite }) {
                throw NonFiniteTensorError(path: path, tensor: name)
            }
        }
    }
}
