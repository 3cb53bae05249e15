// The bimodal RPC server of the tail-latency literature (Shinjuku, Shenango, Caladan, Concord):
// a TCP server on loopback whose requests have two (or more) service times, offered an
// open-loop Poisson load by a separate load-generator process; the figure is the p99 of the
// SHORT requests against the offered load, one line per runtime and preemption setting.
//
// Parts (one file each):
//   ServerProtocol.swift        the 16-byte request/response messages
//   ServerSchedule.swift        the arrivals, a pure function of seed, rate and window
//   LoadGenerator*.swift        the generator process (`timeslice _loadgen`): plain threads,
//                               nonblocking sockets, spinning or sleeping; latency from the
//                               intended send time (ResponsePoller.swift: its epoll)
//   ServerWorkload+<Runtime>    the server under each runtime, one handler per connection
//   ServerRun.swift             what every variant shares: start the server, run the generator
//                               as a child process, map its report onto the result
//   ServerCPUs.swift            the server's CPUs (the first `max_procs` usable) and the generator's
//   ThreadCensus.swift          the threads' allowed CPUs, the placement note's evidence
//   ServerCPUShare.swift        who had the server's CPUs during the window (server, others, steal)
//   ServerWindowObserver.swift  takes both during the generator's measured window
// Every variant burns a request's service time as calibrated CPU work (`CPUWork`, the open-loop
// workload's), so a preempted request still owes the rest of its work.
import TimesliceHost

/// One request type: a name (`short`, `long`: the histogram `latency_<name>_ns`), its service
/// time and its share of the requests.
public struct ServerRequestType: Hashable, Sendable, Codable {
    public var name: String
    public var serviceNanoseconds: UInt64
    public var fraction: Double

    public init(name: String, serviceNanoseconds: UInt64, fraction: Double) {
        self.name = name
        self.serviceNanoseconds = serviceNanoseconds
        self.fraction = fraction
    }

    var json: JSONValue {
        .object(["name": .string(name), "service": .string(DurationText.render(serviceNanoseconds)),
                 "fraction": .real(fraction)])
    }
}

public struct ServerParameters: WorkloadKind {
    /// Shinjuku's microbenchmark: 99.5 % × 1 µs, 0.5 % × 500 µs.
    public var requestTypes = [ServerRequestType(name: "short", serviceNanoseconds: 1_000, fraction: 0.995),
                               ServerRequestType(name: "long", serviceNanoseconds: 500_000, fraction: 0.005)]
    /// Offered load; the `rate` matrix axis overrides it.
    public var rate: OfferedRate = .capacityFraction(0.5)
    /// Connections the generator opens; a request needs a free one (else it is dropped).
    public var connections = 64
    /// The closed-loop probe that measures capacity when `rate` is a fraction of it.
    public var capacityProbeNanoseconds: UInt64 = 500_000_000
    /// A request still unanswered this long after the last send is a timeout.
    public var timeoutNanoseconds: UInt64 = 1_000_000_000
    /// The generator's pacing; nil: `auto` (GeneratorPacing.resolve).
    public var generatorPacing: GeneratorPacing?

    public static let kind = "server"
    public static let latencyMeaning = "short-request response time from intended send (loopback TCP, separate generator process)"

    public var json: [String: JSONValue] {
        ["requests": .array(requestTypes.map(\.json)), "rate": rate.json, "connections": .integer(Int64(connections)),
         "capacity_probe": .string(DurationText.render(capacityProbeNanoseconds)),
         "timeout": .string(DurationText.render(timeoutNanoseconds)),
         "generator": .string(generatorPacing?.rawValue ?? "auto")]
    }

    public static let variants: [RuntimeKind: WorkloadVariant<ServerParameters>] = [
        .threads: { try ServerWorkload(p: $0).runThreads($1) },
        .timeslice: { try ServerWorkload(p: $0).runTimeslice($1) },
        .swiftNIO: { try ServerWorkload(p: $0).runSwiftNIO($1) },
        .go: { try ServerWorkload(p: $0).runGo($1) },
    ]

    /// The server pins nothing itself (a thread per connection is not a worker set).
    public func pinnedThreads(point: MatrixPoint, defaultMaxProcs: Int) -> Int { 0 }

    /// `max_procs` is the server's CPU count under every runtime (ServerCPUs): the threads and
    /// swift-nio servers are confined to that many CPUs too.
    public static func extraAxes(for runtime: RuntimeKind) -> Set<MatrixAxis> {
        runtime == .threads || runtime == .swiftNIO ? [.maxProcs] : []
    }

    public func applying(_ point: MatrixPoint) -> ServerParameters {
        var p = self
        if let rate = point.rate { p.rate = rate }
        return p
    }

    public static func decode(_ r: inout ObjectReader) throws -> ServerParameters {
        var p = ServerParameters()
        if let list = r.raw("requests") { p.requestTypes = try requestTypes(list, at: r.path.key("requests")) }
        if let v = r.raw("rate") { p.rate = try OfferedRate.decode(v, at: r.path.key("rate")) }
        p.connections = try r.int("connections", min: 1, max: 4096) ?? p.connections
        p.capacityProbeNanoseconds = try r.duration("capacity_probe", min: 10_000_000, max: 60_000_000_000) ?? p.capacityProbeNanoseconds
        p.timeoutNanoseconds = try r.duration("timeout", min: 1_000_000, max: 60_000_000_000) ?? p.timeoutNanoseconds
        if let pacing = try r.oneOf("generator", ["auto"] + GeneratorPacing.allCases.map(\.rawValue)) {
            p.generatorPacing = GeneratorPacing(rawValue: pacing)
        }
        return p
    }

    /// `[{"name": "short", "service": "1us", "fraction": 0.995}, ...]`: unique names, fractions
    /// summing to 1, service times the protocol can carry (32-bit nanoseconds, at most 1 s).
    static func requestTypes(_ v: JSONValue, at path: JSONPath) throws -> [ServerRequestType] {
        let types = try ObjectReader.list(v, at: path) { item, at -> ServerRequestType in
            var r = try ObjectReader(item, at: at)
            guard let name = try r.string("name"), !name.isEmpty,
                  name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw at.key("name").error("missing or not a word; give each request type a name such as \"short\" (letters, digits, _)")
            }
            guard let service = try r.duration("service", min: 0, max: 1_000_000_000) else {
                throw at.key("service").error("missing; give the service time, e.g. \"1us\"")
            }
            guard let fraction = try r.double("fraction", min: 0, max: 1) else {
                throw at.key("fraction").error("missing; give the share of requests of this type, e.g. 0.995")
            }
            try r.finish()
            return ServerRequestType(name: name, serviceNanoseconds: service, fraction: fraction)
        }
        if types.count > 255 { throw path.error("\(types.count) request types; at most 255") }
        var seen = Set<String>()
        for (i, t) in types.enumerated() where !seen.insert(t.name).inserted {
            throw path.index(i).key("name").error("\"\(t.name)\" names two request types; names must be unique")
        }
        let sum = types.reduce(0) { $0 + $1.fraction }
        if abs(sum - 1) > 1e-6 {
            throw path.error("the fractions sum to \(sum); they must sum to 1 (e.g. 0.995 and 0.005)")
        }
        return types
    }

    /// Mean service time in nanoseconds.
    var meanServiceNanoseconds: Double {
        requestTypes.reduce(0) { $0 + Double($1.serviceNanoseconds) * $1.fraction }
    }
}

/// The server workload's variants (ServerWorkload+<Runtime>.swift) and what they share (ServerRun.swift).
struct ServerWorkload {
    let p: ServerParameters
}
