/// Whether this process was started by `mpirun` (Open MPI, or another PMI/PMIx launcher).
///
/// MPI is initialised only inside a launch: `MPI_Init` in a process started alone makes
/// a world of one (a "singleton"), which would hide a forgotten `mpirun`.
public enum MPILaunch {
    /// The variables a launcher sets in every process it starts.
    static let markers = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"]

    public static func detected(in environment: [String: String]) -> Bool {
        markers.contains { environment[$0] != nil }
    }
}
