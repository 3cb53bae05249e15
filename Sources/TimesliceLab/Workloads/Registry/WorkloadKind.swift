// The workload registry: everything the lab knows about a workload kind is declared once, by
// the kind itself, beside its implementation (Workloads/<Name>/<Name>.swift):
//   kind            the word in experiment files ("wakeup")
//   parameters      the type conforming to WorkloadKind, its decoder and its JSON
//   latency meaning what its histogram measures
//   variants        how it runs under each runtime; a runtime not listed is `unavailable`
//   pinned threads  how many threads its `threads` variant pins (placement warnings)
//   extra axes      matrix axes it honours for a runtime that otherwise ignores them
// Adding a workload is one folder with its files and one line in `WorkloadSpec.registry`;
// adding a runtime to a workload is one variant file and one entry in its `variants`.
import Foundation
import TimesliceHost

/// How a workload runs under one runtime: its parameters and the child's context in, the
/// samples and counters out.
public typealias WorkloadVariant<Parameters> = @Sendable (Parameters, WorkloadContext) throws -> WorkloadResult

public protocol WorkloadKind: Hashable, Sendable {
    /// The `kind` of experiment files.
    static var kind: String { get }
    /// What the latency histogram of this workload measures, for tables and READMEs.
    static var latencyMeaning: String { get }
    /// Reads this kind's parameters from the `workload` object (the caller rejects unknown keys).
    static func decode(_ r: inout ObjectReader) throws -> Self
    /// The parameters as written in experiment files, without `kind`.
    var json: [String: JSONValue] { get }
    /// The implementation per runtime.
    static var variants: [RuntimeKind: WorkloadVariant<Self>] { get }
    /// Threads the `threads` variant pins, worker 0 first (for the sweep's placement warnings).
    func pinnedThreads(point: MatrixPoint, defaultMaxProcs: Int) -> Int
    /// The parameters at one matrix point (the wakeup probe's `hogs` axis); identity by default.
    func applying(_ point: MatrixPoint) -> Self
    /// Checks against the rest of the experiment file (e.g. the starvation timeout).
    func validate(in spec: ExperimentSpec, at path: JSONPath) throws
    /// Axes this workload honours for `runtime` beyond MatrixPoint.applicable (kept by
    /// normalization, shown in ids); none by default.
    static func extraAxes(for runtime: RuntimeKind) -> Set<MatrixAxis>
}

extension WorkloadKind {
    public func pinnedThreads(point: MatrixPoint, defaultMaxProcs: Int) -> Int { point.maxProcs ?? defaultMaxProcs }
    public func applying(_ point: MatrixPoint) -> Self { self }
    public func validate(in spec: ExperimentSpec, at path: JSONPath) throws {}
    public static func extraAxes(for runtime: RuntimeKind) -> Set<MatrixAxis> { [] }

    // Called on `any WorkloadKind`: inside, Self is the concrete kind (no existential opening
    // needed at the call sites).
    fileprivate func run(_ context: WorkloadContext) throws -> WorkloadResult {
        let runtime = context.configuration.point.runtime
        guard let variant = Self.variants[runtime] else { throw Variants.unavailable(runtime, Self.kind) }
        return try variant(self, context)
    }

    fileprivate func spec(at point: MatrixPoint) -> WorkloadSpec { WorkloadSpec(applying(point)) }
    fileprivate var hashable: AnyHashable { AnyHashable(self) }
}

/// The `workload` object of an experiment file: one registered kind's parameters.
public struct WorkloadSpec: Hashable, Sendable {
    /// Every workload kind, in the order `timeslice list` and error messages show them.
    public static let registry: [any WorkloadKind.Type] = [
        WakeupParameters.self, PingPongParameters.self, ThroughputParameters.self,
        SpawnJoinParameters.self, OpenLoopParameters.self, WorkStealingParameters.self, ServerParameters.self,
    ]

    public static var kinds: [String] { registry.map { $0.kind } }

    /// The parameters, as the registered type.
    public let parameters: any WorkloadKind

    public init(_ parameters: some WorkloadKind) {
        self.parameters = parameters
    }

    // Two specs are equal when their kinds and parameters are (AnyHashable compares types too).
    public static func == (a: WorkloadSpec, b: WorkloadSpec) -> Bool { a.parameters.hashable == b.parameters.hashable }
    public func hash(into h: inout Hasher) { parameters.hashable.hash(into: &h) }

    public var kind: String { type(of: parameters).kind }
    public var latencyMeaning: String { type(of: parameters).latencyMeaning }

    /// The parameters when they are of kind `K`: `spec.parameters(as: WakeupParameters.self)`.
    public func parameters<K: WorkloadKind>(as _: K.Type) -> K? { parameters as? K }

    /// The workload at one matrix point (see WorkloadKind.applying).
    public func applying(_ point: MatrixPoint) -> WorkloadSpec { parameters.spec(at: point) }

    public func pinnedThreads(point: MatrixPoint, defaultMaxProcs: Int) -> Int {
        parameters.pinnedThreads(point: point, defaultMaxProcs: defaultMaxProcs)
    }

    /// See WorkloadKind.extraAxes.
    public func extraAxes(for runtime: RuntimeKind) -> Set<MatrixAxis> {
        type(of: parameters).extraAxes(for: runtime)
    }

    /// Runs the variant for the configuration's runtime, or throws `WorkloadUnavailable`.
    public func run(_ context: WorkloadContext) throws -> WorkloadResult {
        try parameters.run(context)
    }

    static func decode(_ value: JSONValue, at path: JSONPath) throws -> WorkloadSpec {
        var r = try ObjectReader(value, at: path)
        guard let kind = try r.oneOf("kind", kinds) else {
            throw path.key("kind").error("missing; one of \(kinds.joined(separator: ", "))")
        }
        // oneOf admitted only registered kinds.
        let type = registry.first { $0.kind == kind }!
        let spec = WorkloadSpec(try decodeParameters(type, &r))
        do { try r.finish() } catch let e as SpecError {
            // Say which kind the unknown parameter was checked against.
            throw SpecError(path: e.path, message: e.message.replacingOccurrences(
                of: "allowed keys here", with: "parameters of workload \"\(kind)\""))
        }
        return spec
    }

    private static func decodeParameters<K: WorkloadKind>(_: K.Type, _ r: inout ObjectReader) throws -> K {
        try K.decode(&r)
    }
}

/// Encoded exactly as written in experiment files ({"kind": "wakeup", "interval": "1ms", ...})
/// and decoded by the same strict reader, so results.json and the child speak the file format.
extension WorkloadSpec: Codable {
    public init(from decoder: Decoder) throws {
        self = try WorkloadSpec.decode(try JSONValue(from: decoder), at: .root)
    }

    public func encode(to encoder: Encoder) throws {
        try json.encode(to: encoder)
    }

    public var json: JSONValue {
        var o = parameters.json
        o["kind"] = .string(kind)
        return .object(o)
    }
}
