import CMPI
import Foundation

/// The processes of one `mpirun` job, through MPI's `MPI_COMM_WORLD`: rank, size, and
/// the few collectives data-parallel training needs. Every call is collective: all
/// ranks make the same calls in the same order.
///
/// Two communicators, so that two threads never share one: `world` for the calls of the
/// training thread (broadcasts, batch-norm statistics, metrics) and `gradients`, a
/// duplicate, for the communication thread of ``GradientAverager``. MPI is initialised
/// with `MPI_THREAD_MULTIPLE` for that.
public final class ProcessGroup: @unchecked Sendable {
    public let rank: Int
    public let size: Int
    /// The rank among this host's processes: which of the host's devices to open.
    public let localRank: Int
    private let world: MPI_Comm
    private let gradients: MPI_Comm
    private var finalized = false

    /// Initialises MPI when this process was started by `mpirun`; nil when it was started
    /// alone, unless `required` (`--distributed`), which is then an error.
    public static func start(environment: [String: String], required: Bool) throws -> ProcessGroup? {
        guard MPILaunch.detected(in: environment) else {
            guard !required else {
                throw MPIError(
                    "--distributed needs a launch by mpirun (no OMPI_COMM_WORLD_SIZE or PMIX_RANK in the environment): "
                        + "mpirun -np N heed train ...")
            }
            return nil
        }
        return try ProcessGroup()
    }

    private init() throws {
        var provided: Int32 = 0
        try MPIError.check(MPI_Init_thread(nil, nil, Int32(MPI_THREAD_MULTIPLE), &provided), "MPI_Init_thread")
        world = heed_mpi_comm_world()
        // Errors come back as codes (and so as Swift errors) instead of aborting the job unexplained.
        try MPIError.check(MPI_Comm_set_errhandler(world, heed_mpi_errors_return()), "MPI_Comm_set_errhandler")
        guard provided >= Int32(MPI_THREAD_MULTIPLE) else {
            throw MPIError("this MPI library supports thread level \(provided), heed needs MPI_THREAD_MULTIPLE")
        }
        var value: Int32 = 0
        try MPIError.check(MPI_Comm_rank(world, &value), "MPI_Comm_rank")
        rank = Int(value)
        try MPIError.check(MPI_Comm_size(world, &value), "MPI_Comm_size")
        size = Int(value)
        // The ranks sharing this host's memory, in world-rank order: what Open MPI's
        // OMPI_COMM_WORLD_LOCAL_RANK says, from any MPI library.
        var node: MPI_Comm? = nil
        try MPIError.check(
            MPI_Comm_split_type(world, Int32(MPI_COMM_TYPE_SHARED), 0, heed_mpi_info_null(), &node), "MPI_Comm_split_type")
        try MPIError.check(MPI_Comm_rank(node, &value), "MPI_Comm_rank")
        localRank = Int(value)
        try MPIError.check(MPI_Comm_free(&node), "MPI_Comm_free")
        var duplicate: MPI_Comm? = nil
        try MPIError.check(MPI_Comm_dup(world, &duplicate), "MPI_Comm_dup")
        gradients = duplicate!
        try MPIError.check(MPI_Comm_set_errhandler(gradients, heed_mpi_errors_return()), "MPI_Comm_set_errhandler")
    }

    public var isRoot: Bool { rank == 0 }

    /// Overwrites `values` on every rank with rank `root`'s; every rank passes the same count.
    public func broadcast<T: MPIScalar>(_ values: inout [T], root: Int = 0) throws {
        let count = try Self.count(values.count, "MPI_Bcast")
        try values.withUnsafeMutableBytes { bytes in
            try MPIError.check(MPI_Bcast(bytes.baseAddress, count, T.datatype, Int32(root), world), "MPI_Bcast")
        }
    }

    /// Replaces `values` on every rank with their elementwise sum over the ranks.
    public func allreduceSum<T: MPIScalar>(_ values: inout [T]) throws {
        try values.withUnsafeMutableBufferPointer { try Self.allreduceSum($0, on: world) }
    }

    /// The elementwise sum over ranks, in place, on the communicator of gradient averaging
    /// (the communication thread's).
    func allreduceGradientSum(_ values: UnsafeMutableBufferPointer<Float>) throws {
        try Self.allreduceSum(values, on: gradients)
    }

    private static func allreduceSum<T: MPIScalar>(_ values: UnsafeMutableBufferPointer<T>, on communicator: MPI_Comm) throws {
        let count = try count(values.count, "MPI_Allreduce")
        try MPIError.check(
            MPI_Allreduce(heed_mpi_in_place(), values.baseAddress, count, T.datatype, heed_mpi_sum(), communicator), "MPI_Allreduce")
    }

    public func barrier() throws {
        try MPIError.check(MPI_Barrier(world), "MPI_Barrier")
    }

    /// Ends every rank of the job with `code`: the way out of a failure on one rank, where
    /// the others would wait in a collective for ever.
    public func abort(code: Int32 = 1) -> Never {
        fflush(nil)
        MPI_Abort(world, code)
        exit(code)
    }

    /// Ends MPI after a run every rank finished.
    public func finalize() throws {
        guard !finalized else { return }
        finalized = true
        var communicator: MPI_Comm? = gradients
        try MPIError.check(MPI_Comm_free(&communicator), "MPI_Comm_free")
        try MPIError.check(MPI_Finalize(), "MPI_Finalize")
    }

    private static func count(_ count: Int, _ call: String) throws -> Int32 {
        guard let narrow = Int32(exactly: count) else { throw MPIError("\(call): \(count) elements are more than MPI's int count allows") }
        return narrow
    }
}
