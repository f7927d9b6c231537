import HeedReference

/// The backends the tests run on. This target has the CPU reference only, so the
/// CPU-only layers' tests need no OpenCL; `HeedOpenCLTestSupport` adds the shared
/// OpenCL backend (`TestDevices.openCL`).
public enum TestDevices {
    public static let reference = ReferenceBackend()
}
