import HeedOps
import XCTest

@testable import HeedOpenCL

/// The caching allocator's bookkeeping (`BlockPool`), without a device: best fit, splits,
/// merges on free, and which segments can go back to the driver.
final class BlockPoolTests: XCTestCase {
    func testARequestTakesTheSmallestFreeBlockThatHoldsIt() {
        var pool = BlockPool(minimumRemainder: 512)
        let big = pool.addSegment(bytes: 8192)
        let small = pool.addSegment(bytes: 2048)
        // 1024 bytes fit both; the smaller segment is the better fit.
        XCTAssertEqual(pool.take(1024), BlockPool.Block(segment: small, offset: 0, bytes: 1024))
        // 1536 bytes no longer fit the 1024 left there.
        XCTAssertEqual(pool.take(1536), BlockPool.Block(segment: big, offset: 0, bytes: 1536))
        XCTAssertEqual(pool.take(1024), BlockPool.Block(segment: small, offset: 1024, bytes: 1024))
        XCTAssertEqual(pool.freeBlocks, [BlockPool.Block(segment: big, offset: 1536, bytes: 6656)])
        XCTAssertNil(pool.take(8192))
        XCTAssertEqual(pool.reservedBytes, 8192 + 2048)
        XCTAssertEqual(pool.freeBytes, 6656)
    }

    func testARestSmallerThanTheMinimumGoesWithTheBlock() {
        var pool = BlockPool(minimumRemainder: 1024)
        let segment = pool.addSegment(bytes: 4096)
        // 3584 would leave 512, less than 1024: the whole segment is handed out.
        XCTAssertEqual(pool.take(3584), BlockPool.Block(segment: segment, offset: 0, bytes: 4096))
        XCTAssertEqual(pool.freeBytes, 0)
    }

    func testFreedBlocksMergeWithTheirFreeNeighbours() {
        var pool = BlockPool(minimumRemainder: 512)
        let segment = pool.addSegment(bytes: 4096)
        let blocks = (0..<4).map { _ in pool.take(1024)! }
        XCTAssertEqual(blocks.map(\.offset), [0, 1024, 2048, 3072])
        pool.give(blocks[1])
        pool.give(blocks[3])
        // Two free blocks of 1024 that are not adjacent: 2048 does not fit.
        XCTAssertNil(pool.take(2048))
        XCTAssertTrue(pool.freeSegments.isEmpty)
        // Freeing the block between them makes one run of 3072.
        pool.give(blocks[2])
        XCTAssertEqual(pool.freeBlocks, [BlockPool.Block(segment: segment, offset: 1024, bytes: 3072)])
        XCTAssertEqual(pool.take(3072), BlockPool.Block(segment: segment, offset: 1024, bytes: 3072))
    }

    func testOnlySegmentsWithNothingTakenAreRemoved() {
        var pool = BlockPool(minimumRemainder: 512)
        let kept = pool.addSegment(bytes: 2048)
        let idle = pool.addSegment(bytes: 4096)
        let held = pool.take(2048)!
        XCTAssertEqual(held.segment, kept)
        let returned = pool.take(4096)!
        pool.give(returned)
        XCTAssertEqual(pool.freeSegments.map(\.segment), [idle])
        XCTAssertEqual(pool.removeFreeSegments().map(\.bytes), [4096])
        XCTAssertEqual(pool.reservedBytes, 2048)
        pool.give(held)
        XCTAssertEqual(pool.removeFreeSegments().map(\.segment), [kept])
        XCTAssertEqual(pool.reservedBytes, 0)
    }

    /// Random takes and gives against a byte map: blocks never overlap, always lie inside
    /// their segment, and every byte is free again at the end.
    func testRandomTakesAndGivesNeverOverlapAndEverythingMergesBack() {
        var pool = BlockPool(minimumRemainder: 512)
        var random = SeededGenerator(seed: 29)
        let sizes = [8192, 16384, 4096]
        let segments = sizes.map { pool.addSegment(bytes: $0) }
        var owner: [Int: [Int?]] = Dictionary(uniqueKeysWithValues: zip(segments, sizes.map { [Int?](repeating: nil, count: $0 / 512) }))
        var held: [Int: BlockPool.Block] = [:]
        for step in 0..<4000 {
            if held.isEmpty || Bool.random(using: &random) {
                guard let block = pool.take(512 * Int.random(in: 1...12, using: &random)) else { continue }
                XCTAssertEqual(block.offset % 512, 0)
                XCTAssertLessThanOrEqual(block.offset + block.bytes, sizes[segments.firstIndex(of: block.segment)!])
                for unit in block.offset / 512..<(block.offset + block.bytes) / 512 {
                    XCTAssertNil(owner[block.segment]![unit], "step \(step): \(block) overlaps block \(owner[block.segment]![unit]!)")
                    owner[block.segment]![unit] = step
                }
                held[step] = block
            } else {
                let (key, block) = held.randomElement(using: &random)!
                held[key] = nil
                pool.give(block)
                for unit in block.offset / 512..<(block.offset + block.bytes) / 512 { owner[block.segment]![unit] = nil }
            }
            XCTAssertEqual(pool.freeBytes, pool.reservedBytes - held.values.reduce(0) { $0 + $1.bytes })
        }
        for block in held.values { pool.give(block) }
        XCTAssertEqual(Set(pool.freeSegments.map(\.segment)), Set(segments))
        XCTAssertEqual(pool.freeBlocks.count, segments.count, "each segment one free run again")
    }
}
