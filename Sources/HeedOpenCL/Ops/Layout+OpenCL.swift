import HeedOps

/// Column-block copies with `Kernels/layout.cl`.
extension OpenCLBackend {
    public static let layout: [OpImplementation<OpenCLBackend>] = [
        OpImplementation(LayoutOps.insertColumns) { backend, d, b in
            try backend.launchColumns("insert_columns", d, first: b.part, second: b.whole)
        },
        OpImplementation(LayoutOps.extractColumns) { backend, d, b in
            try backend.launchColumns("extract_columns", d, first: b.whole, second: b.part)
        },
    ]

    private func launchColumns(_ kernel: String, _ d: ColumnBlockDescriptor, first: OpenCLBuffer, second: OpenCLBuffer) throws {
        try launch(
            family: "layout", kernel: kernel, global: [d.width, d.outer],
            arguments: [
                .buffer(first), .buffer(second), try .int(d.outer, kernel), try .int(d.width, kernel),
                try .int(d.wholeWidth, kernel), try .int(d.offset, kernel),
            ])
    }
}
