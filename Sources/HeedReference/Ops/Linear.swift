import HeedOps

extension Reference {
    /// `y[n,o] = b[o] + Σ_i x[n,i]·W[o,i]`, summed in Double; `bias` may be nil. Returns (N, out).
    public static func linearForward<T: BinaryFloatingPoint>(_ d: LinearDescriptor, input: [T], weight: [T], bias: [T]?) -> [T] {
        var output = [T](repeating: 0, count: d.batch * d.outFeatures)
        for n in 0..<d.batch {
            for o in 0..<d.outFeatures {
                var sum = bias.map { Double($0[o]) } ?? 0
                for i in 0..<d.inFeatures { sum += Double(input[n * d.inFeatures + i]) * Double(weight[o * d.inFeatures + i]) }
                output[n * d.outFeatures + o] = T(sum)
            }
        }
        return output
    }

    /// `dx[n,i] = Σ_o dy[n,o]·W[o,i]`, summed in Double. Returns (N, in).
    public static func linearBackwardInput<T: BinaryFloatingPoint>(_ d: LinearDescriptor, outputGradient: [T], weight: [T]) -> [T] {
        var result = [T](repeating: 0, count: d.batch * d.inFeatures)
        for n in 0..<d.batch {
            for i in 0..<d.inFeatures {
                var sum = 0.0
                for o in 0..<d.outFeatures {
                    sum += Double(outputGradient[n * d.outFeatures + o]) * Double(weight[o * d.inFeatures + i])
                }
                result[n * d.inFeatures + i] = T(sum)
            }
        }
        return result
    }

    /// `dW[o,i] = Σ_n dy[n,o]·x[n,i]`, summed in Double. Returns (out, in).
    public static func linearBackwardWeight<T: BinaryFloatingPoint>(_ d: LinearDescriptor, input: [T], outputGradient: [T]) -> [T] {
        var result = [T](repeating: 0, count: d.outFeatures * d.inFeatures)
        for o in 0..<d.outFeatures {
            for i in 0..<d.inFeatures {
                var sum = 0.0
                for n in 0..<d.batch {
                    sum += Double(outputGradient[n * d.outFeatures + o]) * Double(input[n * d.inFeatures + i])
                }
                result[o * d.inFeatures + i] = T(sum)
            }
        }
        return result
    }

    /// `db[o] = Σ_n dy[n,o]`, summed in Double. Returns (out).
    public static func linearBackwardBias<T: BinaryFloatingPoint>(_ d: LinearDescriptor, outputGradient: [T]) -> [T] {
        (0..<d.outFeatures).map { o in
            T((0..<d.batch).reduce(0.0) { $0 + Double(outputGradient[$1 * d.outFeatures + o]) })
        }
    }
}

extension ReferenceBackend {
    public static let linear = bodies(linearBodies(Float.self), linearBodies(Double.self))

    static func linearBodies<T: ReferenceScalar>(_: T.Type) -> [ReferenceBody<T>] {
        [
            ReferenceBody(LinearOps.forward) { d, b in
                b.output[T.self] = Reference.linearForward(
                    d, input: b.input[T.self], weight: b.weight[T.self],
                    bias: b.optional("bias")?[T.self])
            },
            ReferenceBody(LinearOps.backwardInput) { d, b in
                b.inputGradient[T.self] = Reference.linearBackwardInput(
                    d, outputGradient: b.outputGradient[T.self], weight: b.weight[T.self])
            },
            ReferenceBody(LinearOps.backwardWeight) { d, b in
                b.weightGradient[T.self] = Reference.linearBackwardWeight(
                    d, input: b.input[T.self], outputGradient: b.outputGradient[T.self])
            },
            ReferenceBody(LinearOps.backwardBias) { d, b in
                b.biasGradient[T.self] = Reference.linearBackwardBias(d, outputGradient: b.outputGradient[T.self])
            },
        ]
    }
}
