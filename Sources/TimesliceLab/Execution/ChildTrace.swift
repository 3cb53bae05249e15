// `timeslice run --trace`: how a configuration's Chrome/Perfetto trace gets from the child's
// runtime into the results directory.
//   1. The sweep picks `<run dir>/<config stem>.trace.json` for each timeslice configuration.
//   2. The parent hands the child a temporary name beside it (`….trace.json.partial`) in
//      TIMESLICE_LAB_TRACE_FILE; the child's RuntimeBridge sets RuntimeConfiguration.traceFile to
//      it, and the runtime writes the trace there when it shuts down.
//   3. When the child has exited by itself, a non-empty temporary file is renamed to the final
//      name (atomic, as every other result file) and listed in the configuration's `files` as
//      "trace". After a watchdog kill or a signal the temporary file, perhaps half written, is
//      removed instead.
// The variable travels in the environment because the child's RunConfiguration is the
// experiment's, identical with and without --trace.
// A server configuration's load generator also writes its request log beside the trace
// (`<config stem>.requests.csv`, `requestLogPath`): every measured request's intended send,
// actual send and completion on CLOCK_MONOTONIC, the clock of the trace's `origin_monotonic_ns`, so a
// slow request can be lined up with what the server's Ms were doing. It is collected the
// same way (listed as "requests").
#if canImport(Glibc)
import Glibc
#endif
import Foundation

enum ChildTrace {
    static let environmentVariable = "TIMESLICE_LAB_TRACE_FILE"

    static func partialPath(_ final: String) -> String { final + ".partial" }

    /// The request log that goes with the trace at `traceFinal` (…`.trace.json`).
    static func requestLogPath(forTrace traceFinal: String) -> String {
        (traceFinal.hasSuffix(".trace.json") ? String(traceFinal.dropLast(".trace.json".count)) : traceFinal) + ".requests.csv"
    }

    /// In the child: where the load generator should write its request log (a temporary
    /// name, as the trace's), if the parent asked for a trace.
    static func requestedRequestLogPath(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        guard let partialTrace = requestedPath(environment), partialTrace.hasSuffix(".partial") else { return nil }
        return partialPath(requestLogPath(forTrace: String(partialTrace.dropLast(".partial".count))))
    }

    /// Sets (or, for nil, removes: an inherited value must not leak into a child) the request.
    static func request(_ finalPath: String?, in environment: inout [String: String]) {
        if let finalPath {
            environment[environmentVariable] = partialPath(finalPath)
        } else {
            environment.removeValue(forKey: environmentVariable)
        }
    }

    /// In the child: where the runtime should write its trace, if the parent asked for one.
    static func requestedPath(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        environment[environmentVariable].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// In the parent, after the child ended: moves a written trace to `finalPath` when the child
    /// `complete`d (exited by itself) and wrote one; true then. Otherwise removes what is there.
    static func collect(_ finalPath: String, complete: Bool) -> Bool {
        let partial = partialPath(finalPath)
        let size = (try? FileManager.default.attributesOfItem(atPath: partial))?[.size] as? Int ?? 0
        guard complete, size > 0 else {
            unlink(partial)
            return false
        }
        return rename(partial, finalPath) == 0
    }
}
