// A goroutine that overflows its stack must hit the guard and produce the
// runtime's message and exit status, never corrupt memory. Runs in a child
// process (this test binary, re-executed) under a deadline.
import Foundation
@testable import Timeslice
import XCTest

final class StackOverflowTests: XCTestCase {
    static let childVariable = "TIMESLICE_OVERFLOW_CHILD"

    /// Does something only in the child: overflows a 64 KiB goroutine stack.
    func testOverflowChild() {
        guard ProcessInfo.processInfo.environment[Self.childVariable] == "1" else { return }
        let configuration = RuntimeConfiguration(maxProcs: 1, stackSize: 64 * 1024)
        Runtime.run(configuration) {
            let wg = WaitGroup()
            wg.add()
            go {
                print(recurse(1))
                wg.done()
            }
            wg.wait()
        }
    }

    func testOverflowPrintsMessageAndExits() throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["TimesliceTests.StackOverflowTests/testOverflowChild"]
        child.environment = ProcessInfo.processInfo.environment.merging([Self.childVariable: "1"]) { $1 }
        let stderrPipe = Pipe()
        child.standardError = stderrPipe
        child.standardOutput = FileHandle.nullDevice
        try child.run()
        let deadline = Date().addingTimeInterval(60)
        while child.isRunning && Date() < deadline { usleep(20_000) }
        if child.isRunning {
            child.terminate()
            XCTFail("the overflowing child did not exit within 60 s")
            return
        }
        let output = String(decoding: stderrPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(child.terminationStatus, 2, output)
        XCTAssertTrue(output.contains("goroutine 2 overflowed its 65536-byte stack"), output)
    }
}

@inline(never)
private func recurse(_ depth: Int) -> Int {
    var frame = [UInt8](repeating: UInt8(truncatingIfNeeded: depth), count: 16)
    return withUnsafeMutableBytes(of: &frame) { _ in
        var local: (Int, Int, Int, Int, Int, Int, Int, Int) = (depth, 1, 2, 3, 4, 5, 6, 7)
        return withUnsafeMutablePointer(to: &local) { p in recurse(depth + 1) + p.pointee.0 }
    }
}
