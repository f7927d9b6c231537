import HeedOps

extension Reference {
    /// Calls `body(n, o, y, x, c, i, j, inputIndex)` for every product of the grouped
    /// convolution: output (n, o, y, x), the weight's group channel c and tap (i, j), and
    /// the flat index of the input element that meets it (taps in the padding are skipped).
    static func forEachGroupedTap(_ d: GroupedConv2dDescriptor, _ body: (Int, Int, Int, Int, Int, Int, Int, Int) -> Void) {
        let outPerGroup = d.outChannels / d.groups
        for n in 0..<d.batch {
            for o in 0..<d.outChannels {
                let firstChannel = o / outPerGroup * d.groupInChannels
                for y in 0..<d.outputHeight {
                    for x in 0..<d.outputWidth {
                        for c in 0..<d.groupInChannels {
                            for i in 0..<d.kernelHeight {
                                for j in 0..<d.kernelWidth {
                                    let (row, column) = (y * d.stride - d.padding + i, x * d.stride - d.padding + j)
                                    guard (0..<d.height).contains(row), (0..<d.width).contains(column) else { continue }
                                    let at = ((n * d.inChannels + firstChannel + c) * d.height + row) * d.width + column
                                    body(n, o, y, x, c, i, j, at)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    static func groupedWeightIndex(_ d: GroupedConv2dDescriptor, _ o: Int, _ c: Int, _ i: Int, _ j: Int) -> Int {
        ((o * d.groupInChannels + c) * d.kernelHeight + i) * d.kernelWidth + j
    }

    static func groupedOutputIndex(_ d: GroupedConv2dDescriptor, _ n: Int, _ o: Int, _ y: Int, _ x: Int) -> Int {
        ((n * d.outChannels + o) * d.outputHeight + y) * d.outputWidth + x
    }

    /// The definition itself: every output the sum of its group's products, plus the
    /// bias, in Double. Returns (N, O, H', W').
    public static func groupedConv2dForward<T: BinaryFloatingPoint>(
        _ d: GroupedConv2dDescriptor, input: [T], weight: [T], bias: [T]?
    ) -> [T] {
        var sums = [Double](repeating: 0, count: d.outputShape.reduce(1, *))
        if let bias {
            for n in 0..<d.batch {
                for o in 0..<d.outChannels {
                    let plane = groupedOutputIndex(d, n, o, 0, 0)
                    for s in 0..<(d.outputHeight * d.outputWidth) { sums[plane + s] = Double(bias[o]) }
                }
            }
        }
        forEachGroupedTap(d) { n, o, y, x, c, i, j, at in
            sums[groupedOutputIndex(d, n, o, y, x)] += Double(weight[groupedWeightIndex(d, o, c, i, j)]) * Double(input[at])
        }
        return sums.map { T($0) }
    }

    /// ∂L/∂input (N, C, H, W): each product's output gradient times its weight, added to
    /// the input element it met. Summed in Double.
    public static func groupedConv2dBackwardInput<T: BinaryFloatingPoint>(
        _ d: GroupedConv2dDescriptor, outputGradient: [T], weight: [T]
    ) -> [T] {
        var sums = [Double](repeating: 0, count: d.inputShape.reduce(1, *))
        forEachGroupedTap(d) { n, o, y, x, c, i, j, at in
            sums[at] += Double(outputGradient[groupedOutputIndex(d, n, o, y, x)]) * Double(weight[groupedWeightIndex(d, o, c, i, j)])
        }
        return sums.map { T($0) }
    }

    /// ∂L/∂weight (O, C/G, kh, kw): each product's output gradient times the input it met,
    /// added to its weight. Summed in Double.
    public static func groupedConv2dBackwardWeight<T: BinaryFloatingPoint>(
        _ d: GroupedConv2dDescriptor, input: [T], outputGradient: [T]
    ) -> [T] {
        var sums = [Double](repeating: 0, count: d.weightShape.reduce(1, *))
        forEachGroupedTap(d) { n, o, y, x, c, i, j, at in
            sums[groupedWeightIndex(d, o, c, i, j)] += Double(outputGradient[groupedOutputIndex(d, n, o, y, x)]) * Double(input[at])
        }
        return sums.map { T($0) }
    }
}

extension ReferenceBackend {
    public static let groupedConvolution = bodies(groupedConvolutionBodies(Float.self), groupedConvolutionBodies(Double.self))

    static func groupedConvolutionBodies<T: ReferenceScalar>(_: T.Type) -> [ReferenceBody<T>] {
        [
            ReferenceBody(GroupedConvolutionOps.forward) { d, b in
                b.output[T.self] = Reference.groupedConv2dForward(
                    d, input: b.input[T.self], weight: b.weight[T.self],
                    bias: b.optional("bias")?[T.self])
            },
            ReferenceBody(GroupedConvolutionOps.backwardInput) { d, b in
                b.inputGradient[T.self] = Reference.groupedConv2dBackwardInput(
                    d, outputGradient: b.outputGradient[T.self],
                    weight: b.weight[T.self])
            },
            ReferenceBody(GroupedConvolutionOps.backwardWeight) { d, b in
                b.weightGradient[T.self] = Reference.groupedConv2dBackwardWeight(
                    d, input: b.input[T.self],
                    outputGradient: b.outputGradient[T.self])
            },
        ]
    }
}
