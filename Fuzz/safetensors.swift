// libFuzzer harness for the safetensors reader: every input goes through
// `SafeTensors.decode`, the parser behind `SafeTensors.read(from:)`. A thrown
// `FileError` is the expected answer to a bad file; a trap or a memory error is a bug.
// Built by scripts/fuzz.sh together with the reader's own source files.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    guard let tensors = try? SafeTensors.decode(bytes, path: "fuzz-input") else { return 0 }
    // Read every tensor back so a wrong byte range traps here, not later in a model.
    for entry in tensors.tensors.values {
        _ = entry.floats()
        _ = entry.int64s()
    }
    return 0
}
