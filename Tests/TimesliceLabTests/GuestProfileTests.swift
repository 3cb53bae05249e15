// Guests without booting one: profile validation (every error names the field), the qemu
// command line a profile turns into, the initramfs format, and the console protocol.
// Booting real guests is `make guest-test` (scripts/guest-test.sh).
import Foundation
import XCTest
@testable import TimesliceLab

final class GuestProfileTests: XCTestCase {
    private func decode(_ text: String) throws -> GuestProfile {
        try GuestProfile.decode(try JSONParser.parse(Data(text.utf8)))
    }

    private func message(_ text: String) -> String {
        do {
            _ = try decode(text)
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    func testShippedProfilesAreValid() throws {
        let numa2 = try GuestProfile.load("numa2")
        XCTAssertEqual(numa2.numa?.nodes, [[0, 1], [2, 3]])
        XCTAssertEqual(numa2.numa?.distances, [[10, 20], [20, 10]])
        let isolated = try GuestProfile.load("isolated")
        XCTAssertTrue(isolated.kernelArgs.contains("isolcpus=2,3"))
        XCTAssertNil(isolated.numa)
    }

    func testBadProfilesNameTheField() {
        let head = #""schema_version": 1, "name": "g""#
        let cases: [(String, String, UInt)] = [
            (#"{"name": "g"}"#, "schema_version: missing; guest profiles have schema_version 1", #line),
            ("{\(head), \"cpus\": 0}", "cpus: 0 is below the minimum 1", #line),
            ("{\(head), \"memory_mb\": 100}", "memory_mb: 100 is below the minimum 256", #line),
            ("{\(head), \"cpu\": 2}", #"cpu: unknown key "cpu"; allowed keys here: cpus, description, kernel_args, memory_mb, name, numa, schema_version"#, #line),
            ("{\(head), \"cpus\": 2, \"numa\": {\"nodes\": [[0], [0, 1]]}}", "numa.nodes[1]: CPU 0 is already in node 0; each CPU belongs to one node", #line),
            ("{\(head), \"cpus\": 2, \"numa\": {\"nodes\": [[0], [2]]}}", "numa.nodes[1][0]: 2 is above the maximum 1", #line),
            ("{\(head), \"cpus\": 2, \"numa\": {\"nodes\": [[0], [1]], \"distances\": [[10, 20], [21, 10]]}}",
             "numa.distances[0][1]: 20 differs from distances[1][0] = 21; the table must be symmetric", #line),
            ("{\(head), \"cpus\": 2, \"numa\": {\"nodes\": [[0], [1]], \"distances\": [[11, 20], [20, 10]]}}",
             "numa.distances[0][0]: a node's distance to itself is 10, found 11", #line),
            ("{\(head), \"cpus\": 2, \"numa\": {\"nodes\": [[0], [1]], \"distances\": [[10, 20]]}}",
             "numa.distances: has 1 rows for 2 nodes; give an 2×2 table", #line),
            ("{\(head), \"kernel_args\": [\"isolcpus=1 nohz_full=1\"]}",
             #"kernel_args[0]: "isolcpus=1 nohz_full=1" is not one kernel argument; write one word per element, e.g. "isolcpus=2,3""#, #line),
        ]
        for (text, expected, line) in cases {
            XCTAssertEqual(message(text), expected, line: line)
        }
    }

    func testQEMUArgumentsCarryTheTopology() throws {
        let profile = try decode(#"""
            {"schema_version": 1, "name": "t", "cpus": 3, "memory_mb": 1000,
             "numa": {"nodes": [[0, 2], [1]], "distances": [[10, 31], [31, 10]]}, "kernel_args": ["isolcpus=1"]}
            """#)
        let args = GuestMachine.qemuArguments(profile: profile, accelerator: .tcg, kernel: "/boot/k", initrd: "/w/i",
                                              console: "/w/c", transfer: "/w/t")
        let joined = args.joined(separator: " ")
        XCTAssertTrue(joined.hasPrefix("-accel tcg -cpu max -smp 3 -m 1000M"), joined)
        // Memory split across the nodes, the remainder on the last; CPUs listed one by one.
        XCTAssertTrue(joined.contains("-object memory-backend-ram,id=m0,size=500M -numa node,nodeid=0,cpus=0,cpus=2,memdev=m0"), joined)
        XCTAssertTrue(joined.contains("-object memory-backend-ram,id=m1,size=500M -numa node,nodeid=1,cpus=1,memdev=m1"), joined)
        XCTAssertTrue(joined.contains("-numa dist,src=0,dst=1,val=31"), joined)
        XCTAssertEqual(args[args.firstIndex(of: "-append")! + 1], "console=ttyS0 panic=-1 rdinit=/init isolcpus=1")
        XCTAssertTrue(joined.hasSuffix("-serial file:/w/c -serial file:/w/t"), joined)
        let kvm = GuestMachine.qemuArguments(profile: profile, accelerator: .kvm, kernel: "/boot/k", initrd: "/w/i",
                                             console: "/w/c", transfer: "/w/t")
        XCTAssertEqual(Array(kvm.prefix(4)), ["-accel", "kvm", "-cpu", "host"])
    }

    func testCPIOArchiveIsNewcWithParentsFirst() {
        var cpio = CPIOArchive()
        cpio.addFile("/lib64/ld.so", contents: Data("abc".utf8), mode: 0o755)
        let bytes = cpio.finish()
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertEqual(bytes.count % 4, 0)
        // lib64 (a directory, mode 040755) before lib64/ld.so (a file of 3 bytes), then the trailer.
        let dir = text.range(of: "lib64\0")!, file = text.range(of: "lib64/ld.so\0")!, trailer = text.range(of: "TRAILER!!!\0")!
        XCTAssertTrue(dir.lowerBound < file.lowerBound && file.lowerBound < trailer.lowerBound)
        XCTAssertEqual(String(text.prefix(6)), "070701")
        let fileHeader = text[text.index(file.lowerBound, offsetBy: -110)..<file.lowerBound]
        XCTAssertEqual(String(fileHeader.dropFirst(6 + 8).prefix(8)), "000081ED")          // mode 0100755
        XCTAssertEqual(String(fileHeader.dropFirst(6 + 8 * 6).prefix(8)), "00000003")      // file size
        XCTAssertEqual(String(fileHeader.dropFirst(6 + 8 * 11).prefix(8)), "0000000C")     // name size with NUL
    }

    func testLddOutputGivesLoaderAndLibraries() {
        let text = """
            \tlinux-vdso.so.1 (0x00007ffd)
            \tlibnuma.so.1 => /lib/x86_64-linux-gnu/libnuma.so.1 (0x00007f66)
            \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f65)
            \t/lib64/ld-linux-x86-64.so.2 (0x00007f66)
            """
        XCTAssertEqual(GuestInitramfs.parseLdd(text),
                       ["/lib/x86_64-linux-gnu/libnuma.so.1", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"])
    }

    func testConsoleExitMarkerSurvivesCarriageReturns() {
        // The serial console ends lines with \r\n, which Swift treats as one Character.
        XCTAssertEqual(GuestMachine.exitStatus(in: "boot\r\nTIMESLICE-GUEST-EXIT rc=3\r\n[ 6.7] reboot\r\n"), 3)
        XCTAssertNil(GuestMachine.exitStatus(in: "Kernel panic\r\n"))
    }

    func testInitRunsTheCommandQuoted() {
        let script = GuestInitramfs.initScript(command: ["/bin/timeslice", "run", "it's.json"])
        XCTAssertTrue(script.contains(#"'/bin/timeslice' 'run' 'it'\''s.json' 2>&1 > /out/stdout.txt | cat"#), script)
        XCTAssertTrue(script.contains("tar -c -C /out . | base64 > /dev/ttyS1"), script)
    }
}
