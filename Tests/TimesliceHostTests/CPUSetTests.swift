// CPU list syntax: what the kernel writes and what users type.

import Foundation
import TimesliceHost
import XCTest

final class CPUSetTests: XCTestCase {
    func testParsesKernelListSyntax() throws {
        XCTAssertEqual(try CPUSet(parsing: "0-3,5,7-8").sorted, [0, 1, 2, 3, 5, 7, 8])
        XCTAssertEqual(try CPUSet(parsing: "0-1\n").sorted, [0, 1])
        XCTAssertEqual(try CPUSet(parsing: "3").sorted, [3])
        XCTAssertEqual(try CPUSet(parsing: "5,1,3-4,1").sorted, [1, 3, 4, 5])
        XCTAssertEqual(try CPUSet(parsing: " 2 , 4-5 ").sorted, [2, 4, 5])
        XCTAssertEqual(try CPUSet(parsing: "0-15:2/4").sorted, [0, 1, 4, 5, 8, 9, 12, 13])
        XCTAssertTrue(try CPUSet(parsing: "").isEmpty)
        XCTAssertTrue(try CPUSet(parsing: "\n").isEmpty)
    }

    func testRejectsBadListsNamingTheToken() {
        let cases: [(String, String)] = [
            ("0-3,x,5", "x"), ("3-1", "3-1"), ("1-", "1-"), ("-2", "-2"), ("0,,2", ""),
            ("1-2-3", "1-2-3"), ("0-7:0/4", "0-7:0/4"), ("a", "a"), ("0x1", "0x1"), ("4:1/2", "4:1/2"),
        ]
        for (list, token) in cases {
            XCTAssertThrowsError(try CPUSet(parsing: list), list) { error in
                guard let error = error as? CPUSetParseError else { return XCTFail("wrong error type for \(list)") }
                XCTAssertEqual(error.token, token, list)
                XCTAssertTrue(error.description.contains("bad token \"\(token)\""), error.description)
            }
        }
        XCTAssertEqual(
            (try? CPUSet(parsing: "0-3,x"))?.listString, nil)
        do {
            _ = try CPUSet(parsing: "0-3,x")
        } catch {
            XCTAssertEqual("\(error)", "invalid CPU list \"0-3,x\": bad token \"x\" (expected ids and ranges like 0-3,5,7-8)")
        }
    }

    func testListStringFoldsRanges() {
        XCTAssertEqual(CPUSet([0, 1, 2, 3, 5]).listString, "0-3,5")
        XCTAssertEqual(CPUSet([7, 8, 0, 1, 2, 3, 5]).description, "0-3,5,7-8")
        XCTAssertEqual(CPUSet([4]).listString, "4")
        XCTAssertEqual(CPUSet([]).listString, "")
        XCTAssertEqual(CPUSet([0, 2, 4]).listString, "0,2,4")
    }

    func testSetOperations() {
        let a: CPUSet = [0, 1, 2, 3]
        let b: CPUSet = [2, 3, 4]
        XCTAssertEqual(a.intersection(b), [2, 3])
        XCTAssertEqual(a.union(b), [0, 1, 2, 3, 4])
        XCTAssertEqual(a.subtracting(b), [0, 1])
        XCTAssertEqual(a.count, 4)
        XCTAssertTrue(a.contains(3))
        XCTAssertFalse(a.contains(4))
        XCTAssertFalse(a.isEmpty)
        XCTAssertEqual(Array(b), [2, 3, 4])
        XCTAssertTrue(CPUSet([2, 3]).isSubset(of: a))
    }

    func testEncodesAsListString() throws {
        let data = try JSONEncoder().encode(["cpus": CPUSet([0, 1, 2, 3, 5])])
        XCTAssertEqual(String(decoding: data, as: UTF8.self), #"{"cpus":"0-3,5"}"#)
        let decoded = try JSONDecoder().decode([String: CPUSet].self, from: Data(#"{"cpus":"2,4-5"}"#.utf8))
        XCTAssertEqual(decoded["cpus"], [2, 4, 5])
        XCTAssertThrowsError(try JSONDecoder().decode([String: CPUSet].self, from: Data(#"{"cpus":"2,y"}"#.utf8)))
    }
}
