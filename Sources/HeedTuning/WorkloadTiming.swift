import HeedOpenCL

extension OpenCLBackend {
    /// Device seconds of one tuning workload: each of `parts` run once untimed (programs
    /// built, pages touched), then `runs` times, its fastest run counted; the parts' sum.
    /// The fastest, not the median: a candidate is judged by what it can do, and on a
    /// shared machine the slower runs measure the neighbours.
    func workloadSeconds(runs: Int, _ parts: [() throws -> Void]) throws -> Double {
        var total = 0.0
        for part in parts {
            try part()
            var fastest = Double.infinity
            for _ in 0..<runs {
                fastest = min(fastest, try deviceSeconds { try part() })
            }
            total += fastest
        }
        return total
    }
}
