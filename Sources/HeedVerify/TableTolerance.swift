import HeedOps

extension OpDefinition {
    /// The terms the op's sum bound counts for `descriptor`.
    func sumTerms(_ descriptor: Descriptor) -> Int {
        guard case .sums(let terms) = tolerance else {
            preconditionFailure("\(name) does not state its tolerance as a sum bound")
        }
        return terms(descriptor)
    }
}

extension Tolerance {
    /// `float32Sum` with the terms the op's table entry counts for `descriptor`, for a
    /// comparison that pairs it with its own scale.
    static func ofSums<Descriptor>(_ op: OpDefinition<Descriptor>, _ descriptor: Descriptor) -> Tolerance {
        .float32Sum(terms: op.sumTerms(descriptor))
    }
}

extension Comparison {
    /// `ofSums` with the terms the op's table entry counts for `descriptor`.
    public static func ofSums<Descriptor>(
        _ op: OpDefinition<Descriptor>, _ descriptor: Descriptor, actual: [Float],
        expected: [Float], integers: Bool, scale: [Double]
    ) -> Comparison {
        ofSums(actual: actual, expected: expected, integers: integers, terms: op.sumTerms(descriptor), scale: scale)
    }
}
