import HeedOps

extension Reference {
    /// Mean of each (n, c) plane, summed in Double: (N, C, H, W) → (N, C).
    public static func globalAveragePoolForward<T: BinaryFloatingPoint>(_ d: GlobalPoolDescriptor, input: [T]) -> [T] {
        let plane = d.height * d.width
        return (0..<d.batch * d.channels).map { nc in
            T((0..<plane).reduce(0.0) { $0 + Double(input[nc * plane + $1]) } / Double(plane))
        }
    }

    /// ∂L/∂input: each (n, c) plane filled with ∂L/∂output[n, c] / (H·W).
    public static func globalAveragePoolBackward<T: BinaryFloatingPoint>(_ d: GlobalPoolDescriptor, outputGradient: [T]) -> [T] {
        let plane = d.height * d.width
        return (0..<d.batch * d.channels * plane).map { T(Double(outputGradient[$0 / plane]) / Double(plane)) }
    }

    /// Sum of each k×k window's input elements, in Double, divided by k² (padded positions
    /// count as zeros, PyTorch's `count_include_pad`). Returns (N, C, H', W').
    public static func averagePool2dForward<T: BinaryFloatingPoint>(_ d: Pool2dDescriptor, input: [T]) -> [T] {
        var output = [T](repeating: 0, count: d.outputShape.reduce(1, *))
        let window = Double(d.kernelSize * d.kernelSize)
        forEachWindow(d) { out, base, taps in
            output[out] = T(taps.reduce(0.0) { $0 + Double(input[base + $1]) } / window)
        }
        return output
    }

    /// ∂L/∂input: every output gradient / k² added to each input element of its window, in Double.
    public static func averagePool2dBackward<T: BinaryFloatingPoint>(_ d: Pool2dDescriptor, outputGradient: [T]) -> [T] {
        var sums = [Double](repeating: 0, count: d.inputShape.reduce(1, *))
        let window = Double(d.kernelSize * d.kernelSize)
        forEachWindow(d) { out, base, taps in
            for tap in taps { sums[base + tap] += Double(outputGradient[out]) / window }
        }
        return sums.map { T($0) }
    }

    /// Largest element of each window and its flat index h·W + w in its plane, by the rule of
    /// PyTorch's CPU kernel as its source reads (the tests check ties and NaN by this rule,
    /// not against PyTorch's output): start from −∞ at the window's first input element, scan
    /// row by row, move on to an element that is larger or NaN. Padded positions are never
    /// looked at (they are −∞). Returns the (N, C, H', W') values and indices.
    public static func maxPool2dForward<T: BinaryFloatingPoint>(_ d: Pool2dDescriptor, input: [T]) -> (values: [T], indices: [Int32]) {
        let count = d.outputShape.reduce(1, *)
        var values = [T](repeating: 0, count: count)
        var indices = [Int32](repeating: 0, count: count)
        forEachWindow(d) { out, base, taps in
            var best = (value: -T.infinity, index: taps[0])
            for tap in taps where input[base + tap] > best.value || input[base + tap].isNaN {
                best = (input[base + tap], tap)
            }
            values[out] = best.value
            indices[out] = Int32(best.index)
        }
        return (values, indices)
    }

    /// ∂L/∂input: each output gradient added to the element its index names, in Double.
    /// Returns nil when an index lies outside its window (not written by `maxPool2dForward`).
    public static func maxPool2dBackward<T: BinaryFloatingPoint>(_ d: Pool2dDescriptor, outputGradient: [T], indices: [Int32]) -> [T]? {
        var sums = [Double](repeating: 0, count: d.inputShape.reduce(1, *))
        var valid = true
        forEachWindow(d) { out, base, taps in
            let index = Int(indices[out])
            guard taps.contains(index) else {
                valid = false
                return
            }
            sums[base + index] += Double(outputGradient[out])
        }
        return valid ? sums.map { T($0) } : nil
    }

    /// Calls `body(outputIndex, planeStart, taps)` for every window in output order, where
    /// `taps` are the flat in-plane indices h·W + w of the window's input elements (padded
    /// positions left out), row by row, and `planeStart` is the index of the plane's first
    /// input element.
    private static func forEachWindow(_ d: Pool2dDescriptor, _ body: (Int, Int, [Int]) -> Void) {
        let (oh, ow) = (d.outputHeight, d.outputWidth)
        for nc in 0..<d.batch * d.channels {
            for y in 0..<oh {
                for x in 0..<ow {
                    let taps = (0..<d.kernelSize * d.kernelSize).compactMap { t -> Int? in
                        let (h, w) = (y * d.stride - d.padding + t / d.kernelSize, x * d.stride - d.padding + t % d.kernelSize)
                        return (0..<d.height).contains(h) && (0..<d.width).contains(w) ? h * d.width + w : nil
                    }
                    body((nc * oh + y) * ow + x, nc * d.height * d.width, taps)
                }
            }
        }
    }
}

extension ReferenceBackend {
    public static let pooling = bodies(poolingBodies(Float.self), poolingBodies(Double.self))

    static func poolingBodies<T: ReferenceScalar>(_: T.Type) -> [ReferenceBody<T>] {
        [
            ReferenceBody(PoolingOps.globalAverageForward) { d, b in
                b.output[T.self] = Reference.globalAveragePoolForward(d, input: b.input[T.self])
            },
            ReferenceBody(PoolingOps.globalAverageBackward) { d, b in
                b.inputGradient[T.self] = Reference.globalAveragePoolBackward(d, outputGradient: b.outputGradient[T.self])
            },
            ReferenceBody(PoolingOps.averageForward) { d, b in
                b.output[T.self] = Reference.averagePool2dForward(d, input: b.input[T.self])
            },
            ReferenceBody(PoolingOps.averageBackward) { d, b in
                b.inputGradient[T.self] = Reference.averagePool2dBackward(d, outputGradient: b.outputGradient[T.self])
            },
            ReferenceBody(PoolingOps.maxForward) { d, b in
                (b.output[T.self], b.indices.ints) = Reference.maxPool2dForward(d, input: b.input[T.self])
            },
            ReferenceBody(PoolingOps.maxBackward) { d, b in
                guard let sums = Reference.maxPool2dBackward(d, outputGradient: b.outputGradient[T.self], indices: b.indices.ints) else {
                    throw HeedError.invalidArgument(op: PoolingOps.maxBackward.errorName, "an index lies outside its window, in \(d)")
                }
                b.inputGradient[T.self] = sums
            },
        ]
    }
}
