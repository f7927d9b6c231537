/// Prints rows under a header as they come, in columns sized for their content,
/// so long-running commands show each result the moment it exists.
final class TextTable {
    private let widths: [Int]

    /// - Parameter columns: header titles; the width of each column is that of its
    ///   title or `minimumWidth`, whichever is larger (the last column is free).
    init(columns: [String], minimumWidths: [Int] = [14, 42, 11, 11, 16]) {
        widths = columns.indices.map { index in
            max(columns[index].count, index < minimumWidths.count ? minimumWidths[index] : 0)
        }
        printRow(columns)
        printRow(widths.map { String(repeating: "-", count: $0) })
    }

    func printRow(_ cells: [String]) {
        let padded = cells.enumerated().map { index, cell in
            index == cells.count - 1 ? cell : cell.padding(toLength: max(widths[index], cell.count), withPad: " ", startingAt: 0)
        }
        print(padded.joined(separator: "  "))
    }
}
