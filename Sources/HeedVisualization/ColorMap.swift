/// A colour map: values in [0, 1] to RGB colours, by linear interpolation between knots.
///
/// ```swift
/// let hot = ColorMap.viridis.colour(at: 1)   // yellow
/// ```
public struct ColorMap: Sendable {
    /// RGB components in [0, 1], evenly spaced over [0, 1]; at least two.
    private let knots: [SIMD3<Float>]

    init(knots: [SIMD3<Float>]) {
        precondition(knots.count >= 2, "a colour map needs at least two knots")
        self.knots = knots
    }

    /// The colour of `value`, clamped to [0, 1] (NaN maps to 0).
    public func colour(at value: Float) -> Colour {
        let clamped = value.isNaN ? 0 : min(max(value, 0), 1)
        let position = clamped * Float(knots.count - 1)
        let lower = min(Int(position), knots.count - 2)
        let fraction = position - Float(lower)
        let rgb = (knots[lower] * (1 - fraction) + knots[lower + 1] * fraction) * 255
        return Colour(red: UInt8(rgb.x.rounded()), green: UInt8(rgb.y.rounded()), blue: UInt8(rgb.z.rounded()))
    }
}

extension ColorMap {
    /// Viridis (perceptually uniform, luminance rising from dark purple to yellow, readable
    /// in grey and by colour-blind viewers), so brighter always means more attention.
    ///
    /// Knots are entries 0, 17, 34, …, 255 of matplotlib's 256-entry `_viridis_data` table
    /// (`lib/matplotlib/_cm_listed.py`, by Stéfan van der Walt and Nathaniel Smith, CC0);
    /// between knots the interpolated colour is within a few 255ths of the full table (most,
    /// about 7/255 in blue, near the yellow end), too little to see in an overlay.
    public static let viridis = ColorMap(knots: [
        SIMD3(0.267004, 0.004874, 0.329415),
        SIMD3(0.282656, 0.100196, 0.422160),
        SIMD3(0.277134, 0.185228, 0.489898),
        SIMD3(0.253935, 0.265254, 0.529983),
        SIMD3(0.221989, 0.339161, 0.548752),
        SIMD3(0.190631, 0.407061, 0.556089),
        SIMD3(0.163625, 0.471133, 0.558148),
        SIMD3(0.139147, 0.533812, 0.555298),
        SIMD3(0.120565, 0.596422, 0.543611),
        SIMD3(0.134692, 0.658636, 0.517649),
        SIMD3(0.208030, 0.718701, 0.472873),
        SIMD3(0.327796, 0.773980, 0.406640),
        SIMD3(0.477504, 0.821444, 0.318195),
        SIMD3(0.647257, 0.858400, 0.209861),
        SIMD3(0.824940, 0.884720, 0.106217),
        SIMD3(0.993248, 0.906157, 0.143936),
    ])
}
