// One configuration source with precedence: command-line flag > environment variable >
// experiment file > default. The result is the spec that runs plus, per knob, its value and
// where it came from (results.json `effective`), and a warning whenever an environment variable
// is set but loses to the file or the command line.
//
// Which variable maps to which knob (the runtime's own variables, RuntimeConfiguration.parse):
//
//   TIMESLICE_MAXPROCS   matrix.max_procs   (--max-procs)
//   TIMESLICE_PREEMPT    matrix.preemption  (--preempt)
//   TIMESLICE_TIMESLICE  matrix.time_slice  (--time-slice)
//   TIMESLICE_SCHEDTRACE schedtrace_ms
//
// A variable applies only where the experiment file does not mention that axis (or key); it
// replaces the axis's default with its one value. Where the file sets it, the file wins and the
// variable is reported as overridden. TIMESLICE_STACK_SIZE and TIMESLICE_TRACE have no knob in
// an experiment (the lab runs the default stack; traces are `--trace`): they are checked and,
// when set, named in a warning. Values are checked by RuntimeConfiguration.parse, so a bad value
// is a message naming the variable and its bounds (exit 64), never a trap. The children never
// see these variables (SelfExecLauncher removes them): the matrix point alone configures them.
import Foundation
import Timeslice
import TimesliceHost

public struct EffectiveKnob: Codable, Equatable, Sendable {
    public var value: JSONValue
    /// "cli", "env TIMESLICE_PREEMPT", "file" or "default".
    public var origin: String
    /// A variable that was set but lost, e.g. "TIMESLICE_PREEMPT=cooperative".
    public var overridden: String?

    public init(value: JSONValue, origin: String, overridden: String? = nil) {
        self.value = value
        self.origin = origin
        self.overridden = overridden
    }
}

public struct EffectiveConfiguration: Sendable {
    public var spec: ExperimentSpec
    public var knobs: [String: EffectiveKnob]
    public var warnings: [String]

    /// The runtime's variables the runner maps (or reports); the children never inherit them.
    public static let runtimeVariables = ["TIMESLICE_MAXPROCS", "TIMESLICE_PREEMPT", "TIMESLICE_TIMESLICE",
                                          "TIMESLICE_SCHEDTRACE", "TIMESLICE_STACK_SIZE", "TIMESLICE_TRACE",
                                          "TIMESLICE_NETPOLL_SPIN"]

