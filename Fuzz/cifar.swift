// libFuzzer harness for the CIFAR reader: the first byte of each input picks the
// variant (CIFAR-10, CIFAR-100 fine or coarse labels), the rest is written as that
// variant's test file and loaded through `CIFAR.load`, then every image is read back
// from the file. A thrown `FileError` is the expected answer to a bad file; a trap or
// a memory error is a bug. Built by scripts/fuzz.sh on HeedData and the modules below it.
import Foundation
import HeedData

// One folder per process, removed at exit: CIFAR.load reads a folder of named files.
private func scratchFolder() -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("heed-fuzz-cifar-\(getpid())")
}

private let folder: URL = {
    try! FileManager.default.createDirectory(at: scratchFolder(), withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(at: scratchFolder()) }
    return scratchFolder()
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let variant = CIFAR.Variant.allCases[Int(start[0]) % CIFAR.Variant.allCases.count]
    let url = folder.appendingPathComponent(variant.files(.test)[0])
    try! Data(bytes: start + 1, count: count - 1).write(to: url)
    guard let dataset = try? CIFAR.load(variant, split: .test, from: folder) else { return 0 }
    // Every label in range and every image its full size, read from the file.
    for index in 0..<dataset.count {
        guard (0..<Int32(dataset.classCount)).contains(dataset.labels[index]), dataset.image(index).count == 3072 else { abort() }
    }
    return 0
}
