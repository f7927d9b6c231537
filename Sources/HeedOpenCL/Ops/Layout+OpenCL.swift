import HeedOps
/// Column-block copies with `Kernels/layout.cl`.
extension OpenCLBackend {
    public func insertColumns(_ d: ColumnBlockDescriptor, part: any DeviceBuffer, whole: any DeviceBuffer) throws {
        let (part, whole) = (try floats(part, "insert_columns", "part"), try floats(whole, "insert_columns", "whole"))
        try d.validate("insert_columns", part: part.count, whole: whole.count)
        try launchColumns("insert_columns", d, first: part, second: whole)
    }

    public func extractColumns(_ d: ColumnBlockDescriptor, whole: any DeviceBuffer, part: any DeviceBuffer) throws {
        let (whole, part) = (try floats(whole, "extract_columns", "whole"), try floats(part, "extract_columns", "part"))
        try d.validate("extract_columns", part: part.count, whole: whole.count)
        try launchColumns("extract_columns", d, first: whole, second: part)
    }

    private func launchColumns(_ kernel: String, _ d: ColumnBlockDescriptor, first: OpenCLBuffer, second: OpenCLBuffer) throws {
        try launch(family: "layout", kernel: kernel, global: [d.width, d.outer], arguments: [
            .buffer(first), .buffer(second), try .int(d.outer, kernel), try .int(d.width, kernel),
            try .int(d.wholeWidth, kernel), try .int(d.offset, kernel),
        ])
    }
}
