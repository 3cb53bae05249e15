// Go 1.25's default GOMAXPROCS rule.

import TimesliceHost
import XCTest

final class MaxProcsTests: XCTestCase {
    func testGo125Table() {
        let cases: [(cpus: Int, quota: Double?, expected: Int)] = [
            (2, nil, 2),
            (8, nil, 8),
            (8, 4, 4),
            (8, 1.5, 2),   // fraction rounds up
            (8, 2.01, 3),  // any fraction rounds up
            (8, 0.5, 2),   // Go's floor of 2 for a cgroup limit
            (8, 1, 2),
            (1, 0.5, 1),   // but never above the affinity count
            (4, 16, 4),
            (0, nil, 1),   // at least 1
        ]
        for c in cases {
            let affinity = CPUSet(0..<c.cpus)
            let got = defaultMaxProcs(affinity: affinity, cgroup: CgroupLimits(cpuQuotaCores: c.quota, version: 2))
            XCTAssertEqual(got, c.expected, "cpus \(c.cpus), quota \(String(describing: c.quota))")
        }
    }
}
