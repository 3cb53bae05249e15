// Strict decoding of experiment files. Everything a run could trip over later (unknown keys,
// wrong types, impossible values) is rejected here, before the first child starts, with the
// JSON path and the allowed values in the message.
import Timeslice
import TimesliceHost
import Foundation

public enum SpecDecoder {
    /// The shortest time slice the runtime honours: sysmon's tick is 20 µs, so a smaller
    /// slice would be rounded up silently; we refuse it instead.
    public static let minimumTimeSlice = RuntimeConfiguration.minimumTimeSliceNanoseconds

    static let topKeys = ["schema_version", "name", "description", "matrix", "include", "exclude",
                          "workload", "duration", "iterations", "warmup", "repetitions", "seed",
                          "schedtrace_ms", "watchdog", "starvation_timeout"]

    /// An experiment file is written by hand: anything larger is not one.
    public static let maximumFileBytes = 1 << 20
    /// The name becomes a directory under results/; file systems allow 255 bytes per component.
    public static let maximumNameLength = 100

    public static func decode(file: String) throws -> ExperimentSpec {
        try decode(data: try readFile(file), file: file)
    }

    /// Reads an experiment file, turning every failure into a sentence with the cause and the fix.
    public static func readFile(_ file: String) throws -> Data {
        func fail(_ message: String) -> SpecError { SpecError(file: file, path: "", message: message) }
        if file.isEmpty { throw SpecError(file: "\"\"", path: "", message: "empty file name; give an experiment file or a name from `timeslice list`") }
        var st = stat()
        guard stat(file, &st) == 0 else {
            let e = errno
            switch e {
            case ENOENT: throw fail("no such file; give an experiment file or a name from `timeslice list`")
            case EACCES: throw fail("permission denied; make the file (and its directories) readable")
            case ENOTDIR: throw fail("a component of the path is not a directory")
            default: throw fail("cannot read the file: \(String(cString: strerror(e)))")
            }
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw fail("is a directory, not an experiment file; give a .json file (e.g. one of \(file)/*.json)")
        default: throw fail("is not a regular file (a device, pipe or socket); give an experiment .json file")
        }
        guard st.st_size <= maximumFileBytes else {
            throw fail("is \(st.st_size) bytes; an experiment file is at most \(maximumFileBytes) bytes, is this the right file?")
        }
        guard let handle = FileHandle(forReadingAtPath: file) else {
            throw fail(errno == EACCES ? "permission denied; make the file readable" : "cannot open the file: \(String(cString: strerror(errno)))")
        }
        defer { try? handle.close() }
        do {
            guard let data = try handle.read(upToCount: maximumFileBytes + 1) else { return Data() }
            guard data.count <= maximumFileBytes else {
                throw fail("is larger than \(maximumFileBytes) bytes; an experiment file is smaller, is this the right file?")
            }
            return data
        } catch let e as SpecError {
            throw e
        } catch {
            throw fail("cannot read the file: \((error as NSError).localizedFailureReason ?? String(cString: strerror(Int32((error as NSError).code))))")
        }
    }

    public static func decode(data: Data, file: String? = nil) throws -> ExperimentSpec {
        try decodeJSON(data, file: file, decode)
    }

    /// Parses `data` (strict JSON) and decodes it with `decode`; every error names `file`.
    /// Experiment files and guest profiles share it.
    static func decodeJSON<T>(_ data: Data, file: String?, _ decode: (JSONValue) throws -> T) throws -> T {
        let value: JSONValue
        do { value = try JSONParser.parse(data) } catch {
            throw SpecError(file: file, path: "", message: "not valid JSON: \(error)")
        }
        do { return try decode(value) } catch var e as SpecError {
            e.file = file
            throw e
        }
    }

    public static func decode(_ root: JSONValue) throws -> ExperimentSpec {
        var r = try ObjectReader(root, at: .root)
        guard let version = try r.int("schema_version") else {
            throw JSONPath.root.key("schema_version").error("missing; this runner reads schema_version 1")
        }
        guard version == ExperimentSpec.schemaVersion else {
            throw JSONPath.root.key("schema_version").error("\(version) is not supported; this runner reads schema_version 1")
        }
        guard let name = try r.string("name") else { throw JSONPath.root.key("name").error("missing") }
        guard name.utf8.count <= maximumNameLength else {
            let size = name.count == name.utf8.count ? "\(name.count) characters" : "\(name.utf8.count) bytes (UTF-8)"
            throw JSONPath.root.key("name").error("is \(size) long; at most \(maximumNameLength), since it names the results directory: shorten it")
        }
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            // The name becomes a directory under results/.
            throw JSONPath.root.key("name").error("\"\(name)\" must be non-empty letters, digits, - or _")
        }
        let description = try r.string("description") ?? ""

