import HeedOps

extension Tolerance {
    /// `float32Sum` with the terms the op's table entry counts for `descriptor`, for a
    /// comparison that pairs it with its own scale.
    static func ofSums<Descriptor>(_ op: OpDefinition<Descriptor>, _ descriptor: Descriptor) -> Tolerance {
        guard case let .sums(terms) = op.tolerance else {
            preconditionFailure("\(op.name) does not state its tolerance as a sum bound")
        }
        return .float32Sum(terms: terms(descriptor))
    }
}
