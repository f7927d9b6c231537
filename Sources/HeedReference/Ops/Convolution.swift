import HeedOps

extension Reference {
    /// Direct convolution, the definition itself: for every output element, the sum over
    /// channels and kernel positions, in Double. `bias` may be nil. Returns (N, O, H', W').
    public static func conv2dForward<T: BinaryFloatingPoint>(
        _ d: Conv2dDescriptor, input: [T], weight: [T], bias: [T]?
    ) -> [T] {
        let (oh, ow) = (d.outputHeight, d.outputWidth)
        var output = [T](repeating: 0, count: d.batch * d.outChannels * oh * ow)
        for n in 0..<d.batch {
            for o in 0..<d.outChannels {
                for y in 0..<oh {
                    for x in 0..<ow {
                        var sum = bias.map { Double($0[o]) } ?? 0
                        for c in 0..<d.inChannels {
                            for i in 0..<d.kernelHeight {
                                for j in 0..<d.kernelWidth {
                                    guard
                                        let at = inputIndex(
                                            d, n, c, y * d.stride - d.padding + i,
                                            x * d.stride - d.padding + j)
                                    else { continue }
                                    sum += Double(weight[weightIndex(d, o, c, i, j)]) * Double(input[at])
                                }
                            }
                        }
                        output[((n * d.outChannels + o) * oh + y) * ow + x] = T(sum)
                    }
                }
            }
        }
        return output
    }

    /// ∂L/∂input (N, C, H, W): every output gradient flows back, through each weight, to
    /// the input element that weight met in the forward pass. Summed in Double.
    public static func conv2dBackwardInput<T: BinaryFloatingPoint>(
        _ d: Conv2dDescriptor, outputGradient: [T], weight: [T]
    ) -> [T] {
        var sums = [Double](repeating: 0, count: d.batch * d.inChannels * d.height * d.width)
        forEachTap(d) { n, o, y, x, c, i, j, at in
            let g = Double(outputGradient[((n * d.outChannels + o) * d.outputHeight + y) * d.outputWidth + x])
            sums[at] += g * Double(weight[weightIndex(d, o, c, i, j)])
        }
        return sums.map { T($0) }
    }

    /// ∂L/∂weight (O, C, kh, kw): output gradient times the input each weight met,
    /// summed over the batch and the output positions, in Double.
    public static func conv2dBackwardWeight<T: BinaryFloatingPoint>(
        _ d: Conv2dDescriptor, input: [T], outputGradient: [T]
    ) -> [T] {
        var sums = [Double](repeating: 0, count: d.outChannels * d.reductionSize)
        forEachTap(d) { n, o, y, x, c, i, j, at in
            let g = Double(outputGradient[((n * d.outChannels + o) * d.outputHeight + y) * d.outputWidth + x])
            sums[weightIndex(d, o, c, i, j)] += g * Double(input[at])
        }
        return sums.map { T($0) }
    }

    /// ∂L/∂bias (O): the output gradient summed over N, H' and W', in Double.
    public static func conv2dBackwardBias<T: BinaryFloatingPoint>(_ d: Conv2dDescriptor, outputGradient: [T]) -> [T] {
        let plane = d.outputHeight * d.outputWidth
        return (0..<d.outChannels).map { o in
            var sum = 0.0
            for n in 0..<d.batch {
                for p in 0..<plane { sum += Double(outputGradient[(n * d.outChannels + o) * plane + p]) }
            }
            return T(sum)
        }
    }

    /// Calls `body(n, o, y, x, c, i, j, inputIndex)` for every product of the forward
    /// sum whose input element lies inside the image (padding contributes nothing).
    private static func forEachTap(
        _ d: Conv2dDescriptor, _ body: (Int, Int, Int, Int, Int, Int, Int, Int) -> Void
    ) {
        for n in 0..<d.batch {
            for o in 0..<d.outChannels {
                for y in 0..<d.outputHeight {
                    for x in 0..<d.outputWidth {
                        for c in 0..<d.inChannels {
                            for i in 0..<d.kernelHeight {
                                for j in 0..<d.kernelWidth {
                                    if let at = inputIndex(
                                        d, n, c, y * d.stride - d.padding + i,
                                        x * d.stride - d.padding + j)
                                    {
                                        body(n, o, y, x, c, i, j, at)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The index of input element (n, c, h, w), or nil when (h, w) is in the padding.
    private static func inputIndex(_ d: Conv2dDescriptor, _ n: Int, _ c: Int, _ h: Int, _ w: Int) -> Int? {
        guard h >= 0, h < d.height, w >= 0, w < d.width else { return nil }
        return ((n * d.inChannels + c) * d.height + h) * d.width + w
    }

    private static func weightIndex(_ d: Conv2dDescriptor, _ o: Int, _ c: Int, _ i: Int, _ j: Int) -> Int {
        ((o * d.inChannels + c) * d.kernelHeight + i) * d.kernelWidth + j
    }
}

extension ReferenceBackend {
    public static let convolution = bodies(convolutionBodies(Float.self), convolutionBodies(Double.self))

    static func convolutionBodies<T: ReferenceScalar>(_: T.Type) -> [ReferenceBody<T>] {
        [
            ReferenceBody(ConvolutionOps.forward) { d, b in
                b.output[T.self] = Reference.conv2dForward(
                    d, input: b.input[T.self], weight: b.weight[T.self],
                    bias: b.optional("bias")?[T.self])
            },
            ReferenceBody(ConvolutionOps.backwardInput) { d, b in
                b.inputGradient[T.self] = Reference.conv2dBackwardInput(
                    d, outputGradient: b.outputGradient[T.self], weight: b.weight[T.self])
            },
            ReferenceBody(ConvolutionOps.backwardWeight) { d, b in
                b.weightGradient[T.self] = Reference.conv2dBackwardWeight(
                    d, input: b.input[T.self], outputGradient: b.outputGradient[T.self])
            },
            ReferenceBody(ConvolutionOps.backwardBias) { d, b in
                b.biasGradient[T.self] = Reference.conv2dBackwardBias(d, outputGradient: b.outputGradient[T.self])
            },
        ]
    }
}
