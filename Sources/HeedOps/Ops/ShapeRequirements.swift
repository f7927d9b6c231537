/// Shape checks shared by the descriptors of the softmax, loss and attention families.
enum ShapeRequirements {
    /// Throws `invalidArgument` naming the first negative size.
    static func requireNonNegative(_ op: String, _ sizes: KeyValuePairs<String, Int>) throws {
        for (name, value) in sizes where value < 0 {
            throw HeedError.invalidArgument(op: op, "\(name) = \(value) is negative")
        }
    }

    /// Throws `shapeMismatch` unless buffer `name` holds exactly `expected` elements,
    /// naming the op, the buffer's role and shape, and the call's shapes.
    static func requireCount(
        _ op: String, _ name: String, shape: String, expected: Int, count: Int,
        in context: CustomStringConvertible
    ) throws {
        guard count == expected else {
            throw HeedError.shapeMismatch(
                op: op, "\(name) \(shape) needs \(expected) elements, buffer has \(count), in \(context)")
        }
    }
}
