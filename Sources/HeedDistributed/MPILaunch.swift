/// How this process was started: by `mpirun` (Open MPI or another PMIx launcher) or alone.
///
/// MPI is initialised only inside a launch: `MPI_Init` in a process started alone makes
/// a world of one (a "singleton"), which would hide a forgotten `mpirun`.
public struct MPILaunch: Sendable, Equatable {
    /// Processes in the job, when the launcher says.
    public let worldSize: Int?
    /// This process's rank among those on its host (`OMPI_COMM_WORLD_LOCAL_RANK`).
    public let localRank: Int?

    /// The launch `environment` describes, or nil for a process started alone.
    public init?(environment: [String: String]) {
        let markers = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"]
        guard markers.contains(where: { environment[$0] != nil }) else { return nil }
        worldSize = environment["OMPI_COMM_WORLD_SIZE"].flatMap { Int($0) }
        localRank = (environment["OMPI_COMM_WORLD_LOCAL_RANK"] ?? environment["MPI_LOCALRANKID"]).flatMap { Int($0) }
    }
}
