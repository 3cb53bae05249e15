// `timeslice report`: the figures and report.html are drawn in Python (matplotlib, pandas; the
// notebooks' code, notebooks/timeslice_plots.py). This finds the repository's .venv and
// notebooks/timeslice_report.py from the running binary (SourceTree) and runs it as a child.
import Foundation

public struct ReportTool: Sendable {
    public var python: String
    public var script: String

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        /// True when the user's input (the run directory) is wrong, false for a missing tool.
        public var isBadInput: Bool
    }

    public static let venvHint = "create it with `make notebooks` or `scripts/notebooks.sh` in the repository (they install requirements.txt into .venv)"

    /// The venv's python and the report script of the repository that holds `executable` (or the
    /// working directory). `python` overrides the interpreter (it needs matplotlib and pandas).
    public static func locate(executable: String, python: String? = nil) throws -> ReportTool {
        guard let root = SourceTree.containing(executable: executable) else {
            throw Failure(description: "report: cannot find the Timeslice source tree (Package.swift and .git) above \(executable) or the working directory; the plots need its notebooks/ and .venv — run timeslice from its repository", isBadInput: false)
        }
        let script = root + "/notebooks/timeslice_report.py"
        guard FileManager.default.fileExists(atPath: script) else {
            throw Failure(description: "report: \(script) is missing", isBadInput: false)
        }
        let interpreter = python ?? root + "/.venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: interpreter) else {
            throw Failure(description: python == nil
                ? "report: the Python environment \(root)/.venv does not exist: \(venvHint)"
                : "report: --python \(interpreter) is not an executable", isBadInput: python != nil)
        }
        return ReportTool(python: interpreter, script: script)
    }

    /// Runs the script on `runDirectory`; returns its stdout (the files written). Its stderr and
    /// exit status become the error when it fails.
    public func run(runDirectory: String, out: String? = nil, deadlineSeconds: UInt64 = 600) throws -> String {
        guard FileManager.default.fileExists(atPath: runDirectory + "/results.json") else {
            throw Failure(description: "report: \(runDirectory)/results.json does not exist (pass one run directory, results/<experiment>/<timestamp>)", isBadInput: true)
        }
        var env = ProcessInfo.processInfo.environment
        let notebooks = (script as NSString).deletingLastPathComponent
        env["PYTHONPATH"] = notebooks + (env["PYTHONPATH"].map { ":" + $0 } ?? "")
        env["MPLBACKEND"] = "Agg"
        // matplotlib writes a font cache; a read-only or missing home would make it warn on every run.
        if env["MPLCONFIGDIR"] == nil { env["MPLCONFIGDIR"] = NSTemporaryDirectory() + "timeslice-matplotlib" }
        let result = try ChildProcess.run(executable: python, arguments: [script, runDirectory] + (out.map { ["--out", $0] } ?? []),
                                          environment: env, deadlineNanoseconds: deadlineSeconds * 1_000_000_000)
        let stdout = String(decoding: result.stdout, as: UTF8.self)
        let stderr = String(decoding: result.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if result.timedOut {
            throw Failure(description: "report: \(script) did not finish within \(deadlineSeconds) s", isBadInput: false)
        }
        guard result.termination == .exited(0) else {
            let hint = stderr.contains("No module named") ? "\n(the venv lacks a package: \(Self.venvHint))" : ""
            throw Failure(description: "report: \(script) failed (\(result.termination)):\n\(stderr)\(hint)",
                          isBadInput: result.termination == .exited(64))
        }
        return stdout
    }
}
