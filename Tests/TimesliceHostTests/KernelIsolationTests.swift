// isolcpus / nohz_full / rcu_nocbs from command lines people actually boot with.

import TimesliceHost
import XCTest

final class KernelIsolationTests: XCTestCase {
    func testIsolcpusWithFlags() {
        let iso = KernelIsolation.parse(cmdline: "root=/dev/sda1 isolcpus=domain,managed_irq,2-3 quiet")
        XCTAssertEqual(iso.isolcpus, [2, 3])
        XCTAssertEqual(iso.isolcpusFlags, ["domain", "managed_irq"])
        XCTAssertTrue(iso.problems.isEmpty)
    }

    func testIsolcpusVariants() {
        let cases: [(String, CPUSet, [String])] = [
            ("isolcpus=1,3-5", [1, 3, 4, 5], []),
            ("isolcpus=nohz,domain,1-3", [1, 2, 3], ["nohz", "domain"]),
            ("isolcpus=managed_irq,7", [7], ["managed_irq"]),
            ("isolcpus=2-3 isolcpus=6", [2, 3, 6], []),
            ("isolcpus=0-15:2/8", [0, 1, 8, 9], []),
            ("quiet", [], []),
        ]
        for (cmdline, cpus, flags) in cases {
            let iso = KernelIsolation.parse(cmdline: cmdline)
            XCTAssertEqual(iso.isolcpus, cpus, cmdline)
            XCTAssertEqual(iso.isolcpusFlags, flags, cmdline)
        }
    }

    func testNohzFullAndRcuNocbs() {
        let iso = KernelIsolation.parse(cmdline: "isolcpus=1-3 nohz_full=1-3 rcu_nocbs=1-3 irqaffinity=0")
        XCTAssertEqual(iso.nohzFull, [1, 2, 3])
        XCTAssertEqual(iso.rcuNocbs, [1, 2, 3])
        // Dashes and underscores are the same to the kernel.
        XCTAssertEqual(KernelIsolation.parse(cmdline: "nohz-full=4").nohzFull, [4])
        // Bare rcu_nocbs offloads every possible CPU (Linux 5.17+).
        XCTAssertEqual(KernelIsolation.parse(cmdline: "rcu_nocbs", possible: [0, 1, 2, 3]).rcuNocbs, [0, 1, 2, 3])
    }

    func testArgumentsAfterDoubleDashBelongToInit() {
        let iso = KernelIsolation.parse(cmdline: "quiet -- isolcpus=1 nohz_full=1")
        XCTAssertTrue(iso.isolcpus.isEmpty)
        XCTAssertTrue(iso.nohzFull.isEmpty)
    }

    func testMalformedListIsReportedNotGuessed() {
        let iso = KernelIsolation.parse(cmdline: "isolcpus=domain,1-x")
        XCTAssertTrue(iso.isolcpus.isEmpty)
        XCTAssertEqual(iso.problems.count, 1)
        XCTAssertTrue(iso.problems[0].contains("bad token \"1-x\""), iso.problems[0])
    }

    func testReadsCmdlineAndSysfs() {
        let host = FakeHost.twoSocket(cmdline: "quiet isolcpus=domain,managed_irq,2-3 nohz_full=2-3,6", sysfsIsolated: "4-5")
        host.write("/sys/devices/system/cpu/nohz_full", "2-3,6-7\n")
        let iso = KernelIsolation.read(host.fs)
        XCTAssertEqual(iso.cmdline, "quiet isolcpus=domain,managed_irq,2-3 nohz_full=2-3,6")
        XCTAssertEqual(iso.isolcpus, [2, 3])
        XCTAssertEqual(iso.sysfsIsolated, [4, 5])
        XCTAssertEqual(iso.isolated, [2, 3, 4, 5])
        XCTAssertEqual(iso.nohzFull, [2, 3, 6, 7])
    }

    func testThisMachinesCommandLineIsolatesNothing() {
        let host = FakeHost.realLike()
        let iso = KernelIsolation.read(host.fs)
        XCTAssertEqual(iso.cmdline, "console=ttyS0 quiet reboot=k panic=1 -- --firecracker-init")
        XCTAssertTrue(iso.isolated.isEmpty)
        XCTAssertTrue(iso.nohzFull.isEmpty)
        XCTAssertTrue(iso.rcuNocbs.isEmpty)
    }
}