        let matrix = try r.raw("matrix").map { try decodeMatrix($0, at: JSONPath.root.key("matrix")) } ?? MatrixSpec()
        let exclude = try r.raw("exclude").map { try partialList($0, at: JSONPath.root.key("exclude")) } ?? []
        let include = try r.raw("include").map { try partialList($0, at: JSONPath.root.key("include")) } ?? []

        guard let workloadValue = r.raw("workload") else {
            throw JSONPath.root.key("workload").error("missing; an object with \"kind\" (\(WorkloadSpec.kinds.joined(separator: ", ")))")
        }
        let workload = try WorkloadSpec.decode(workloadValue, at: JSONPath.root.key("workload"))

        let duration = try r.duration("duration", min: 1_000_000)
        let iterations = try r.int("iterations", min: 1)
        let length: RunLength
        switch (duration, iterations) {
        case (let d?, nil): length = .duration(nanoseconds: d)
        case (nil, let n?): length = .iterations(n)
        case (nil, nil): throw JSONPath.root.error("give either \"duration\" (e.g. \"5s\") or \"iterations\"")
        case (_?, _?): throw JSONPath.root.error("give \"duration\" or \"iterations\", not both")
        }
        let warmup = try r.duration("warmup") ?? 0
        let repetitions = try r.int("repetitions", min: 1, max: 1000) ?? 1
        let seed = try r.int("seed", min: 0).map(UInt64.init) ?? 1
        let schedtrace = try r.int("schedtrace_ms", min: 1, max: 60_000)
        let watchdog = try r.double("watchdog", min: 1, max: 86_400)
        let starvation = try r.duration("starvation_timeout", min: 10_000_000) ?? 3_000_000_000
        try r.finish()

