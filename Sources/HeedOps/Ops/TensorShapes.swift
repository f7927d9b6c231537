/// Shape checks the convolution, linear and pooling descriptors share.
enum TensorShapes {
    /// `(2, 3, 7, 7)`, the way PyTorch prints a size.
    static func format(_ shape: [Int]) -> String {
        "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }

    /// Throws `HeedError.shapeMismatch(op:…)` unless each buffer that was given
    /// (`count` not nil) holds exactly the elements of its tensor's shape.
    ///
    /// - Parameter context: the operation's description, which names every shape.
    static func checkCounts(
        _ op: String, _ buffers: [(name: String, count: Int?, shape: [Int])],
        in context: String
    ) throws {
        for (name, count, shape) in buffers {
            guard let count else { continue }
            let needed = shape.reduce(1, *)
            guard count == needed else {
                throw HeedError.shapeMismatch(
                    op: op, "\(name) buffer has \(count) elements, \(name) \(format(shape)) needs \(needed), in \(context)")
            }
        }
    }
}
