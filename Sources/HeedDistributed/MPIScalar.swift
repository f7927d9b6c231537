import CMPI

/// An element type MPI can send and sum, with its MPI datatype.
public protocol MPIScalar {
    static var datatype: MPI_Datatype { get }
}

extension Float: MPIScalar {
    public static var datatype: MPI_Datatype { heed_mpi_float() }
}

extension Double: MPIScalar {
    public static var datatype: MPI_Datatype { heed_mpi_double() }
}

extension Int64: MPIScalar {
    public static var datatype: MPI_Datatype { heed_mpi_int64() }
}
