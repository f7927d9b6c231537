/// Pillow's bilinear resize (`Image.resize(size, Image.BILINEAR)`, what torchvision's
/// `Resize` and `RandomResizedCrop` do to the PIL images its `ImageFolder` reads),
/// reproduced step for step so that the pixels are Pillow's exactly.
///
/// Pillow resamples separably, rows first, then columns, each pass rounding to 8 bits.
/// The filter is the triangle `1 − |x|` stretched by the downscale factor (so shrinking
/// averages every source pixel it covers: the antialiasing of torchvision's
/// `antialias=True`), its weights normalised in Double and then rounded to 22-bit fixed
/// point, and each output value is `(2^21 + Σ pixel·weight) >> 22` clamped to 0...255
/// (libImaging/Resample.c: `precompute_coeffs`, `normalize_coeffs_8bpc`, `clip8`).
extension RGBImage {
    /// Pillow's `PRECISION_BITS` for 8-bit images: 32 − 8 − 2.
    static let resamplePrecisionBits = 22

    /// The image resized to `newWidth × newHeight` as Pillow's bilinear filter does it.
    /// A side already at its size is not resampled (Pillow skips that pass).
    public func pillowBilinear(width newWidth: Int, height newHeight: Int) -> RGBImage {
        precondition(newWidth > 0 && newHeight > 0, "resize to \(newWidth)x\(newHeight)")
        var current = self
        if newWidth != width {
            let taps = Self.pillowTaps(inputSize: width, outputSize: newWidth)
            current = current.resampledRows(taps, outputWidth: newWidth)
        }
        if newHeight != height {
            let taps = Self.pillowTaps(inputSize: height, outputSize: newHeight)
            current = current.resampledColumns(taps, outputHeight: newHeight)
        }
        return current
    }

    /// The pixels `x ..< x + cropWidth`, `y ..< y + cropHeight` (PIL's `crop`).
    public func cropped(x: Int, y: Int, width cropWidth: Int, height cropHeight: Int) -> RGBImage {
        precondition(
            x >= 0 && y >= 0 && cropWidth > 0 && cropHeight > 0 && x + cropWidth <= width && y + cropHeight <= height,
            "crop \(cropWidth)x\(cropHeight) at (\(x), \(y)) of a \(width)x\(height) image")
        var output = [UInt8]()
        output.reserveCapacity(cropWidth * cropHeight * 3)
        for row in y..<(y + cropHeight) {
            output += pixels[((row * width + x) * 3)..<((row * width + x + cropWidth) * 3)]
        }
        return RGBImage(width: cropWidth, height: cropHeight, pixels: output)
    }

    /// The image mirrored left to right.
    public func flippedHorizontally() -> RGBImage {
        var output = pixels
        for row in 0..<height {
            for x in 0..<width {
                for c in 0..<3 { output[(row * width + x) * 3 + c] = pixels[(row * width + width - 1 - x) * 3 + c] }
            }
        }
        return RGBImage(width: width, height: height, pixels: output)
    }

    /// One output position's source span and its fixed-point weights.
    struct Tap {
        var first: Int
        var weights: [Int]
    }

    /// Pillow's `precompute_coeffs` for the bilinear filter (support 1) over the whole
    /// input, then `normalize_coeffs_8bpc`; the arithmetic in Pillow's order, so the
    /// Double values and hence the rounded weights are the same.
    static func pillowTaps(inputSize: Int, outputSize: Int) -> [Tap] {
        let scale = Double(inputSize) / Double(outputSize)
        let filterScale = max(scale, 1.0)
        let support = 1.0 * filterScale
        let inverse = 1.0 / filterScale
        let one = Double(1 << resamplePrecisionBits)
        return (0..<outputSize).map { position in
            let centre = (Double(position) + 0.5) * scale
            // C's (int) cast: truncation toward zero, as Swift's Int(_:) of a Double.
            let first = max(Int(centre - support + 0.5), 0)
            let end = min(Int(centre + support + 0.5), inputSize)
            var weights = (first..<max(end, first)).map { x -> Double in
                let distance = abs((Double(x) - centre + 0.5) * inverse)
                return distance < 1.0 ? 1.0 - distance : 0.0
            }
            let total = weights.reduce(0, +)
            if total != 0 { weights = weights.map { $0 / total } }
            return Tap(first: first, weights: weights.map { $0 < 0 ? Int(-0.5 + $0 * one) : Int(0.5 + $0 * one) })
        }
    }

    /// `(2^21 + sum) >> 22`, clamped to a byte (Pillow's `clip8`).
    private static func clip8(_ sum: Int) -> UInt8 {
        UInt8(clamping: sum >> resamplePrecisionBits)
    }

    private func resampledRows(_ taps: [Tap], outputWidth: Int) -> RGBImage {
        let half = 1 << (Self.resamplePrecisionBits - 1)
        var output = [UInt8](repeating: 0, count: outputWidth * height * 3)
        pixels.withUnsafeBufferPointer { source in
            for row in 0..<height {
                for (x, tap) in taps.enumerated() {
                    for c in 0..<3 {
                        var sum = half
                        for (k, weight) in tap.weights.enumerated() {
                            sum += Int(source[(row * width + tap.first + k) * 3 + c]) * weight
                        }
                        output[(row * outputWidth + x) * 3 + c] = Self.clip8(sum)
                    }
                }
            }
        }
        return RGBImage(width: outputWidth, height: height, pixels: output)
    }

    private func resampledColumns(_ taps: [Tap], outputHeight: Int) -> RGBImage {
        let half = 1 << (Self.resamplePrecisionBits - 1)
        let rowBytes = width * 3
        var output = [UInt8](repeating: 0, count: width * outputHeight * 3)
        pixels.withUnsafeBufferPointer { source in
            for (y, tap) in taps.enumerated() {
                for i in 0..<rowBytes {
                    var sum = half
                    for (k, weight) in tap.weights.enumerated() {
                        sum += Int(source[(tap.first + k) * rowBytes + i]) * weight
                    }
                    output[y * rowBytes + i] = Self.clip8(sum)
                }
            }
        }
        return RGBImage(width: width, height: outputHeight, pixels: output)
    }
}
