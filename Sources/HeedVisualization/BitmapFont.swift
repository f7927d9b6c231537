/// A built-in 5×7 pixel font, so figures need no font files or text library.
///
/// Covers A–Z, 0–9, space and `.:-=%()/,+_'!?[]`; lower-case letters are drawn as
/// upper-case, and any other character as a hollow box (so a missing glyph is visible).
///
/// ```swift
/// canvas.draw(text: "att2 head 1  g=0.43", at: (x: 8, y: 8), scale: 2)
/// ```
public enum BitmapFont {
    public static let glyphWidth = 5
    public static let glyphHeight = 7
    /// Distance between the left edges of neighbouring glyphs: a glyph and one blank column.
    public static let advance = 6

    /// The size in pixels of `text` drawn at `scale` (no trailing blank column).
    public static func size(of text: String, scale: Int = 1) -> (width: Int, height: Int) {
        (width: text.isEmpty ? 0 : (text.count * advance - 1) * scale, height: glyphHeight * scale)
    }

    /// The glyph of `character`: `glyphHeight` rows, top first, each row's `glyphWidth`
    /// low bits with the leftmost column in bit `glyphWidth − 1`.
    static func glyph(for character: Character) -> [UInt8] {
        if let rows = glyphs[character] { return rows }
        let upper = character.uppercased()
        if upper.count == 1, let rows = glyphs[Character(upper)] { return rows }
        return unknown
    }

    private static let unknown = bits(["#####", "#   #", "#   #", "#   #", "#   #", "#   #", "#####"])

    private static let glyphs: [Character: [UInt8]] = pictures.mapValues(bits)

    /// Rows of `#` (ink) and space, `glyphWidth` characters each.
    private static func bits(_ rows: [String]) -> [UInt8] {
        rows.map { row in row.reduce(0) { ($0 << 1) | ($1 == "#" ? 1 : 0) } }
    }

    private static let pictures: [Character: [String]] = [
        " ": ["     ", "     ", "     ", "     ", "     ", "     ", "     "],
        "0": [" ### ", "#   #", "#  ##", "# # #", "##  #", "#   #", " ### "],
        "1": ["  #  ", " ##  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "],
        "2": [" ### ", "#   #", "    #", "   # ", "  #  ", " #   ", "#####"],
        "3": ["#####", "   # ", "  #  ", "   # ", "    #", "#   #", " ### "],
        "4": ["   # ", "  ## ", " # # ", "#  # ", "#####", "   # ", "   # "],
        "5": ["#####", "#    ", "#### ", "    #", "    #", "#   #", " ### "],
        "6": ["  ## ", " #   ", "#    ", "#### ", "#   #", "#   #", " ### "],
        "7": ["#####", "    #", "   # ", "  #  ", " #   ", " #   ", " #   "],
        "8": [" ### ", "#   #", "#   #", " ### ", "#   #", "#   #", " ### "],
        "9": [" ### ", "#   #", "#   #", " ####", "    #", "   # ", " ##  "],
        "A": [" ### ", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"],
        "B": ["#### ", "#   #", "#   #", "#### ", "#   #", "#   #", "#### "],
        "C": [" ### ", "#   #", "#    ", "#    ", "#    ", "#   #", " ### "],
        "D": ["#### ", "#   #", "#   #", "#   #", "#   #", "#   #", "#### "],
        "E": ["#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#####"],
        "F": ["#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#    "],
        "G": [" ### ", "#   #", "#    ", "# ###", "#   #", "#   #", " ####"],
        "H": ["#   #", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"],
        "I": [" ### ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "],
        "J": ["  ###", "   # ", "   # ", "   # ", "   # ", "#  # ", " ##  "],
        "K": ["#   #", "#  # ", "# #  ", "##   ", "# #  ", "#  # ", "#   #"],
        "L": ["#    ", "#    ", "#    ", "#    ", "#    ", "#    ", "#####"],
        "M": ["#   #", "## ##", "# # #", "# # #", "#   #", "#   #", "#   #"],
        "N": ["#   #", "#   #", "##  #", "# # #", "#  ##", "#   #", "#   #"],
        "O": [" ### ", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "],
        "P": ["#### ", "#   #", "#   #", "#### ", "#    ", "#    ", "#    "],
        "Q": [" ### ", "#   #", "#   #", "#   #", "# # #", "#  # ", " ## #"],
        "R": ["#### ", "#   #", "#   #", "#### ", "# #  ", "#  # ", "#   #"],
        "S": [" ####", "#    ", "#    ", " ### ", "    #", "    #", "#### "],
        "T": ["#####", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  "],
        "U": ["#   #", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "],
        "V": ["#   #", "#   #", "#   #", "#   #", "#   #", " # # ", "  #  "],
        "W": ["#   #", "#   #", "#   #", "# # #", "# # #", "# # #", " # # "],
        "X": ["#   #", "#   #", " # # ", "  #  ", " # # ", "#   #", "#   #"],
        "Y": ["#   #", "#   #", " # # ", "  #  ", "  #  ", "  #  ", "  #  "],
        "Z": ["#####", "    #", "   # ", "  #  ", " #   ", "#    ", "#####"],
        ".": ["     ", "     ", "     ", "     ", "     ", " ##  ", " ##  "],
        ",": ["     ", "     ", "     ", "     ", " ##  ", "  #  ", " #   "],
        ":": ["     ", " ##  ", " ##  ", "     ", " ##  ", " ##  ", "     "],
        "-": ["     ", "     ", "     ", "#####", "     ", "     ", "     "],
        "=": ["     ", "     ", "#####", "     ", "#####", "     ", "     "],
        "+": ["     ", "  #  ", "  #  ", "#####", "  #  ", "  #  ", "     "],
        "_": ["     ", "     ", "     ", "     ", "     ", "     ", "#####"],
        "%": ["##   ", "##  #", "   # ", "  #  ", " #   ", "#  ##", "   ##"],
        "/": ["     ", "    #", "   # ", "  #  ", " #   ", "#    ", "     "],
        "(": ["   # ", "  #  ", " #   ", " #   ", " #   ", "  #  ", "   # "],
        ")": [" #   ", "  #  ", "   # ", "   # ", "   # ", "  #  ", " #   "],
        "[": [" ### ", " #   ", " #   ", " #   ", " #   ", " #   ", " ### "],
        "]": [" ### ", "   # ", "   # ", "   # ", "   # ", "   # ", " ### "],
        "'": ["  #  ", "  #  ", " #   ", "     ", "     ", "     ", "     "],
        "!": ["  #  ", "  #  ", "  #  ", "  #  ", "  #  ", "     ", "  #  "],
        "?": [" ### ", "#   #", "    #", "   # ", "  #  ", "     ", "  #  "],
    ]
}

extension Canvas {
    /// Writes `text` in `BitmapFont` with its top-left corner at `origin`, each font pixel
    /// a `scale × scale` block; only ink is painted, so the background shows through.
    public mutating func draw(text: String, at origin: (x: Int, y: Int), scale: Int = 1, colour: Colour = .black) {
        precondition(scale >= 1, "scale \(scale)")
        for (index, character) in text.enumerated() {
            let left = origin.x + index * BitmapFont.advance * scale
            for (row, bits) in BitmapFont.glyph(for: character).enumerated() {
                for column in 0..<BitmapFont.glyphWidth where bits >> (BitmapFont.glyphWidth - 1 - column) & 1 == 1 {
                    fill(x: left + column * scale, y: origin.y + row * scale, width: scale, height: scale, colour: colour)
                }
            }
        }
    }
}
