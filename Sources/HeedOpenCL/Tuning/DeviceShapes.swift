/// Every choice the OpenCL layer makes by the kind of device, in one place.
///
/// A CPU device (PoCL) runs each work-group on one thread, pays scheduling time for
/// every group and item, and vectorises loops inside an item; so its kernels give each
/// item whole rows to loop over. A GPU runs thousands of items at once, each slow on
/// its own, and reads memory fast only when adjacent items touch adjacent addresses
/// (coalescing); so its kernels give each item one element, and reduce a row with a
/// work-group. The values here are the defaults; `heed tune`'s file refines the tunable
/// ones (`KernelTuning`), and `HEED_TUNING=gpu|cpu` picks the kind (`shapedDevice`).
///
/// Op bodies read `OpenCLBackend.shapes`; no other choice of the layer asks a device's kind
/// (DeviceShapesTests holds this, naming the few files that read the kind for other
/// reasons, and runs every field's GPU value against the reference).
public struct DeviceShapes: Equatable, Sendable {
    /// How the work items of a kernel cover the rows it writes or reduces.
    public enum Mapping: String, Sendable {
        /// A few items, each looping over whole rows (contiguous, vectorised on a CPU).
        case rowsPerItem = "rows per item"
        /// An item per element, adjacent items on adjacent elements; a reduction over a
        /// row runs in a work-group.
        case elementsPerItem = "elements per item"
    }

    /// The kind these shapes are for.
    public let kind: OpenCLDeviceInfo.Kind

    /// What runs `gemm` when `HEED_GEMM` does not say: Heed's packed kernels on CPUs
    /// (CLBlast has no tuned parameters for PoCL and ran slower there), CLBlast elsewhere.
    public let gemmEngine: GemmEngine

    /// Most elements one scratch buffer of a convolution call may hold.
    ///
    /// CPUs: 2²² floats (16 MiB), which keeps the column matrix nearer the caches and the
    /// peak memory lower than larger chunks did. GPUs: 2²⁵ (128 MiB), so their GEMMs stay
    /// large enough to fill the device.
    public let convolutionScratchLimit: Int

    /// im2col and col2im (`Kernels/conv.cl`): CPUs 4 image rows per item (one row per
    /// item ran slower on PoCL); GPUs one column entry (im2col) or input element (col2im)
    /// per item.
    public let columns: Mapping

    /// The attended sums of the attention modules (`Kernels/attention.cl`): CPUs one row
    /// of O per item in vectors of 8; GPUs a work-group per row (forward) and an item per
    /// element (backward).
    public let attendedSums: Mapping

    /// Global average pooling's forward (`Kernels/pooling.cl`): CPUs one plane per item;
    /// GPUs a work-group per plane.
    public let planeSums: Mapping

    /// Grouped convolution's weight gradient (`Kernels/grouped_conv.cl`): CPUs one weight
    /// element per item, looping over the batch and the output plane; GPUs a work-group per
    /// weight element.
    public let groupedWeightGradient: Mapping

    /// Batch norm's launch without a tuning file (`NormalizationLaunch`): CPUs one item per
    /// channel in two native vectors, GPUs 256 items per channel in the preferred vector.
    public let normalization: NormalizationLaunch

    /// The shapes for `device` as its `kind` says (pass `device.treated(as:)` to force one).
    public init(for device: OpenCLDeviceInfo) {
        kind = device.kind
        let cpu = device.kind == .cpu
        gemmEngine = cpu ? .packed : .clblast
        convolutionScratchLimit = cpu ? 1 << 22 : 1 << 25
        columns = cpu ? .rowsPerItem : .elementsPerItem
        attendedSums = cpu ? .rowsPerItem : .elementsPerItem
        planeSums = cpu ? .rowsPerItem : .elementsPerItem
        groupedWeightGradient = cpu ? .rowsPerItem : .elementsPerItem
        normalization = cpu ? .cpuDefaults(for: device) : .gpuDefaults(for: device)
    }
}
