// Every file-system and JSON failure names the path, the cause in words and the fix, never a
// Foundation error dump; options are bounded; placements are resolved against this host before
// anything is created. Library-level rows first, then the real `timeslice` binary.
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import TimesliceLab

final class InputErrorTests: XCTestCase {
    func testStrictJSONSyntaxErrorsGiveLineAndColumn() {
        let cases: [(String, String, UInt)] = [
            ("{\"schema_version\": 1,\n \"name\": \"t\",\n}",
             "t.json: not valid JSON: line 2, column 13: trailing comma before '}' (JSON allows none): remove it", #line),
            (#"{"a": [1, 2,]}"#, "t.json: not valid JSON: line 1, column 12: trailing comma before ']' (JSON allows none): remove it", #line),
            ("{\"name\": \"t\",\n  \"name\": \"u\"}",
             #"t.json: not valid JSON: line 2, column 3: duplicate key "name" (each key may appear once in an object)"#, #line),
            (#"{"a": 1 "b": 2}"#, "t.json: not valid JSON: line 1, column 9: unexpected '\"'; expected ',' or '}' (is a comma missing?)", #line),
            (#"{"a": 'x'}"#, "t.json: not valid JSON: line 1, column 7: strings take double quotes (\"), not single quotes", #line),
            ("{\"a\": 1} // note", "t.json: not valid JSON: line 1, column 10: unexpected '/' after the end of the top-level value", #line),
            (#"{"a": 01}"#, "t.json: not valid JSON: line 1, column 7: numbers must not have leading zeros", #line),
            (#"{"a": NaN}"#, "t.json: not valid JSON: line 1, column 7: unexpected 'N'; expected a value (object, list, string, number, true, false or null)", #line),
            ("", "t.json: not valid JSON: line 1, column 1: unexpected end of file; expected a value", #line),
            (#"{"schema_version": 1,"#, "t.json: not valid JSON: line 1, column 22: unexpected end of file inside an object; expected a key or '}'", #line),
            (#"{"é": "ü", "x": tru}"#, "t.json: not valid JSON: line 1, column 17: unexpected 't'; expected a value (did you mean true? strings need double quotes)", #line),
        ]
        for (json, expected, line) in cases {
            XCTAssertThrowsError(try Fixtures.spec(json), line: line) { error in
                XCTAssertEqual("\(error)", expected, line: line)
            }
        }
    }

    func testStrictParserKeepsIntegersRealsAndEscapes() throws {
        let v = try JSONParser.parse(Data(#"{"i": -3, "r": 2.5e1, "s": "a\n\u00e9\ud83d\ude00", "b": [true, false, null]}"#.utf8))
        XCTAssertEqual(v, .object(["i": .integer(-3), "r": .real(25), "s": .string("a\né😀"), "b": .array([.bool(true), .bool(false), .null])]))
    }

    func testNameLongerThanADirectoryNameIsRejected() {
        let json = Fixtures.minimal().replacingOccurrences(of: #""name": "t""#, with: "\"name\": \"\(String(repeating: "a", count: 300))\"")
        XCTAssertThrowsError(try Fixtures.spec(json)) { error in
            XCTAssertEqual("\(error)", "t.json: name: is 300 characters long; at most 100, since it names the results directory: shorten it")
        }
    }

    func testUnreadableExperimentFilesSayWhyAndWhatToDo() throws {
        let dir = try Fixtures.temporaryDirectory()
        let cases: [(String, String, UInt)] = [
            (dir, "\(dir): is a directory, not an experiment file; give a .json file (e.g. one of \(dir)/*.json)", #line),
            ("/dev/zero", "/dev/zero: is not a regular file (a device, pipe or socket); give an experiment .json file", #line),
            ("\(dir)/missing.json", "\(dir)/missing.json: no such file; give an experiment file or a name from `timeslice list`", #line),
        ]
        for (path, expected, line) in cases {
            XCTAssertThrowsError(try SpecDecoder.decode(file: path), line: line) { error in
                XCTAssertEqual("\(error)", expected, line: line)
            }
        }
    }

    func testOptionsAreBounded() {
        XCTAssertEqual(SweepOptions(repetitions: 0).problem(), #"--repeat 0: must be 1...1000, like the file's "repetitions""#)
        XCTAssertEqual(SweepOptions(repetitions: 1001).problem(), #"--repeat 1001: must be 1...1000, like the file's "repetitions""#)
        XCTAssertNil(SweepOptions(repetitions: 1000).problem())
        XCTAssertEqual(SweepOptions(only: ",,,").problem(),
                       #"--only ",,,": every comma-separated term must be key=value (e.g. rt=timeslice,preempt=async); "" is not"#)
        XCTAssertEqual(SweepOptions(only: "rt=threads,").problem(),
                       #"--only "rt=threads,": every comma-separated term must be key=value (e.g. rt=timeslice,preempt=async); "" is not"#)
        XCTAssertEqual(SweepOptions(only: "rt=a=b").problem(),
                       #"--only "rt=a=b": every comma-separated term must be key=value (e.g. rt=timeslice,preempt=async); "rt=a=b" is not"#)
        XCTAssertNil(SweepOptions(only: "rt=threads,place=none").problem())
    }

    func testOutputDirectoryProblemsNameThePathCauseAndFix() throws {
        let dir = try Fixtures.temporaryDirectory()
        FileManager.default.createFile(atPath: "\(dir)/file", contents: Data())
        let cases: [(String, String, Bool, UInt)] = [
            ("", #"--out "": the path is empty; give a directory, e.g. --out results"#, true, #line),
            ("\(dir)/file", "--out \(dir)/file: \(dir)/file is a file, not a directory; give a directory path (or move the file away)", true, #line),
            ("\(dir)/file/sub", "--out \(dir)/file/sub: \(dir)/file is a file, not a directory; give a directory path (or move the file away)", true, #line),
            ("/proc", "--out /proc: cannot create files in /proc (No such file or directory): this is not a place for files (a virtual or special file system?); choose another --out, e.g. --out results", false, #line),
        ]
        for (path, expected, badInput, line) in cases {
            XCTAssertThrowsError(try OutputDirectory.prepare(path), line: line) { error in
                XCTAssertEqual("\(error)", expected, line: line)
                XCTAssertEqual((error as? OutputDirectory.Failure)?.isBadInput, badInput, line: line)
            }
        }
        // Root ignores permission bits, so the read-only causes are checked on the message itself.
        XCTAssertEqual(OutputDirectory.failure(creating: "/ro/x", errno: EROFS, option: "--out").description,
                       "--out /ro/x: cannot create the directory /ro/x (Read-only file system): /ro is on a read-only file system; choose another --out")
        XCTAssertEqual(OutputDirectory.failure(creating: "/locked/x", errno: EACCES, option: "--out").description,
                       "--out /locked/x: cannot create the directory /locked/x (Permission denied): permission denied in /locked; choose a directory you can write (e.g. --out results) or fix its permissions")
        if getuid() != 0 {
            try FileManager.default.createDirectory(atPath: "\(dir)/ro", withIntermediateDirectories: true)
            chmod("\(dir)/ro", 0o555)
            defer { chmod("\(dir)/ro", 0o755) }
            XCTAssertThrowsError(try OutputDirectory.prepare("\(dir)/ro")) { error in
                XCTAssertTrue("\(error)".contains("permission denied in \(dir)/ro"), "\(error)")
            }
        }
        try OutputDirectory.prepare("\(dir)/new/deeper")
        XCTAssertTrue(ExperimentCatalog.isDirectory("\(dir)/new/deeper"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/new/deeper"), [], "the probe is removed")
    }

    func testPlacementsAreResolvedAgainstThisHostBeforeAnythingIsCreated() throws {
        let root = try Fixtures.temporaryDirectory() + "/out"
        let cases: [(String, String, UInt)] = [
            (#""matrix": {"runtime": ["threads"], "placement": [{"explicit": [999]}]}"#, "CPU 999 does not exist", #line),
            (#""matrix": {"runtime": ["threads"], "numa_node": [7]}"#, "NUMA node 7 does not exist", #line),
        ]
        for (matrix, cause, line) in cases {
            let spec = try Fixtures.spec(Fixtures.minimal(matrix))
            let runner = SweepRunner(spec: spec, options: SweepOptions(), launcher: ScriptLauncher { _ in ("exit 1", nil) },
                                     outRoot: root, progress: { _ in })
            XCTAssertThrowsError(try runner.run(), line: line) { error in
                XCTAssertTrue(error is SweepError, line: line)
                XCTAssertTrue("\(error)".hasPrefix("t: placement "), "\(error)", line: line)
                XCTAssertTrue("\(error)".contains("cannot run on this host: \(cause)"), "\(error)", line: line)
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: root), "nothing is created", line: line)
        }
    }

    // MARK: The real binary

    func testCommandLineErrorsAndExitCodes() throws {
        let binary = try builtTimesliceBinary()
        let dir = try Fixtures.temporaryDirectory()
        func write(_ name: String, _ text: String) throws -> String {
            try text.write(toFile: "\(dir)/\(name)", atomically: true, encoding: .utf8)
            return "\(dir)/\(name)"
        }
        let ok = try write("ok.json", Fixtures.minimal(#""matrix": {"runtime": ["threads"]}"#, length: #""duration": "100ms""#))
        let cpu999 = try write("cpu999.json", Fixtures.minimal(#""matrix": {"placement": [{"explicit": [999]}]}"#))
        let numa7 = try write("numa7.json", Fixtures.minimal(#""matrix": {"numa_node": [7]}"#))
        let trailing = try write("trailing.json", "{\"schema_version\": 1,\n \"name\": \"t\",\n}")
        FileManager.default.createFile(atPath: "\(dir)/afile", contents: Data())
        let badGuest = try write("guest.json", #"{"schema_version": 1, "name": "g", "cpus": 2, "numa": {"nodes": [[0]]}}"#)
        let cases: [([String], String, Int32, UInt)] = [
            (["run", ok, "--guest", "numa9"], "--guest: numa9: no such guest profile; give a profile file or one of the shipped profiles: isolated, numa2", 64, #line),
            (["run", ok, "--guest", badGuest], "\(badGuest): numa.nodes: CPUs 1 are in no node", 64, #line),
            (["validate", "--host", cpu999], "CPU 999 does not exist", 64, #line),
            (["validate", "--host", numa7], "NUMA node 7 does not exist", 64, #line),
            (["validate", cpu999], "", 0, #line),
            (["run", cpu999, "--out", "\(dir)/r999"], "CPU 999 does not exist", 64, #line),
            (["run", numa7, "--out", "\(dir)/r7"], "NUMA node 7 does not exist", 64, #line),
            (["validate", trailing], "\(trailing): not valid JSON: line 2, column 13: trailing comma", 64, #line),
            (["validate", dir], "\(dir): is a directory, not an experiment file", 64, #line),
            (["validate", "/dev/zero"], "/dev/zero: is not a regular file", 64, #line),
            (["run", ok, "--out", "\(dir)/afile"], "\(dir)/afile is a file, not a directory", 64, #line),
            (["run", ok, "--out", "/proc"], "--out /proc: cannot create files in /proc", 1, #line),
            (["run", ok, "--out", ""], #"--out "": the path is empty"#, 64, #line),
            (["run", ok, "--repeat", "1001", "--out", "\(dir)/r"], "--repeat 1001: must be 1...1000", 64, #line),
            (["run", ok, "--only", ",,,", "--out", "\(dir)/r"], "every comma-separated term must be key=value", 64, #line),
        ]
        for (args, expected, status, line) in cases {
            let (code, stderr) = try runBinary(binary, args)
            XCTAssertEqual(code, status, "\(args): \(stderr)", line: line)
            if !expected.isEmpty { XCTAssertTrue(stderr.contains(expected), "\(args): \(stderr)", line: line) }
            for dump in ["NSCocoaErrorDomain", "Error Domain=", "NSError", "Error: "] {
                XCTAssertFalse(stderr.contains(dump), "\(args): \(stderr)", line: line)
            }
        }
        for made in ["r999", "r7", "r"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/\(made)"), "\(made) must not be created")
        }
    }

    private func runBinary(_ binary: String, _ args: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