    public static func resolve(_ spec: ExperimentSpec, options: SweepOptions) throws -> EffectiveConfiguration {
        let env = options.environment.filter { runtimeVariables.contains($0.key) }
        // The runtime's own parser: bounds and messages live there once.
        let parsed: RuntimeConfiguration
        do { parsed = try RuntimeConfiguration.parse(environment: env) } catch {
            throw SweepError(description: "\(spec.name): environment: \(error)\nfix: correct or unset the variable (`env -u NAME timeslice run …`)")
        }
        var s = options.apply(to: spec)
        var knobs: [String: EffectiveKnob] = [:]
        var warnings: [String] = []
        let fileMatrix: [String: JSONValue]
        let fileTop: [String: JSONValue]
        if case .object(let top) = spec.source {
            fileTop = top
            if case .object(let m)? = top["matrix"] { fileMatrix = m } else { fileMatrix = [:] }
        } else {
            fileTop = [:]
            fileMatrix = [:]
        }

        /// One knob: `cli` (the flag's values and text), the variable, the file's key.
        func axis<T>(_ key: String, variable: String, flag: String, cli: [T]?, envValue: T?,
                     current: [T], render: (T) -> JSONValue, set: ([T]) -> Void) {
            let envText = env[variable].map { "\(variable)=\($0)" }
            if let cli {
                set(cli)
                knobs[key] = EffectiveKnob(value: .array(cli.map(render)), origin: "cli", overridden: envText)
                s.matrixOverrides[key] = .array(cli.map(render))
                if let envText { warnings.append("\(envText) is overridden by \(flag) (command line wins over environment)") }
            } else if let given = fileMatrix[key] {
                knobs[key] = EffectiveKnob(value: given, origin: "file", overridden: envText)
                if let envText { warnings.append("\(envText) is overridden by the experiment file's matrix.\(key) \(given.rendered) (the file sets this axis; remove it there to use the variable)") }
            } else if let envValue {
                set([envValue])
                knobs[key] = EffectiveKnob(value: .array([render(envValue)]), origin: "env \(variable)")
                s.matrixOverrides[key] = .array([render(envValue)])
            } else {
                knobs[key] = EffectiveKnob(value: .array(current.map(render)), origin: "default")
            }
        }

        let procsEnv: Int?? = env["TIMESLICE_MAXPROCS"] != nil ? .some(parsed.maxProcs) : .none
        axis("max_procs", variable: "TIMESLICE_MAXPROCS", flag: "--max-procs", cli: options.maxProcs,
             envValue: procsEnv,
             current: s.matrix.maxProcs, render: Self.maxProcsJSON, set: { s.matrix.maxProcs = $0 })
        axis("preemption", variable: "TIMESLICE_PREEMPT", flag: "--preempt", cli: options.preemption,
             envValue: env["TIMESLICE_PREEMPT"] != nil ? parsed.preemption : nil,
             current: s.matrix.preemption, render: { .string($0.rawValue) }, set: { s.matrix.preemption = $0 })
        axis("time_slice", variable: "TIMESLICE_TIMESLICE", flag: "--time-slice", cli: options.timeSlice,
             envValue: env["TIMESLICE_TIMESLICE"] != nil ? parsed.timeSliceNanoseconds : nil,
             current: s.matrix.timeSliceNanoseconds, render: { .string(DurationText.render($0)) },
             set: { s.matrix.timeSliceNanoseconds = $0 })

        // schedtrace_ms: no flag.
        let schedEnv = env["TIMESLICE_SCHEDTRACE"].map { "TIMESLICE_SCHEDTRACE=\($0)" }
        if let given = fileTop["schedtrace_ms"] {
            knobs["schedtrace_ms"] = EffectiveKnob(value: given, origin: "file", overridden: schedEnv)
            if let schedEnv { warnings.append("\(schedEnv) is overridden by the experiment file's schedtrace_ms \(given.rendered)") }
        } else if let ms = parsed.schedtraceMilliseconds {
            s.schedtraceMilliseconds = ms
            s.topOverrides["schedtrace_ms"] = .integer(Int64(ms))
            knobs["schedtrace_ms"] = EffectiveKnob(value: .integer(Int64(ms)), origin: "env TIMESLICE_SCHEDTRACE")
        } else {
            knobs["schedtrace_ms"] = EffectiveKnob(value: .null, origin: "default")
        }

        // Lengths and repetitions: file or the command line (--quick, --repeat); no variable.
        let quickOrigin = options.quick ? "cli" : nil
        switch s.length {
        case .duration(let ns):
            knobs["duration"] = EffectiveKnob(value: .string(DurationText.render(ns)), origin: quickOrigin ?? "file")
        case .iterations(let n):
            knobs["iterations"] = EffectiveKnob(value: .integer(Int64(n)), origin: quickOrigin ?? "file")
        }
        knobs["warmup"] = EffectiveKnob(value: .string(DurationText.render(s.warmupNanoseconds)),
                                        origin: quickOrigin ?? (fileTop["warmup"] != nil ? "file" : "default"))
        knobs["repetitions"] = EffectiveKnob(value: .integer(Int64(s.repetitions)),
                                             origin: options.repetitions != nil || options.quick ? "cli" : (fileTop["repetitions"] != nil ? "file" : "default"))

        if let v = env["TIMESLICE_STACK_SIZE"] {
            warnings.append("TIMESLICE_STACK_SIZE=\(v) is not applied by `timeslice run`: every configuration runs with the default goroutine stack (\(RuntimeConfiguration.defaultStackSize / 1024)K)")
        }
        if let v = env["TIMESLICE_NETPOLL_SPIN"] {
            warnings.append("TIMESLICE_NETPOLL_SPIN=\(v) is not applied by `timeslice run`: every configuration blocks in epoll_wait at once (no busy polling; `timeslice bench --only net` measures it)")
        }
        if let v = env["TIMESLICE_TRACE"] {
            warnings.append("TIMESLICE_TRACE=\(v) is not applied by `timeslice run`: use --trace (one trace per configuration in the results directory)")
        }
        return EffectiveConfiguration(spec: s, knobs: knobs, warnings: warnings)
    }

    static func maxProcsJSON(_ v: Int?) -> JSONValue { v.map { .integer(Int64($0)) } ?? .string("default") }

    // MARK: Command-line values

    /// `--max-procs 1,2,default`.
    public static func parseMaxProcs(_ text: String) throws -> [Int?] {
        let range = RuntimeConfiguration.maxProcsRange
        return try list(text, flag: "--max-procs", expected: "a whole number from \(range.lowerBound) to \(range.upperBound), or default") { item -> Int?? in
            if item == "default" { return .some(nil) }
            guard let n = Int(item), range.contains(n) else { return .none }
            return .some(n)
        }
    }

    /// `--preempt cooperative,async`.
    public static func parsePreemption(_ text: String) throws -> [PreemptionSetting] {
        try list(text, flag: "--preempt", expected: "one of \(PreemptionSetting.allCases.map(\.rawValue).joined(separator: ", "))") {
            PreemptionSetting(rawValue: $0)
        }
    }

    /// `--time-slice 100us,1ms`.
    public static func parseTimeSlice(_ text: String) throws -> [UInt64] {
        let lo = RuntimeConfiguration.minimumTimeSliceNanoseconds, hi = RuntimeConfiguration.maximumTimeSliceNanoseconds
        return try list(text, flag: "--time-slice", expected: "a duration from \(DurationText.render(lo)) to \(DurationText.render(hi)), like 100us, 1ms") { item -> UInt64? in
            guard let ns = DurationText.parse(item), (lo...hi).contains(ns) else { return nil }
            return ns
        }
    }

    private static func list<T>(_ text: String, flag: String, expected: String, _ parse: (String) -> T?) throws -> [T] {
        let items = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        return try items.map { item in
            guard !item.isEmpty, let v = parse(item) else {
                throw SweepError(description: "\(flag) \(text): \"\(item)\" is not \(expected) (comma-separated values make an axis)")
            }
            return v
        }
    }
}
