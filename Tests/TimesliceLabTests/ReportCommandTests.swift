// `timeslice report` end to end: the real binary, the repository's .venv and
// notebooks/timeslice_report.py on a copy of the fixture runs. Skipped (with the reason) when
// the venv does not exist: `make notebooks` or scripts/notebooks.sh creates it.
import Foundation
import XCTest
@testable import TimesliceLab

final class ReportCommandTests: XCTestCase {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    func requireVenv() throws {
        // The stamp is written after requirements.txt is installed: a half-made venv does not count.
        guard FileManager.default.isExecutableFile(atPath: repo + "/.venv/bin/python"),
              FileManager.default.fileExists(atPath: repo + "/.venv/.requirements.sha256") else {
            let reason = "no \(repo)/.venv with requirements.txt installed (make notebooks or scripts/notebooks.sh creates it)"
            print("ReportCommandTests skipped: \(reason)")
            throw XCTSkip(reason)
        }
    }


    func testReportWritesHTMLAndFiguresForFixtureRuns() throws {
        try requireVenv()
        let work = try Fixtures.temporaryDirectory()
        try FileManager.default.copyItem(atPath: repo + "/Tests/Fixtures/results-small", toPath: work + "/results")
        // A starved/censored quickstart run and a time_slice sweep: two different shapes.
        for (run, axisFigure) in [("quickstart/2025-01-02T00-00-00Z", nil), ("timeslice-sweep/2025-01-02T01-00-00Z", "report-vs-time_slice")] {
            let dir = work + "/results/" + run
            let (code, out, err) = try timesliceCLI(["report", dir], deadlineSeconds: 300)
            XCTAssertEqual(code, 0, "\(run): \(err)")
            XCTAssertTrue(out.contains("report.html"), out)
            let html = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
            let ids = try ComparableRun.load(dir).ids
            XCTAssertFalse(ids.isEmpty)
            for id in ids where !html.contains(id) { XCTFail("\(run)/report.html does not mention \(id)") }
            XCTAssertTrue(html.contains("data:image/png;base64,"), "figures are embedded")
            XCTAssertFalse(html.contains("<img src=\"report-"), "no figure is linked from outside the page")
            var figures = ["report-percentiles", "report-cdf", "report-outcome"]
            if let axisFigure { figures.append(axisFigure) }
            for f in figures {
                let png = try XCTUnwrap(FileManager.default.contents(atPath: "\(dir)/\(f).png"), "\(run)/\(f).png")
                XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "\(f).png is a PNG")
                XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/\(f).svg"), "\(run)/\(f).svg")
            }
        }
    }

    func testReportRejectsADirectoryWithoutResults() throws {
        try requireVenv()
        let (code, _, err) = try timesliceCLI(["report", try Fixtures.temporaryDirectory()], deadlineSeconds: 300)
        XCTAssertEqual(code, 64)
        XCTAssertTrue(err.contains("results.json does not exist"), err)
    }

    func testMissingVenvNamesTheCommandThatCreatesIt() throws {
        // A source tree without .venv: the error says how to make one.
        let tree = try Fixtures.temporaryDirectory()
        try FileManager.default.createDirectory(atPath: tree + "/.git", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: tree + "/notebooks", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: tree + "/Package.swift", contents: Data())
        FileManager.default.createFile(atPath: tree + "/notebooks/timeslice_report.py", contents: Data())
        XCTAssertThrowsError(try ReportTool.locate(executable: tree + "/.build/debug/timeslice")) { e in
            XCTAssertTrue("\(e)".contains("make notebooks"), "\(e)")
            XCTAssertTrue("\(e)".contains("scripts/notebooks.sh"), "\(e)")
        }
    }
}