        let spec = ExperimentSpec(
            name: name, description: description, matrix: matrix, include: include, exclude: exclude,
            workload: workload, length: length, warmupNanoseconds: warmup, repetitions: repetitions,
            seed: seed, schedtraceMilliseconds: schedtrace, watchdogSeconds: watchdog,
            starvationTimeoutNanoseconds: starvation, source: root)
        try workload.parameters.validate(in: spec, at: .root)
        if spec.watchdogNanoseconds <= starvation {
            throw JSONPath.root.key("watchdog").error(
                "\(watchdog ?? 0) s is not longer than starvation_timeout \(DurationText.render(starvation)); starvation could never be told from a hang")
        }
        let points = MatrixExpansion.expand(spec)
        if let clash = points.first(where: { $0.numaNode != nil && $0.placement != .none }) {
            // numa_node is a shorthand for placement {"numa": n}; both at once has no meaning.
            throw JSONPath.root.key("matrix").error(
                "point \(clash.id) sets both numa_node and placement \(clash.placement.idText); use \"exclude\" to drop such pairs")
        }
        if points.isEmpty {
            throw JSONPath.root.key("exclude").error("excludes every point of the matrix; nothing would run")
        }
        if let problem = points.lazy.compactMap({ SysmonCPUs.problem($0, workload: spec.workload.kind) }).first {
            throw JSONPath.root.key("matrix").key("sysmon").error(problem)
        }
        return spec
    }

    // MARK: Matrix

    static func decodeMatrix(_ v: JSONValue, at p: JSONPath) throws -> MatrixSpec {
        var r = try ObjectReader(v, at: p)
        var m = MatrixSpec()
        for axis in MatrixAxis.allCases {
            guard let list = r.raw(axis.rawValue) else { continue }
            let path = p.key(axis.rawValue)
            switch axis {
            case .runtime:
                m.runtime = try ObjectReader.list(list, at: path) { try runtime($0, at: $1) }
            case .maxProcs:
                m.maxProcs = try ObjectReader.list(list, at: path) { try maxProcs($0, at: $1) }
            case .preemption:
                m.preemption = try ObjectReader.list(list, at: path) { try preemption($0, at: $1) }
            case .timeSlice:
                m.timeSliceNanoseconds = try ObjectReader.list(list, at: path) { try timeSlice($0, at: $1) }
            case .placement:
                m.placement = try ObjectReader.list(list, at: path) { try placement($0, at: $1) }
            case .lockOSThread:
                m.lockOSThread = try ObjectReader.list(list, at: path) { try ObjectReader.bool($0, at: $1) }
            case .numaNode:
                m.numaNode = try ObjectReader.list(list, at: path) { try numaNode($0, at: $1) }
            case .hogs:
                m.hogs = try ObjectReader.list(list, at: path) { try hogs($0, at: $1) }
            case .rate:
                m.rate = try ObjectReader.list(list, at: path) { try OfferedRate.decode($0, at: $1) }
            case .sysmon:
                m.sysmon = try ObjectReader.list(list, at: path) { try sysmon($0, at: $1) }
            }
        }
        try r.finish()
        return m
    }

    static func partialList(_ v: JSONValue, at p: JSONPath) throws -> [PartialPoint] {
        guard case .array(let a) = v else { throw p.error("expected a list of partial assignments, found \(v.typeName)") }
        return try a.enumerated().map { try partial($0.element, at: p.index($0.offset)) }
    }

    static func partial(_ v: JSONValue, at p: JSONPath) throws -> PartialPoint {
        var r = try ObjectReader(v, at: p)
        var axes = Set<MatrixAxis>()
        var point = MatrixPoint(runtime: .timeslice)
        for axis in MatrixAxis.allCases {
            guard r.has(axis.rawValue) else { _ = r.raw(axis.rawValue); continue }
            let value = r.raw(axis.rawValue) ?? .null
            let path = p.key(axis.rawValue)
            axes.insert(axis)
            switch axis {
            case .runtime: point.runtime = try runtime(value, at: path)
            case .maxProcs: point.maxProcs = try maxProcs(value, at: path)
            case .preemption: point.preemption = try preemption(value, at: path)
            case .timeSlice: point.timeSliceNanoseconds = try timeSlice(value, at: path)
            case .placement: point.placement = try placement(value, at: path)
            case .lockOSThread: point.lockOSThread = try ObjectReader.bool(value, at: path)
            case .numaNode: point.numaNode = try numaNode(value, at: path)
            case .hogs: point.hogs = try hogs(value, at: path)
            case .rate: point.rate = try OfferedRate.decode(value, at: path)
            case .sysmon: point.sysmon = try sysmon(value, at: path)
            }
        }
        try r.finish()
        if axes.isEmpty { throw p.error("sets no axis; give at least one of \(MatrixAxis.allCases.map(\.rawValue).joined(separator: ", "))") }
        return PartialPoint(axes: axes, point: point)
    }

    // MARK: Axis values

    static func runtime(_ v: JSONValue, at p: JSONPath) throws -> RuntimeKind {
        RuntimeKind(rawValue: try ObjectReader.oneOf(v, RuntimeKind.allCases.map(\.rawValue), at: p))!
    }

    static func sysmon(_ v: JSONValue, at p: JSONPath) throws -> SysmonPlacementChoice {
        SysmonPlacementChoice(rawValue: try ObjectReader.oneOf(v, SysmonPlacementChoice.allCases.map(\.rawValue), at: p))!
    }

    static func preemption(_ v: JSONValue, at p: JSONPath) throws -> PreemptionSetting {
        PreemptionSetting(rawValue: try ObjectReader.oneOf(v, PreemptionSetting.allCases.map(\.rawValue), at: p))!
    }

    /// An integer >= 1, or "default" (the runtime's own choice: affinity ∩ cgroup quota).
    static func maxProcs(_ v: JSONValue, at p: JSONPath) throws -> Int? {
        if case .string("default") = v { return nil }
        guard case .integer = v else {
            throw p.error("expected an integer >= 1 or \"default\", found \(v.typeName) \(v.rendered)")
        }
        return try ObjectReader.int(v, at: p, min: Int64(RuntimeConfiguration.maxProcsRange.lowerBound),
                                    max: Int64(RuntimeConfiguration.maxProcsRange.upperBound))
    }

    static func timeSlice(_ v: JSONValue, at p: JSONPath) throws -> UInt64 {
        try ObjectReader.duration(v, at: p, min: minimumTimeSlice, max: RuntimeConfiguration.maximumTimeSliceNanoseconds)
    }

    /// Competing hogs of the wakeup probe, 0...256 (the workload field's bounds).
    static func hogs(_ v: JSONValue, at p: JSONPath) throws -> Int? {
        try ObjectReader.int(v, at: p, min: 0, max: 256)
    }

    static func numaNode(_ v: JSONValue, at p: JSONPath) throws -> Int? {
        if case .string("none") = v { return nil }
        guard case .integer = v else { throw p.error("expected a node number >= 0 or \"none\", found \(v.typeName) \(v.rendered)") }
        return try ObjectReader.int(v, at: p, min: 0, max: 1023)
    }

    public static func placement(_ v: JSONValue, at p: JSONPath) throws -> PlacementChoice {
        let allowed = PlacementChoice.names.joined(separator: ", ")
        switch v {
        case .string(let s):
            switch s {
            case "none": return .none
            case "compact": return .compact
            case "scatter": return .scatter
            case "isolated": return .isolated
            default: throw p.error("\"\(s)\" is not one of \(allowed)")
            }
        case .object(let o) where o.count == 1:
            let (key, value) = o.first!
            switch key {
            case "explicit":
                let cpus = try ObjectReader.list(value, at: p.key("explicit")) { try ObjectReader.int($0, at: $1, min: 0, max: 4095) }
                guard Set(cpus).count == cpus.count else { throw p.key("explicit").error("lists a CPU twice") }
                return .explicit(cpus)
            case "numa":
                return .numa(try ObjectReader.int(value, at: p.key("numa"), min: 0, max: 1023))
            default:
                throw p.key(key).error("unknown placement \"\(key)\"; one of \(allowed)")
            }
        default:
            throw p.error("expected one of \(allowed), found \(v.typeName) \(v.rendered)")
        }
    }
}
