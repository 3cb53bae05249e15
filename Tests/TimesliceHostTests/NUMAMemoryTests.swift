// Binding memory to a node and reading back where its pages landed.

import Foundation
import TimesliceHost
import XCTest

final class NUMAMemoryTests: XCTestCase {
    func testBindToNodeZeroAndVerifyWithMovePages() throws {
        guard NUMAMemory.isAvailable else {
            throw XCTSkip("NUMA is not available on this machine (numa_available() < 0)")
        }
        let pages = 4
        let length = pages * NUMAMemory.pageSize
        let raw = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let raw, raw != MAP_FAILED else { return XCTFail("mmap failed: \(errno)") }
        defer { munmap(raw, length) }

        try NUMAMemory.bind(raw, length: length, toNode: 0)
        // Not faulted in yet: move_pages reports a negative errno per page.
        XCTAssertTrue(NUMAMemory.nodes(ofPages: raw, count: pages).allSatisfy { $0 < 0 })
        for page in 0..<pages {
            raw.storeBytes(of: UInt8(1), toByteOffset: page * NUMAMemory.pageSize, as: UInt8.self)
        }
        XCTAssertEqual(NUMAMemory.nodes(ofPages: raw, count: pages), Array(repeating: 0, count: pages))

        try NUMAMemory.bind(raw, length: length, toNode: 0, strict: false)
        XCTAssertEqual(NUMAMemory.nodes(ofPages: raw, count: pages), Array(repeating: 0, count: pages))
        XCTAssertEqual(NUMAMemory.maxNode.map { $0 >= 0 }, true)
    }

    func testBindToMissingNodeFails() throws {
        guard NUMAMemory.isAvailable else {
            throw XCTSkip("NUMA is not available on this machine (numa_available() < 0)")
        }
        let length = NUMAMemory.pageSize
        let raw = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let raw, raw != MAP_FAILED else { return XCTFail("mmap failed: \(errno)") }
        defer { munmap(raw, length) }
        let missing = (NUMAMemory.maxNode ?? 0) + 1
        XCTAssertThrowsError(try NUMAMemory.bind(raw, length: length, toNode: missing)) { error in
            XCTAssertEqual((error as? HostSyscallError)?.call, "mbind")
            XCTAssertTrue("\(error)".hasPrefix("mbind("), "\(error)")
        }
    }
}
