import Foundation
import HeedSupport
import HeedTraining

/// The predictions of `heed predict`, one per image: each printed as a line as it comes,
/// all written as JSON or CSV at the end.
struct PredictionReport {
    let classNames: [String]
    /// Classes listed per image: --top-k, at most all.
    let topK: Int
    private var rows: [Row] = []

    init(classNames: [String], topK: Int) {
        self.classNames = classNames
        self.topK = min(topK, classNames.count)
    }

    /// One image's prediction, in the JSON file's form.
    struct Row: Encodable {
        struct Ranked: Encodable {
            let index: Int
            let name: String
            let probability: Double
        }

        /// The Coarse2Fine zoom: s, tx, ty and the box it covers, [x0, y0, x1, y1] in the
        /// image's pixels from its top-left corner.
        struct Zoom: Encodable {
            let s: Float
            let tx: Float
            let ty: Float
            let box: [Double]
        }

        let path: String
        let topK: [Ranked]
        let probabilities: [Double]
        let zoom: Zoom?

        enum CodingKeys: String, CodingKey {
            case path
            case topK = "top_k"
            case probabilities, zoom
        }
    }

    /// Adds the prediction for the image at `path` (of `width × height` pixels) and
    /// returns its line: `path: name p, name p, ...`, then `; zoom s S box (x0, y0)-(x1, y1)`.
    mutating func add(path: String, width: Int, height: Int, _ prediction: Prediction) -> String {
        let probabilities = prediction.probabilities
        let top = prediction.top(topK).map { Row.Ranked(index: $0, name: classNames[$0], probability: probabilities[$0]) }
        let zoom = prediction.zoom.map { window in
            let box = window.box(width: width, height: height)
            return Row.Zoom(s: window.scale, tx: window.x, ty: window.y, box: [box.x0, box.y0, box.x1, box.y1])
        }
        rows.append(Row(path: path, topK: top, probabilities: probabilities, zoom: zoom))
        var line = "\(path): " + top.map { "\($0.name) " + String(format: "%.4f", $0.probability) }.joined(separator: ", ")
        if let zoom {
            line += String(
                format: "; zoom s %.2f box (%.1f, %.1f)-(%.1f, %.1f)", zoom.s, zoom.box[0], zoom.box[1], zoom.box[2], zoom.box[3])
        }
        return line
    }

    /// `{"classes": [names], "predictions": [{"path", "top_k": [{"index", "name",
    /// "probability"}], "probabilities": [one per class], "zoom"?}]}`.
    func writeJSON(to url: URL) throws {
        struct File: Encodable {
            let classes: [String]
            let predictions: [Row]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(Array(try encoder.encode(File(classes: classNames, predictions: rows))), to: url)
    }

    /// A header line, then one line per image: path; index, name and probability of each
    /// of the top classes; the probability of every class (a column per class name);
    /// for Coarse2Fine the zoom's s, tx, ty.
    func writeCSV(to url: URL) throws {
        let hasZoom = rows.first?.zoom != nil
        var header = ["path"]
        for rank in 1...topK { header += ["top\(rank)_index", "top\(rank)_name", "top\(rank)_probability"] }
        header += classNames
        if hasZoom { header += ["zoom_s", "zoom_tx", "zoom_ty"] }
        var lines = [header.map(csvField).joined(separator: ",")]
        for row in rows {
            var fields = [row.path]
            for ranked in row.topK { fields += [String(ranked.index), ranked.name, String(ranked.probability)] }
            fields += row.probabilities.map { String($0) }
            if let zoom = row.zoom { fields += [zoom.s, zoom.tx, zoom.ty].map { String($0) } }
            lines.append(fields.map(csvField).joined(separator: ","))
        }
        try AtomicFile.write(Array((lines.joined(separator: "\n") + "\n").utf8), to: url)
    }

    /// RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled.
    private func csvField(_ text: String) -> String {
        guard text.contains(where: { ",\"\n\r".contains($0) }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
